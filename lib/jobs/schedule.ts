import "server-only";
import { after } from "next/server";

/**
 * Runs the dispatcher once the response has been sent (`after()`), so no outbound call
 * delays an answer. Outside a request (scripts, the sweep) it runs on the next tick.
 * If this process dies first, the periodic sweep finds the queued jobs: nothing is lost.
 */
export function scheduleDispatch() {
  const run = async () => {
    // Imported lazily: the dispatcher pulls in the service clients, which callers here need not load.
    const { dispatchDueJobs } = await import("./dispatcher");
    await dispatchDueJobs().catch((error) => console.error("[framechain] dispatch failed", error));
  };
  try {
    after(run);
  } catch {
    setImmediate(run);
  }
}
