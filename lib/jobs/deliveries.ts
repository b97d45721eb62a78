import "server-only";
import { getConnection } from "@/lib/db/client";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { claimDueDeliveries, deliverOne } from "@/lib/subscriptions/deliver";
import { pruneDeliveries } from "@/lib/subscriptions/retention";
import { DELIVERIES_CHANNEL } from "@/lib/subscriptions/vocabulary";

/**
 * The second loop of the dispatcher: deliveries of project events to users' endpoints
 * (CONTRACT §6). It runs wherever jobs are dispatched (the worker thread or `npm run worker`
 * on PostgreSQL, the web process with PGlite) and is woken by the NOTIFY on
 * DELIVERIES_CHANNEL that every statement queueing deliveries sends, by its own retry
 * timers, and by a periodic sweep (which also reclaims deliveries whose process died).
 *
 * Unlike the job loop it never waits for a whole batch: each finished delivery frees its
 * slot and claims again, so an endpoint timing out holds only its own slots (the claim caps
 * deliveries in flight per endpoint) and never delays the others — nor the pipeline, whose
 * jobs have their own loop.
 */

/** Deliveries in flight in this thread, across all endpoints. */
const MAX_IN_FLIGHT = 32;

/** How often finished deliveries past their retention are deleted (also once at start). */
const RETENTION_INTERVAL_MS = 10 * 60_000;

type State = {
  inFlight: Set<Promise<unknown>>;
  claiming: boolean;
  again: boolean;
  stopped: boolean;
  timers: Set<NodeJS.Timeout>;
  /** The retention pass running, if any. */
  pruning: Promise<void> | null;
};
const holder = globalThis as unknown as { __framechainDeliveries?: State };
holder.__framechainDeliveries ??= {
  inFlight: new Set(),
  claiming: false,
  again: false,
  stopped: false,
  timers: new Set(),
  pruning: null,
};
const state = holder.__framechainDeliveries;

/** Claims what is due (up to the free slots) and starts delivering it; coalesces concurrent calls. */
export async function pumpDeliveries(): Promise<void> {
  if (state.stopped) return;
  if (state.claiming) {
    state.again = true;
    return;
  }
  state.claiming = true;
  try {
    do {
      state.again = false;
      const room = MAX_IN_FLIGHT - state.inFlight.size;
      if (room <= 0) break;
      const claimed = await claimDueDeliveries(room);
      for (const delivery of claimed) {
        const running: Promise<unknown> = deliverOne(delivery)
          .then((outcome) => {
            if (outcome === "retry") retryLater(delivery.attempt);
          })
          .catch((error: Error) => {
            // Not recorded (e.g. the database went away): the lease runs out and it is claimed again.
            log("error", "subscription.delivery_failed", {
              delivery_id: delivery.id,
              message: error?.message ?? String(error),
            });
          })
          .finally(() => {
            state.inFlight.delete(running);
            void pumpDeliveries();
          });
        state.inFlight.add(running);
      }
      if (claimed.length === room) state.again = true;
    } while (state.again && !state.stopped);
  } catch (error) {
    log("warn", "subscription.claim_failed", { message: (error as Error).message });
  } finally {
    state.claiming = false;
  }
}

/** A retry is due after its delay: wake then (the sweep would find it too, later). */
function retryLater(attempt: number) {
  const delayMs = env.SUBSCRIPTION_RETRY_SCHEDULE[attempt - 1];
  if (delayMs === undefined || delayMs > 2 ** 31 - 1) return;
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    void pumpDeliveries();
  }, delayMs + 5);
  timer.unref?.();
  state.timers.add(timer);
}

/** Resolves when nothing is being claimed or delivered (tests, clean shutdown). */
export async function deliveriesIdle(): Promise<void> {
  while (state.inFlight.size || state.claiming) {
    if (state.inFlight.size) await Promise.allSettled([...state.inFlight]);
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

export type DeliveryLoop = { stop(): Promise<void> };

/**
 * One retention pass at a time per thread; instances running it together only race to
 * delete the same rows, which is harmless.
 */
function pruneOnce(retentionDays: number): Promise<void> {
  if (state.pruning) return state.pruning;
  const pass = pruneDeliveries({ retentionDays })
    .then((deleted) => {
      if (deleted)
        log("info", "subscription.deliveries_pruned", { deleted, retention_days: retentionDays });
    })
    .catch((error: Error) => {
      log("warn", "subscription.prune_failed", { message: error?.message ?? String(error) });
    })
    .finally(() => {
      state.pruning = null;
    });
  state.pruning = pass;
  return pass;
}

/**
 * Starts this thread's delivery loop: LISTEN on DELIVERIES_CHANNEL (PostgreSQL, or PGlite's
 * in-process listen), a sweep every `sweepIntervalMs` (0: none), a first pass for what
 * was queued while nobody listened, and the retention of finished deliveries (at start, then
 * every `retentionIntervalMs`).
 */
export async function startDeliveries({
  sweepIntervalMs = env.DISPATCH_SWEEP_INTERVAL_MS,
  retentionIntervalMs = RETENTION_INTERVAL_MS,
  retentionDays = env.SUBSCRIPTION_DELIVERY_RETENTION_DAYS,
}: {
  sweepIntervalMs?: number;
  retentionIntervalMs?: number;
  retentionDays?: number;
} = {}): Promise<DeliveryLoop> {
  state.stopped = false;
  const wake = () => void pumpDeliveries();
  const connection = await getConnection();
  let unlisten: () => Promise<void>;
  if (connection.kind === "postgres") {
    // The third callback runs once LISTEN is in place and after each reconnect.
    const listening = await connection.sql.listen(DELIVERIES_CHANNEL, wake, wake);
    unlisten = () => listening.unlisten();
  } else {
    const stop = await connection.client.listen(DELIVERIES_CHANNEL, wake);
    unlisten = () => stop();
    wake();
  }
  const sweep = sweepIntervalMs > 0 ? setInterval(wake, sweepIntervalMs) : undefined;
  sweep?.unref?.();
  const prune = () => void pruneOnce(retentionDays);
  const retention =
    retentionDays > 0 && retentionIntervalMs > 0
      ? setInterval(prune, retentionIntervalMs)
      : undefined;
  retention?.unref?.();
  if (retention) prune();
  log("info", "deliveries.started", { channel: DELIVERIES_CHANNEL, sweep_ms: sweepIntervalMs });
  return {
    async stop() {
      state.stopped = true;
      if (sweep) clearInterval(sweep);
      if (retention) clearInterval(retention);
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
      await unlisten().catch(() => {}); // the connection may be gone already
      await deliveriesIdle();
      await state.pruning;
    },
  };
}
