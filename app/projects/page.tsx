import Link from "next/link";
import { listProjects } from "@/lib/projects/queries";

export const dynamic = "force-dynamic";

export default async function ProjectsPage() {
  const { items } = await listProjects();
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Projects</h1>
      {items.length === 0 ? (
        <p>
          No projects yet. <Link href="/projects/new" className="underline">Create one</Link>.
        </p>
      ) : (
        <ul className="divide-y divide-slate-200 rounded border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {items.map((p) => (
            <li key={p.id} className="flex items-center justify-between p-3">
              <Link href={`/projects/${p.id}`} className="font-medium hover:underline">
                {p.name}
              </Link>
              <span className="text-sm">
                {p.status} · {p.scenes_completed}/{p.scenes_total} scenes
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
