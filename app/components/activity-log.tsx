import type { ErrorView, WebhookEventView } from "@/lib/observability/queries";
import { RelativeTime } from "./relative-time";
import { Badge, OutcomeBadge } from "./status";

const SEVERITY_TONE = {
  info: { label: "Info", icon: "clock", tone: "info" },
  warning: { label: "Warning", icon: "alert", tone: "warning" },
  error: { label: "Error", icon: "xCircle", tone: "danger" },
  critical: { label: "Critical", icon: "alert", tone: "danger" },
} as const;

/** The project's received callbacks (with what each did) and its errors, newest first. */
export function ActivityLog({
  events,
  errors,
}: {
  events: WebhookEventView[];
  errors: ErrorView[];
}) {
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <section aria-labelledby="callbacks-heading" className="min-w-0">
        <h2 id="callbacks-heading" className="mb-3 text-lg font-semibold">
          Callbacks received
        </h2>
        {events.length === 0 ? (
          <Empty>No callbacks yet.</Empty>
        ) : (
          <ul
            data-callbacks
            // Scrolls on its own past a screenful; focusable so a keyboard can scroll it too.
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
            tabIndex={0}
            aria-label="Callbacks received, newest first"
            className="max-h-[28rem] overflow-y-auto focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
          >
            {events.map((e) => (
              <li
                key={e.id}
                data-outcome={e.outcome}
                className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2"
              >
                <OutcomeBadge outcome={e.outcome} />
                <span className="font-medium">{e.source}</span>
                {e.status && <span className="text-slate-600 dark:text-slate-300">{e.status}</span>}
                {/* The status code and the time travel together: neither wraps onto a line alone. */}
                <span className="ml-auto flex items-center gap-3 whitespace-nowrap text-xs text-slate-500 dark:text-slate-400">
                  {e.http_status !== null && (
                    <span className="font-mono">HTTP {e.http_status}</span>
                  )}
                  <RelativeTime iso={e.received_at} />
                </span>
                {e.reason && (
                  <p className="basis-full text-xs text-slate-600 dark:text-slate-300">
                    {e.reason}
                  </p>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="errors-heading" className="min-w-0">
        <h2 id="errors-heading" className="mb-3 text-lg font-semibold">
          Errors
        </h2>
        {errors.length === 0 ? (
          <Empty>No errors recorded.</Empty>
        ) : (
          <ul
            data-errors
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
            tabIndex={0}
            aria-label="Errors, newest first"
            className="max-h-[28rem] overflow-y-auto focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
          >
            {errors.map((e) => (
              <li key={e.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2">
                <Badge look={SEVERITY_TONE[e.severity]} />
                <span className="text-xs text-slate-500 uppercase dark:text-slate-400">
                  {e.type}
                </span>
                <RelativeTime
                  iso={e.created_at}
                  className="ml-auto text-xs text-slate-500 dark:text-slate-400"
                />
                <p className="basis-full break-words">{e.message}</p>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function Empty({ children }: { children: React.ReactNode }) {
  return (
    <p className="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500 dark:border-slate-700 dark:text-slate-400">
      {children}
    </p>
  );
}
