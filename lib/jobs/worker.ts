import "server-only";
import { getConnection } from "@/lib/db/client";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { JOBS_CHANNEL } from "@/lib/pipeline/store";
import { startDeliveries } from "./deliveries";
import { dispatchIdle, dispatchNotified, runDispatch, setDispatchMode } from "./schedule";
import { startSweeper } from "./sweeper";

export type DispatchWorker = {
  /** Stops listening and sweeping, then waits for the dispatch loops under way to finish. */
  stop(): Promise<void>;
};

/**
 * The dispatcher off the web thread: one module for the worker thread the web server starts
 * (lib/jobs/worker-thread.ts) and for `npm run worker` (scripts/worker.ts). It LISTENs for
 * new jobs and delivers them through coalesced loops (lib/jobs/schedule.ts), and runs the
 * periodic sweep. Any number of workers can share one database: the claim skips locked rows
 * and a job whose worker died is reclaimed when its lease ends.
 */
export async function startDispatchWorker({
  sweepIntervalMs = env.DISPATCH_SWEEP_INTERVAL_MS,
}: {
  sweepIntervalMs?: number;
} = {}): Promise<DispatchWorker> {
  const connection = await getConnection();
  if (connection.kind !== "postgres") {
    // PGlite is one in-process connection: its dispatch stays on the web thread.
    throw new Error("The dispatch worker needs PostgreSQL: set DATABASE_URL.");
  }
  // What the dispatcher itself schedules (retries, jobs a parked callback queued) runs here too.
  setDispatchMode("here");
  let stopping = false;
  // The payload is the queued job's id: claimed by id, no scan for due jobs.
  const wakeFor = (jobId: string) => {
    if (!stopping) dispatchNotified(jobId);
  };
  const wake = () => {
    if (!stopping) void runDispatch();
  };
  // The third callback runs once LISTEN is in place and again after each reconnect: a pass
  // then delivers whatever was queued while nobody listened (at start: while no worker ran).
  const listening = await connection.sql.listen(JOBS_CHANNEL, wakeFor, wake);
  const stopSweeper = startSweeper(sweepIntervalMs);
  // The second loop: project events to users' endpoints, woken by its own channel.
  const deliveries = await startDeliveries({ sweepIntervalMs });
  log("info", "worker.started", { channel: JOBS_CHANNEL, sweep_ms: sweepIntervalMs });
  return {
    async stop() {
      stopping = true;
      await listening.unlisten().catch(() => {}); // the connection may be gone already
      await stopSweeper();
      await dispatchIdle();
      await deliveries.stop();
      log("info", "worker.stopped");
    },
  };
}
