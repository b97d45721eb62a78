import Link from "next/link";
import type { ProjectEventView } from "@/lib/subscriptions/endpoints";
import { RelativeTime } from "./relative-time";

/**
 * The events a project emitted (CONTRACT §6), in sequence, each with how its deliveries to
 * subscribed endpoints stand. Rendered with the page (a reload shows later ones).
 */
export function ProjectEmittedEvents({ events }: { events: ProjectEventView[] }) {
  return (
    <section aria-labelledby="emitted-heading" className="min-w-0">
      <h2 id="emitted-heading" className="mb-1 text-lg font-semibold">
        Events emitted
      </h2>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-300">
        What subscribed{" "}
        <Link href="/webhooks" className="underline">
          webhook endpoints
        </Link>{" "}
        receive for this project, in order.
      </p>
      {events.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500 dark:border-slate-700 dark:text-slate-400">
          No events yet: the first is emitted when the project starts.
        </p>
      ) : (
        <ol
          data-emitted-events
          className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
        >
          {events.map((e) => {
            const counts = Object.entries(e.deliveries);
            return (
              <li key={e.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2">
                <span className="w-6 text-right font-mono text-xs text-slate-500 tabular-nums dark:text-slate-400">
                  {e.sequence}
                </span>
                <span className="font-mono text-xs font-medium">{e.type}</span>
                <span className="font-mono text-xs text-slate-500 dark:text-slate-400">{e.id}</span>
                <span className="ml-auto flex items-center gap-3 whitespace-nowrap text-xs text-slate-500 dark:text-slate-400">
                  <span>
                    {counts.length === 0
                      ? "no subscribers"
                      : counts.map(([status, n]) => `${n} ${status}`).join(", ")}
                  </span>
                  <RelativeTime iso={e.created_at} />
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
