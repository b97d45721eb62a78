import type { Metadata } from "next";
import Link from "next/link";
import { Icon } from "@/app/components/icons";
import { ProjectForm } from "@/app/components/project-form";

export const metadata: Metadata = { title: "New project" };

export default function NewProjectPage() {
  return (
    <section aria-labelledby="new-project-heading" className="mx-auto max-w-3xl">
      <Link
        href="/projects"
        className="mb-3 inline-flex items-center gap-1 text-sm text-slate-600 hover:underline dark:text-slate-300"
      >
        <Icon name="arrowLeft" /> Projects
      </Link>
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
