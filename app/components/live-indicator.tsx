import { Icon } from "./icons";
import type { StreamState } from "./use-event-stream";

const TEXT: Record<StreamState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

/** Whether the page is receiving live updates; announced politely when it changes. */
export function LiveIndicator({ state }: { state: StreamState }) {
  return (
    <span
      role="status"
      data-stream-state={state}
      className={`inline-flex items-center gap-1.5 text-xs font-medium ${
        state === "live"
          ? "text-emerald-700 dark:text-emerald-400"
          : "text-amber-700 dark:text-amber-300"
      }`}
    >
      {state === "live" ? (
        <span className="relative flex size-2" aria-hidden="true">
          <span className="absolute inline-flex size-full rounded-full bg-emerald-500 opacity-60 motion-safe:animate-ping" />
          <span className="relative inline-flex size-2 rounded-full bg-emerald-500" />
        </span>
      ) : (
        <Icon name="signal" className="size-3.5" />
      )}
      {TEXT[state]}
    </span>
  );
}
