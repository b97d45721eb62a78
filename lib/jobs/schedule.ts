import "server-only";
import { after } from "next/server";
import { env } from "@/lib/env";
import { type ClaimedNewJob, setJobHandOff } from "@/lib/pipeline/store";
import { DeliveryGate } from "./delivery-gate";

/**
 * Where this thread's dispatch happens:
 * - "after-response" (default; the web thread with PGlite): after the response is sent;
 * - "elsewhere": a worker thread or `npm run worker` dispatches — this thread does nothing
 *   but hand the jobs it claims to its own dispatch thread, when it has one;
 * - "here": this thread is such a worker: run the loop now.
 * In a dispatch thread or process ("here"), and in a web thread with its own dispatch thread,
 * the write that queues a job claims it (lib/pipeline/store.ts `JobHandOff`). Otherwise it is
 * queued: with a NOTIFY that wakes the workers, or for the after-response pass (PGlite: there
 * a restart of the one process finds queued work at once, where a claimed job would wait
 * for its lease to end).
 */
export type DispatchMode = "after-response" | "elsewhere" | "here";

/** At most this many dispatch loops per thread; more wake-ups just ask them to go round again. */
const MAX_LOOPS = 4;
/** Notified jobs one pass claims at most (the due-jobs claim's batch): bounds outbound calls in flight. */
const CLAIM_BATCH = 20;
/** Jobs claimed in the write and handed out, not yet delivered, at most (as many as the loops have in flight). */
export const HANDED_OUT_LIMIT = MAX_LOOPS * CLAIM_BATCH;
type State = {
  mode: DispatchMode;
  loops: number;
  again: boolean;
  /** Jobs a NOTIFY named, not yet claimed by a loop here. */
  notified: Set<string>;
  running: Set<Promise<void>>;
  gate: DeliveryGate;
  /** A web thread's dispatch thread, while it runs: what the jobs this thread claims are posted to. */
  thread: ((jobs: ClaimedNewJob[]) => void) | null;
};
// On globalThis: dev reloads modules, and the mode is set once at start.
const holder = globalThis as unknown as { __framechainDispatch?: State };
holder.__framechainDispatch ??= {
  mode: "after-response",
  loops: 0,
  again: false,
  notified: new Set(),
  running: new Set(),
  gate: new DeliveryGate(HANDED_OUT_LIMIT),
  thread: null,
};
const state = holder.__framechainDispatch;

/** How long a claimed job may stay `running` before another dispatcher reclaims it (crash recovery). */
export const leaseSeconds = () => (env.SERVICE_TIMEOUT_MS + 30_000) / 1000;

export function setDispatchMode(mode: DispatchMode) {
  state.mode = mode;
  applyHandOff();
}

/**
 * A web thread's dispatch thread started (`post` sends it jobs, `gate` is the count the two
 * threads share) or stopped (null): from then on this thread's writes claim their jobs and
 * post them there, or queue them for the workers again.
 */
export function handOffToThread(
  thread: { post: (jobs: ClaimedNewJob[]) => void; gate: DeliveryGate } | null,
) {
  state.thread = thread?.post ?? null;
  if (thread) state.gate = thread.gate;
  applyHandOff();
}

/** In a dispatch thread: the count of handed-out jobs is the one its web thread keeps. */
export function shareDeliveryGate(shared: SharedArrayBuffer) {
  state.gate = new DeliveryGate(HANDED_OUT_LIMIT, shared);
  applyHandOff();
}

function applyHandOff() {
  const deliver =
    state.mode === "here" ? deliverHandedJobs : state.mode === "elsewhere" ? state.thread : null;
  setJobHandOff(
    deliver
      ? {
          leaseSeconds,
          reserve: (n) => state.gate.reserve(n),
          release: (n) => state.gate.release(n),
          deliver,
        }
      : null,
  );
}

/**
 * Delivers jobs a write claimed for this thread, or that its web thread posted here; each
 * one's place under the gate is given back when its own delivery is done (recorded,
 * rescheduled or failed), not when the slowest of those posted with it is. Tracked like a
 * loop, so a clean stop waits for them.
 */
export async function deliverHandedJobs(jobs: ClaimedNewJob[]): Promise<void> {
  await Promise.all(
    jobs.map((job) =>
      tracked(
        async () => (await loadDispatcher()).deliverClaimed([job]),
        () => state.gate.release(1),
      ),
    ),
  );
}

/** Dispatch work a clean stop waits for (`dispatchIdle`); a failure is logged, never thrown. */
function tracked(work: () => Promise<unknown>, settle: () => void): Promise<void> {
  const running = (async () => {
    try {
      await work();
    } catch (error) {
      console.error("[framechain] dispatch failed", error);
    } finally {
      settle();
    }
  })();
  state.running.add(running);
  return running.finally(() => state.running.delete(running));
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
  await tracked(
    async () => {
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
    },
    () => {
      state.loops--;
    },
  );
}

/** Resolves when every loop running now has finished (clean shutdown). */
export async function dispatchIdle(): Promise<void> {
  while (state.running.size) await Promise.allSettled([...state.running]);
}

applyHandOff();
