import "server-only";
import { Worker } from "node:worker_threads";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { setThreadSeries } from "@/lib/observability/metrics";
import type { ClaimedNewJob } from "@/lib/pipeline/store";
import { startDeliveries } from "./deliveries";
import { DeliveryGate } from "./delivery-gate";
import { perTurn } from "./per-turn";
import { HANDED_OUT_LIMIT, handOffToThread, setDispatchMode } from "./schedule";
import { startSweeper } from "./sweeper";
import type { FromThread, ThreadData, ToThread } from "./worker-thread";

/**
 * Where this web process's outbound work is dispatched (CONTRACT §5), decided once at start:
 * - PGlite (no DATABASE_URL): on the web thread, after each response, plus the periodic sweep
 *   — PGlite is one in-process connection, no other thread or process can reach it;
 * - PostgreSQL: on a worker thread this process starts, woken by LISTEN/NOTIFY;
 * - PostgreSQL and DISPATCH_IN_WEB=false: not here at all — `npm run worker` processes do it.
 */
export function startDispatch() {
  if (!env.DATABASE_URL) {
    startSweeper();
    startDeliveries().catch((error: Error) =>
      log("error", "deliveries.start_failed", { message: error.message }),
    );
    return;
  }
  setDispatchMode("elsewhere");
  if (env.DISPATCH_IN_WEB) {
    startDispatchThread();
    return;
  }
  log("info", "dispatch.not_in_web", {
    note: "DISPATCH_IN_WEB=false: this process delivers no jobs; run `npm run worker` against the same DATABASE_URL",
  });
}

type Holder = {
  worker?: Worker;
  stopping: boolean;
  /** Statements of threads that have exited (a restarted thread counts from 0 again). */
  finished: number;
  current: number;
  crashes: number;
  /** Posts the jobs handed to the running thread this turn now, instead of at the turn's end. */
  postPending?: () => void;
};
// On globalThis: dev reloads modules, and one process runs one dispatch thread.
const store = globalThis as unknown as { __framechainDispatchThread?: Holder };
store.__framechainDispatchThread ??= { stopping: false, finished: 0, current: 0, crashes: 0 };
const holder = store.__framechainDispatchThread;

/** A thread that ran at least this long before dying is restarted at once, not after a backoff. */
const HEALTHY_MS = 60_000;

/**
 * Starts the dispatch worker thread of this web process (once), so outbound calls never
 * share the thread that answers requests. It restarts after a crash (with a backoff when it
 * keeps crashing); meanwhile queued jobs wait in the database, nothing is lost.
 */
export function startDispatchThread() {
  if (holder.worker || holder.stopping) return;
  // The count of jobs handed to the thread and not delivered yet, kept by both threads.
  const gate = new DeliveryGate(HANDED_OUT_LIMIT);
  // Next bundles the entry from this exact form (a string path would be loaded by Node as is).
  const worker = new Worker(new URL("./worker-thread.ts", import.meta.url), {
    workerData: { gate: gate.shared } satisfies ThreadData,
  });
  worker.unref(); // never what keeps the process alive
  const startedAt = Date.now();
  // One message for the jobs of all the writes whose results came in together: each message
  // wakes the thread, and under load many writes commit at once. Posted as soon as those
  // writes' continuations have run, before their callbacks' answers are written (not at the
  // turn's end, after them): the orchestration bench's stage took ~1.5 ms less, and the max
  // runs' app CPU per callback stayed the same.
  const handed = perTurn<ClaimedNewJob>(
    (jobs) => worker.postMessage({ type: "jobs", jobs } satisfies ToThread),
    { at: "microtask" },
  );
  holder.postPending = handed.now;
  worker.on("message", (message: FromThread) => {
    if (message.type === "statements") holder.current = message.count;
    if (message.type === "metrics") setThreadSeries(message.series);
    // Listening: from now on the jobs this thread's writes queue are claimed there and posted.
    if (message.type === "ready")
      handOffToThread({
        post: handed.add,
        gate,
      });
  });
  worker.on("error", (error) => {
    log("error", "dispatch_thread.failed", { message: error.message });
  });
  worker.on("exit", (code) => {
    // Jobs posted to a thread that died stay leased until the sweep reclaims them; new ones are queued.
    handOffToThread(null);
    holder.postPending = undefined;
    holder.finished += holder.current;
    holder.current = 0;
    holder.worker = undefined;
    if (holder.stopping) return;
    holder.crashes = Date.now() - startedAt >= HEALTHY_MS ? 0 : holder.crashes + 1;
    const delayMs = Math.min(30_000, 500 * 2 ** holder.crashes);
    log("error", "dispatch_thread.exited", { code, restart_in_ms: delayMs });
    setTimeout(startDispatchThread, delayMs).unref();
  });
  holder.worker = worker;
}

/** Asks the thread to finish what it is delivering and stop; resolves when it has exited. */
export async function stopDispatchThread(): Promise<void> {
  holder.stopping = true;
  handOffToThread(null); // what is queued from now on waits in the database
  const worker = holder.worker;
  if (!worker) return;
  holder.postPending?.(); // before the stop, so the thread delivers them before it exits
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.postMessage({ type: "stop" } satisfies ToThread);
  await exited;
}

/** Database statements sent by this process's dispatch thread(s), for /api/metrics. */
export function dispatchThreadStatements(): number {
  return holder.finished + holder.current;
}
