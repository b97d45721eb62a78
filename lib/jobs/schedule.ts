import "server-only";
import { after } from "next/server";

/**
 * Where this thread's dispatch happens:
 * - "after-response" (default; the web thread with PGlite): after the response is sent;
 * - "elsewhere": a worker thread or `npm run worker` dispatches, woken by the NOTIFY the
 *   enqueueing statement sends — this thread does nothing;
 * - "here": this thread is such a worker: run the loop now.
 */
export type DispatchMode = "after-response" | "elsewhere" | "here";

/** At most this many dispatch loops per thread; more wake-ups just ask them to go round again. */
const MAX_LOOPS = 4;
/** Notified jobs one pass claims at most (the due-jobs claim's batch): bounds outbound calls in flight. */
const CLAIM_BATCH = 20;
type State = {
  mode: DispatchMode;
  loops: number;
  again: boolean;
  /** Jobs a NOTIFY named, not yet claimed by a loop here. */
  notified: Set<string>;
  running: Set<Promise<void>>;
};
// On globalThis: dev reloads modules, and the mode is set once at start.
const holder = globalThis as unknown as { __framechainDispatch?: State };
holder.__framechainDispatch ??= {
  mode: "after-response",
  loops: 0,
  again: false,
  notified: new Set(),
  running: new Set(),
};
const state = holder.__framechainDispatch;

export function setDispatchMode(mode: DispatchMode) {
  state.mode = mode;
}

export function dispatchMode(): DispatchMode {
  return state.mode;
}

/**
 * Asks for the due jobs to be delivered. On the web thread this runs once the response has
 * been sent (`after()`), so no outbound call delays an answer; outside a request (scripts,
 * the sweep) on the next tick. If this process dies first, the periodic sweep finds the
 * queued jobs: nothing is lost.
 */
export function scheduleDispatch() {
  if (state.mode === "elsewhere") return;
  if (state.mode === "here") {
    void runDispatch();
    return;
  }
  try {
    after(runDispatch);
  } catch {
    setImmediate(runDispatch);
  }
}

// Imported lazily (once): the dispatcher pulls in the service clients, which callers here need not load.
let dispatcher: Promise<typeof import("./dispatcher")> | undefined;
const loadDispatcher = () => {
  dispatcher ??= import("./dispatcher");
  return dispatcher;
};

/**
 * Coalesced: wake-ups share a few running loops (each claims a batch and goes round again
 * while asked to) instead of each starting its own claim queries. Resolves when the loop it
 * started has finished, or at once when it asked a running loop to go round again.
 */
export async function runDispatch(): Promise<void> {
  return startLoop(true);
}

/**
 * A NOTIFY named a job just queued: it is claimed by its id (a primary-key look-up) rather
 * than by a scan for due jobs. Several named while the loops are busy are claimed together.
 */
export function dispatchNotified(jobId: string) {
  state.notified.add(jobId);
  void startLoop(false);
}

function takeNotified(limit: number): string[] {
  const ids: string[] = [];
  for (const id of state.notified) {
    if (ids.length === limit) break;
    ids.push(id);
    state.notified.delete(id);
  }
  return ids;
}

async function startLoop(due: boolean): Promise<void> {
  if (state.loops >= MAX_LOOPS) {
    if (due) state.again = true;
    return; // a running loop takes the notified ids on its next pass
  }
  state.loops++;
  const loop = (async () => {
    try {
      const { dispatchDueJobs, dispatchNotifiedJobs } = await loadDispatcher();
      let general = due;
      for (;;) {
        const ids = takeNotified(CLAIM_BATCH);
        if (ids.length) await dispatchNotifiedJobs(ids);
        if (general) {
          state.again = false;
          await dispatchDueJobs();
        }
        general = state.again;
        // Checked and left in one synchronous step: a wake-up cannot fall in between.
        if (!general && state.notified.size === 0) break;
      }
    } catch (error) {
      console.error("[framechain] dispatch failed", error);
    } finally {
      state.loops--;
    }
  })();
  state.running.add(loop);
  await loop.finally(() => state.running.delete(loop));
}

/** Resolves when every loop running now has finished (clean shutdown). */
export async function dispatchIdle(): Promise<void> {
  while (state.running.size) await Promise.allSettled([...state.running]);
}
