import type { Metadata } from "next";
import Link from "next/link";
import { NewProjectLink } from "@/app/components/new-project-link";
import { ProjectList } from "@/app/components/project-list";
import { PROJECT_STATUSES, type ProjectStatus } from "@/lib/db/schema";
import { listProjects } from "@/lib/projects/queries";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Projects" };

/** Newest first, this many at a time ("Show older projects" adds as many again). */
const LIST_LIMIT = 50;

const FILTERS: { label: string; statuses: ProjectStatus[] }[] = [
  { label: "All", statuses: [] },
  { label: "Active", statuses: ["generating", "stitching"] },
  { label: "Draft", statuses: ["draft"] },
  { label: "Completed", statuses: ["completed"] },
  { label: "Failed", statuses: ["failed"] },
  { label: "Cancelled", statuses: ["cancelled"] },
];

function parseStatuses(raw: string | string[] | undefined): ProjectStatus[] {
  const value = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
  const known = new Set<string>(PROJECT_STATUSES);
  return PROJECT_STATUSES.filter((s) => value.split(",").includes(s) && known.has(s));
}

export default async function ProjectsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const statuses = parseStatuses((await searchParams).status);
  const statusQuery = statuses.join(",");
  const { items } = await listProjects({ status: statuses, limit: LIST_LIMIT });

  return (
    <section aria-labelledby="projects-heading">
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <h1 id="projects-heading" className="text-2xl font-semibold tracking-tight">
          Projects
        </h1>
        <NewProjectLink />
      </div>
      {/* Wraps rather than scrolls: on a phone every chip stays whole and reachable. */}
      <nav aria-label="Filter by status" className="mb-4">
        <ul className="flex flex-wrap gap-1.5">
          {FILTERS.map((filter) => {
            const query = filter.statuses.join(",");
            const current = query === statusQuery;
            return (
              <li key={filter.label}>
                <Link
                  href={query ? `/projects?status=${query}` : "/projects"}
                  aria-current={current ? "page" : undefined}
                  className={`inline-block whitespace-nowrap rounded-full px-3 py-1 text-sm ring-1 ring-inset focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 ${
                    current
                      ? "bg-slate-900 font-medium text-white ring-slate-900 dark:bg-slate-100 dark:text-slate-900 dark:ring-slate-100"
                      : "bg-white text-slate-700 ring-slate-300 hover:bg-slate-100 dark:bg-slate-900 dark:text-slate-200 dark:ring-slate-700 dark:hover:bg-slate-800"
                  }`}
                >
                  {filter.label}
                </Link>
              </li>
            );
          })}
        </ul>
      </nav>
      <ProjectList key={statusQuery} initial={items} statusQuery={statusQuery} limit={LIST_LIMIT} />
    </section>
  );
}
