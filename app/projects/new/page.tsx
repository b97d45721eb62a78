import type { Metadata } from "next";
import { BackLink } from "@/app/components/page-header";
import { ProjectForm } from "@/app/components/project-form";

export const metadata: Metadata = { title: "New project" };

export default function NewProjectPage() {
  return (
    <section aria-labelledby="new-project-heading" className="mx-auto max-w-3xl">
      <BackLink href="/projects" label="Projects" />
      <h1 id="new-project-heading" className="mb-1 text-2xl font-semibold tracking-tight">
        New project
      </h1>
      <p className="mb-6 text-sm text-slate-600 dark:text-slate-300">
        A project is an ordered list of scenes, stitched into one video once every scene is done.
      </p>
      <ProjectForm />
    </section>
  );
}
