import "server-only";
import { after } from "next/server";

/** At most this many dispatch loops per process; more callbacks just ask them to go round again. */
const MAX_LOOPS = 4;
const state = globalThis as unknown as { __framechainDispatch?: { loops: number; again: boolean } };
state.__framechainDispatch ??= { loops: 0, again: false };
const loops = state.__framechainDispatch;

/**
 * Runs the dispatcher once the response has been sent (`after()`), so no outbound call
 * delays an answer. Outside a request (scripts, the sweep) it runs on the next tick.
 * If this process dies first, the periodic sweep finds the queued jobs: nothing is lost.
 *
 * Coalesced: under load, callbacks share a few running loops (each claims a batch and
 * goes round again while asked to) instead of each starting its own claim queries.
 */
export function scheduleDispatch() {
  try {
    after(kick);
  } catch {
    setImmediate(kick);
  }
}

async function kick() {
  if (loops.loops >= MAX_LOOPS) {
    loops.again = true;
    return;
  }
  loops.loops++;
  try {
    // Imported lazily: the dispatcher pulls in the service clients, which callers here need not load.
    const { dispatchDueJobs } = await import("./dispatcher");
    do {
      loops.again = false;
      await dispatchDueJobs();
    } while (loops.again);
  } catch (error) {
    console.error("[framechain] dispatch failed", error);
  } finally {
    loops.loops--;
  }
}
