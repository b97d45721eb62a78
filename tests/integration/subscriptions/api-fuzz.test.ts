import { sql } from "drizzle-orm";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadEndpointApi } from "./helpers";

/**
 * Nothing a client sends to the webhook-endpoints API gets a 5xx while the database is up
 * (CONTRACT §4, §6): any string as an id, any JSON as a body. Fixed seed; FUZZ_SEED varies it.
 * And a delivery whose process died mid-send is claimed again once its lease has run out.
 */

const RUNS = 100;
const SEED = Number(process.env.FUZZ_SEED ?? 20261214);

const anyText = (maxLength = 12) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom(0, 0x0a, 0x7f, 0xd800, 0xdc00, 0xfffd),
      ),
      { maxLength },
    )
    .map((units) => String.fromCharCode(...units));

/** JSON values shaped like, and unlike, an endpoint body. */
const anyBody = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      url: fc.oneof(
        fc.webUrl(),
        anyText(30),
        fc.constantFrom("http://", "https://[::1", "ftp://x", "http://a b/", 42, null),
      ),
      events: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom("project.started", "scene.failed"), anyText()), {
          maxLength: 3,
        }),
        anyText(),
        fc.constant(null),
      ),
      description: fc.oneof(anyText(40), fc.integer(), fc.constant(null)),
      enabled: fc.oneof(fc.boolean(), anyText(3)),
    },
    { requiredKeys: [] },
  ),
);

let api: Awaited<ReturnType<typeof loadEndpointApi>>;
let realId: string;

beforeAll(async () => {
  api = await loadEndpointApi();
  const created = await api.create({ url: "https://93.184.215.14/hook" });
  realId = ((await created.json()) as { id: string }).id;
});

describe("webhook-endpoints API fuzz", () => {
  it("any id on every route: 404 or an answer, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(anyText(), fc.integer({ min: 0, max: 6 }), async (id, which) => {
        const response = await [
          () => api.get(id),
          () => api.patch(id, { description: "x" }),
          () => api.rotate(id),
          () => api.test(id),
          () => api.deliveries(id),
          () => api.resend(realId, id),
          () => api.resend(id, "1"),
        ][which]!();
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("any body to create and update: 201/200 or 400, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(anyBody, fc.boolean(), async (body, create) => {
        const response = create ? await api.create(body) : await api.patch(realId, body);
        expect([200, 201, 400]).toContain(response.status);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe("crash recovery", () => {
  it("a delivery left running by a dead process is claimed again after its lease", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { webhookDeliveries } = await import("@/lib/db/schema");
    const { claimDueDeliveries } = await import("@/lib/subscriptions/deliver");
    const db = await getDb();
    // Its own endpoint: the fuzz above may have changed or disabled the shared one.
    const created = await api.create({ url: "https://93.184.215.14/other" });
    const endpointId = ((await created.json()) as { id: string }).id;
    const queued = (await (await api.test(endpointId)).json()) as { id: number };
    // Another process claimed it (attempt 1) and died: its lease is still running, then expires.
    await db
      .update(webhookDeliveries)
      .set({ status: "running", attempt: 1, leaseExpiresAt: sql`now() + interval '1 hour'` })
      .where(sql`${webhookDeliveries.id} = ${queued.id}`);
    expect(await claimDueDeliveries(10)).toEqual([]);
    await db
      .update(webhookDeliveries)
      .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
      .where(sql`${webhookDeliveries.id} = ${queued.id}`);
    const [claimed] = await claimDueDeliveries(10);
    expect(claimed).toMatchObject({ id: queued.id, attempt: 2, endpointId });
  });
});
