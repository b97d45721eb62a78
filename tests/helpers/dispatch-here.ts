import { runAfterResponse } from "./after";

/**
 * Dispatch as a production dispatcher does it, in this thread: the write claims the jobs it
 * queues and they are delivered at once (lib/jobs/schedule.ts, mode "here"). Returns what
 * waits until every delivery started so far, and what it scheduled, is done.
 */
export async function dispatchInThisThread(): Promise<() => Promise<void>> {
  const schedule = await import("@/lib/jobs/schedule");
  schedule.setDispatchMode("here");
  return async () => {
    await runAfterResponse();
    await schedule.dispatchIdle();
  };
}
