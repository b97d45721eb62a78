import "server-only";
import { getSql } from "@/lib/db/client";

/**
 * Retention of finished deliveries (issue 14): succeeded and failed deliveries — with their
 * response bodies and attempt details, which live on the row — are deleted once older than
 * SUBSCRIPTION_DELIVERY_RETENTION_DAYS; queued and running ones are never touched (a disabled
 * endpoint's queue is kept for when it is enabled again). The events themselves stay in
 * project_events, the project's history.
 *
 * The table has no index on age: a pass walks the primary key from the oldest id in small
 * windows (ids grow with creation time) and stops at the first window holding a delivery
 * younger than the cutoff, so it reads only the old rows plus one window.
 */

/** One window: the next `$2` deliveries after id `$1`; deletes its finished ones created before the cutoff. */
const PRUNE_WINDOW = `with scanned as (
  select id, created_at from webhook_deliveries where id > $1::bigint order by id limit $2::int
), doomed as (
  delete from webhook_deliveries d using scanned s
  where d.id = s.id and d.status in ('succeeded', 'failed')
    and d.created_at < now() - make_interval(secs => $3::float8)
  returning d.id
)
select (select count(*) from doomed)::int as deleted,
  (select max(id) from scanned)::text as last_id,
  (select count(*) from scanned where created_at >= now() - make_interval(secs => $3::float8))::int as young`;

export type PruneOptions = {
  retentionDays: number;
  /** Deliveries read (and at most deleted) per statement. */
  batchSize?: number;
  /** Windows per pass at most: a large backlog is worked off over several passes. */
  maxBatches?: number;
};

/** One retention pass; returns how many deliveries it deleted. 0 days: keep everything. */
export async function pruneDeliveries({
  retentionDays,
  batchSize = 500,
  maxBatches = 40,
}: PruneOptions): Promise<number> {
  if (retentionDays <= 0) return 0;
  const run = await getSql();
  let after = "0";
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const [row] = await run.query<{ deleted: number; last_id: string | null; young: number }>(
      PRUNE_WINDOW,
      [after, batchSize, retentionDays * 86_400],
    );
    deleted += row?.deleted ?? 0;
    if (!row?.last_id || row.young > 0) break;
    after = row.last_id;
  }
  return deleted;
}
