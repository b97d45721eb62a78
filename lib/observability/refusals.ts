import "server-only";
import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { errorLog } from "@/lib/db/schema";
import { log } from "./log";

/**
 * Refused requests (bad signature, too large, over the rate limit…) are counted here and
 * written to the error log in aggregate: at most one row per source address, endpoint,
 * reason and minute, with a count (CONTRACT §2). A flood costs memory for one counter per
 * key, and one upsert per key a minute — never a row, or a write, per request.
 */

export type Refusal = { endpoint: string; address: string; status: number; reason: string };
type Pending = Refusal & { minute: string; count: number };

/** Beyond this many distinct keys in a minute, further addresses share one "(many)" key. */
const MAX_KEYS = 500;

const state = globalThis as unknown as {
  __framechainRefusals?: { pending: Map<string, Pending>; timer: NodeJS.Timeout | null };
};
state.__framechainRefusals ??= { pending: new Map(), timer: null };
const refusals = state.__framechainRefusals;

export function countRefusal(refusal: Refusal, now = new Date()): void {
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();
  let address = refusal.address;
  let key = aggregateKey({ ...refusal, address }, minute);
  if (!refusals.pending.has(key) && refusals.pending.size >= MAX_KEYS) {
    address = "(many)";
    key = aggregateKey({ ...refusal, address }, minute);
  }
  const entry = refusals.pending.get(key);
  if (entry) entry.count++;
  else refusals.pending.set(key, { ...refusal, address, minute, count: 1 });
  refusals.timer ??= setTimeout(
    () => void flushRefusals(),
    60_000 - (now.getTime() % 60_000) + 1000,
  );
  refusals.timer.unref?.();
}

function aggregateKey(r: Refusal, minute: string): string {
  return [r.endpoint, r.address, r.status, r.reason, minute].join("|");
}

/** Writes the counted refusals (one upsert per key) and starts counting afresh. */
export async function flushRefusals(): Promise<number> {
  if (refusals.timer) clearTimeout(refusals.timer);
  refusals.timer = null;
  const entries = [...refusals.pending.entries()];
  refusals.pending.clear();
  if (entries.length === 0) return 0;
  try {
    const db = await getDb();
    for (const [key, e] of entries) {
      log("warn", "callback.refused", {
        endpoint: e.endpoint,
        address: e.address,
        status: e.status,
        reason: e.reason,
        count: e.count,
        minute: e.minute,
      });
      await db
        .insert(errorLog)
        .values({
          type: "webhook",
          severity: "warning",
          message: `${e.endpoint} refused requests from ${e.address} (${e.status}): ${e.reason}`,
          context: {
            endpoint: e.endpoint,
            address: e.address,
            http_status: e.status,
            minute: e.minute,
          },
          count: e.count,
          aggregateKey: key,
        })
        .onConflictDoUpdate({
          target: errorLog.aggregateKey,
          set: { count: sql`${errorLog.count} + excluded.count` },
        });
    }
  } catch (error) {
    log("error", "error_log.write_failed", { message: (error as Error).message });
  }
  return entries.length;
}
