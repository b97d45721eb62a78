import type { Metadata } from "next";
import Link from "next/link";
import { z } from "zod";
import { RelativeTime } from "@/app/components/relative-time";
import { Badge } from "@/app/components/status";
import { ERROR_SEVERITIES, ERROR_TYPES, type ErrorSeverity } from "@/lib/db/schema";
import { type ErrorView, errorStats, listErrors } from "@/lib/observability/queries";
import { dismissErrorAction } from "./actions";

export const metadata: Metadata = { title: "Errors" };
export const dynamic = "force-dynamic";

const PAGE_SIZE = 50;

/** The same filters as GET /api/v1/errors; an invalid one is dropped, not fatal, on a page. */
const filters = z.object({
  type: z.enum(ERROR_TYPES).optional().catch(undefined),
  severity: z.enum(ERROR_SEVERITIES).optional().catch(undefined),
  project_id: z.string().trim().min(1).max(100).optional().catch(undefined),
  include_dismissed: z.literal("1").optional().catch(undefined),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .catch(undefined),
});
type Filters = z.infer<typeof filters>;

const SEVERITY_LOOK = {
  info: { label: "Info", icon: "signal", tone: "neutral" },
  warning: { label: "Warning", icon: "alert", tone: "warning" },
  error: { label: "Error", icon: "xCircle", tone: "danger" },
  critical: { label: "Critical", icon: "alert", tone: "danger" },
} as const satisfies Record<ErrorSeverity, unknown>;

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function ErrorsPage({ searchParams }: Props) {
  const raw = await searchParams;
  const f = filters.parse(
    Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])),
  );
  const [page, stats] = await Promise.all([
    listErrors({
      type: f.type,
      severity: f.severity,
      projectId: f.project_id,
      includeDismissed: f.include_dismissed === "1",
      cursor: f.cursor,
      limit: PAGE_SIZE,
    }),
    errorStats(),
  ]);

  return (
    <section className="space-y-5">
      <h1 className="text-2xl font-semibold">Errors</h1>

      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-5">
        <Stat label="Open" value={stats.open.total} />
        <Stat label="Last 24 h" value={stats.last_24h.total} />
        <Stat label="Critical (24 h)" value={stats.last_24h.by_severity.critical} />
        <Stat label="Errors (24 h)" value={stats.last_24h.by_severity.error} />
        <Stat label="All time" value={stats.all_time.total} />
      </dl>

      <form
        method="get"
        className="flex flex-wrap items-end gap-3 rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900"
      >
        <Select name="type" label="Type" value={f.type} options={ERROR_TYPES} />
        <Select name="severity" label="Severity" value={f.severity} options={ERROR_SEVERITIES} />
        <label className="text-sm">
          <span className="mb-1 block font-medium">Project id</span>
          <input
            name="project_id"
            defaultValue={f.project_id}
            className="h-8 w-48 rounded border border-slate-300 bg-white px-2 dark:border-slate-700 dark:bg-slate-900"
          />
        </label>
        {/* One row of controls, all sitting on the inputs' baseline (same height, same bottom). */}
        <div className="flex h-8 items-center gap-3">
          <label className="flex items-center gap-2 text-sm">
            <input
              type="checkbox"
              name="include_dismissed"
              value="1"
              defaultChecked={f.include_dismissed === "1"}
            />
            Show dismissed
          </label>
          <button
            type="submit"
            data-errors-filter
            className="h-8 rounded bg-slate-800 px-3 text-sm text-white hover:bg-slate-700 dark:bg-slate-200 dark:text-slate-900"
          >
            Filter
          </button>
          <Link
            href="/errors"
            data-errors-clear
            className="inline-flex h-8 items-center text-sm underline"
          >
            Clear
          </Link>
        </div>
      </form>

      {page.items.length === 0 ? (
        <p>{f.cursor ? "No older entries." : "Nothing recorded for these filters."}</p>
      ) : (
        <ul className="divide-y divide-slate-200 rounded border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {page.items.map((entry) => (
            <ErrorRow key={entry.id} entry={entry} />
          ))}
        </ul>
      )}

      <nav aria-label="Pages" className="flex gap-4 text-sm">
        {f.cursor && (
          <Link href={hrefWith(f, { cursor: undefined })} className="underline">
            Newest
          </Link>
        )}
        {page.next_cursor && (
          <Link href={hrefWith(f, { cursor: page.next_cursor })} className="underline">
            Older
          </Link>
        )}
      </nav>
    </section>
  );
}

function ErrorRow({ entry }: { entry: ErrorView }) {
  const context = Object.entries(entry.context ?? {});
  return (
    <li
      className={`flex flex-col gap-2 p-3 sm:flex-row sm:items-start ${entry.dismissed_at ? "opacity-60" : ""}`}
    >
      <div className="min-w-0 flex-1 space-y-1">
        <div className="flex flex-wrap items-center gap-2 text-sm">
          <Badge look={SEVERITY_LOOK[entry.severity]} />
          <span className="font-mono text-xs">{entry.type}</span>
          <RelativeTime iso={entry.created_at} className="text-slate-500 dark:text-slate-400" />
          {entry.project_id && (
            <Link
              href={`/projects/${encodeURIComponent(entry.project_id)}`}
              className="font-mono text-xs underline"
            >
              {entry.project_id}
            </Link>
          )}
        </div>
        <p className="break-words">{entry.message}</p>
        {context.length > 0 && (
          <details className="text-xs">
            <summary className="cursor-pointer text-slate-500 dark:text-slate-400">Context</summary>
            <dl className="mt-1 grid grid-cols-[max-content_1fr] gap-x-3 font-mono">
              {context.map(([key, value]) => (
                <div key={key} className="contents">
                  <dt className="text-slate-500 dark:text-slate-400">{key}</dt>
                  <dd className="break-all">
                    {typeof value === "string" ? value : JSON.stringify(value)}
                  </dd>
                </div>
              ))}
            </dl>
          </details>
        )}
      </div>
      {entry.dismissed_at ? (
        <span className="text-xs text-slate-500 dark:text-slate-400">
          Dismissed <RelativeTime iso={entry.dismissed_at} />
        </span>
      ) : (
        <form action={dismissErrorAction}>
          <input type="hidden" name="id" value={entry.id} />
          <button
            type="submit"
            aria-label={`Dismiss error ${entry.id}`}
            className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Dismiss
          </button>
        </form>
      )}
    </li>
  );
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div className="rounded border border-slate-200 bg-white p-3 dark:border-slate-800 dark:bg-slate-900">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-xl font-semibold tabular-nums">{value}</dd>
    </div>
  );
}

function Select({
  name,
  label,
  value,
  options,
}: {
  name: string;
  label: string;
  value?: string;
  options: readonly string[];
}) {
  return (
    <label className="text-sm">
      <span className="mb-1 block font-medium">{label}</span>
      <select
        name={name}
        defaultValue={value ?? ""}
        className="h-8 rounded border border-slate-300 bg-white px-2 dark:border-slate-700 dark:bg-slate-900"
      >
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

function hrefWith(current: Filters, change: Partial<Filters>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...current, ...change }))
    if (value) params.set(key, value);
  const query = params.toString();
  return query ? `/errors?${query}` : "/errors";
}
