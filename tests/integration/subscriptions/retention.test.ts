import { asc, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEndpointApi, waitFor } from "./helpers";

/**
 * Retention of finished deliveries (issue 14): succeeded and failed deliveries older than the
 * retention are deleted in small batches; queued and running ones, and young ones, stay.
 * Ages are written into the rows (created_at), so nothing waits for days or for a clock.
 */

const DAY_MS = 86_400_000;

let db: Awaited<ReturnType<typeof import("@/lib/db/client").getDb>>;
let schema: typeof import("@/lib/db/schema");
let endpointId: string;

beforeAll(async () => {
  db = await (await import("@/lib/db/client")).getDb();
  schema = await import("@/lib/db/schema");
  const api = await loadEndpointApi();
  const created = await api.create({ url: "http://127.0.0.1:9/hook" });
  expect(created.status).toBe(201);
  endpointId = ((await created.json()) as { id: string }).id;
});

type Row = {
  label: string;
  status: "queued" | "running" | "succeeded" | "failed";
  ageDays: number;
};

/** Inserts deliveries in this order (ids grow with it), each `ageDays` old; returns label → id. */
async function insertDeliveries(rows: Row[]): Promise<Map<string, number>> {
  const { webhookDeliveries } = schema;
  await db.delete(webhookDeliveries);
  const ids = new Map<string, number>();
  for (const row of rows) {
    const createdAt = new Date(Date.now() - row.ageDays * DAY_MS);
    const [inserted] = await db
      .insert(webhookDeliveries)
      .values({
        eventId: `evt_${row.label}`,
        eventType: "test.ping",
        endpointId,
        data: { type: "test.ping" },
        status: row.status,
        attempt: row.status === "queued" ? 0 : 1,
        responseStatus: row.status === "succeeded" ? 200 : row.status === "failed" ? 500 : null,
        responseBody: row.status === "queued" ? null : "x".repeat(1000),
        createdAt,
        updatedAt: createdAt,
      })
      .returning({ id: webhookDeliveries.id });
    ids.set(row.label, inserted!.id);
  }
  return ids;
}

async function remaining(): Promise<string[]> {
  const { webhookDeliveries } = schema;
  const rows = await db
    .select({ eventId: webhookDeliveries.eventId })
    .from(webhookDeliveries)
    .orderBy(asc(webhookDeliveries.id));
  return rows.map((r) => r.eventId.replace(/^evt_/, ""));
}

describe("delivery retention", () => {
  it("deletes only finished deliveries older than the retention, over several small batches", async () => {
    const { pruneDeliveries } = await import("@/lib/subscriptions/retention");
    await insertDeliveries([
      { label: "old-ok-1", status: "succeeded", ageDays: 90 },
      { label: "old-failed", status: "failed", ageDays: 80 },
      { label: "old-queued", status: "queued", ageDays: 70 }, // a disabled endpoint's queue stays
      { label: "old-ok-2", status: "succeeded", ageDays: 60 },
      { label: "old-running", status: "running", ageDays: 50 },
      { label: "old-ok-3", status: "succeeded", ageDays: 40 },
      { label: "young-ok", status: "succeeded", ageDays: 10 },
      { label: "young-failed", status: "failed", ageDays: 1 },
      { label: "new-queued", status: "queued", ageDays: 0 },
    ]);
    const deleted = await pruneDeliveries({ retentionDays: 30, batchSize: 2 });
    expect(deleted).toBe(4);
    expect(await remaining()).toEqual([
      "old-queued",
      "old-running",
      "young-ok",
      "young-failed",
      "new-queued",
    ]);
    // A second pass finds nothing more to delete.
    expect(await pruneDeliveries({ retentionDays: 30, batchSize: 2 })).toBe(0);
  });

  it("stops after the first window holding a young delivery", async () => {
    const { pruneDeliveries } = await import("@/lib/subscriptions/retention");
    // Ids grow with creation time, so an old row after a young one does not occur in practice:
    // here it shows where the pass stopped: windows of 2, the second holds the young one.
    await insertDeliveries([
      { label: "old-1", status: "succeeded", ageDays: 40 },
      { label: "old-2", status: "succeeded", ageDays: 40 },
      { label: "young", status: "succeeded", ageDays: 1 },
      { label: "old-3", status: "succeeded", ageDays: 40 },
      { label: "old-4", status: "succeeded", ageDays: 40 },
    ]);
    expect(await pruneDeliveries({ retentionDays: 30, batchSize: 2 })).toBe(3);
    expect(await remaining()).toEqual(["young", "old-4"]);
  });

  it("bounds a pass to maxBatches windows; the next pass goes on", async () => {
    const { pruneDeliveries } = await import("@/lib/subscriptions/retention");
    await insertDeliveries(
      Array.from({ length: 7 }, (_, i) => ({
        label: `old-${i}`,
        status: "succeeded" as const,
        ageDays: 40,
      })),
    );
    expect(await pruneDeliveries({ retentionDays: 30, batchSize: 2, maxBatches: 2 })).toBe(4);
    expect(await remaining()).toHaveLength(3);
    expect(await pruneDeliveries({ retentionDays: 30, batchSize: 2, maxBatches: 2 })).toBe(3);
    expect(await remaining()).toEqual([]);
  });

  it("keeps everything with a retention of 0 days", async () => {
    const { pruneDeliveries } = await import("@/lib/subscriptions/retention");
    await insertDeliveries([{ label: "ancient", status: "succeeded", ageDays: 3650 }]);
    expect(await pruneDeliveries({ retentionDays: 0 })).toBe(0);
    expect(await remaining()).toEqual(["ancient"]);
  });

  it("runs in the delivery loop: a pass at start", async () => {
    await insertDeliveries([
      { label: "old-ok", status: "succeeded", ageDays: 31 },
      { label: "young-ok", status: "succeeded", ageDays: 29 },
    ]);
    const { startDeliveries } = await import("@/lib/jobs/deliveries");
    const loop = await startDeliveries({
      sweepIntervalMs: 0,
      retentionDays: 30,
      retentionIntervalMs: 60 * 60_000,
    });
    try {
      await waitFor("the loop's retention pass", async () => (await remaining()).length === 1);
      expect(await remaining()).toEqual(["young-ok"]);
    } finally {
      await loop.stop();
    }
  });
});

afterAll(async () => {
  // Nothing of this file's endpoint must outlive it in a shared database.
  await db.execute(sql`delete from webhook_endpoints where id = ${endpointId}`);
});
