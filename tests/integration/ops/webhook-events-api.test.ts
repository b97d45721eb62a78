import { beforeAll, describe, expect, it } from "vitest";
import { GET as list } from "@/app/api/v1/webhook-events/route";
import { getDb } from "@/lib/db/client";
import { webhookEvents } from "@/lib/db/schema";

const base = "http://127.0.0.1:3999/api/v1/webhook-events";

async function getJson(query: string) {
  const response = await list(new Request(`${base}?${query}`));
  return { status: response.status, body: await response.json() };
}
const reasons = (items: { reason: string }[]) => items.map((e) => e.reason);

describe("webhook event log API", () => {
  beforeAll(async () => {
    const db = await getDb();
    // Inserted one by one so ids (and so "newest first") follow this order.
    for (const row of [
      {
        source: "video-complete",
        outcome: "applied",
        projectId: "prj_a",
        taskId: "t1",
        httpStatus: 200,
        reason: "e1",
      },
      {
        source: "video-complete",
        outcome: "duplicate",
        projectId: "prj_a",
        taskId: "t1",
        httpStatus: 200,
        reason: "e2",
      },
      {
        source: "last-frame-complete",
        outcome: "parked",
        projectId: null,
        taskId: "t2",
        httpStatus: 202,
        reason: "e3",
      },
      {
        source: "stitch-complete",
        outcome: "rejected",
        projectId: "prj_b",
        taskId: null,
        httpStatus: 401,
        reason: "e4",
      },
      {
        source: "stitch-complete",
        outcome: "applied",
        projectId: "prj_b",
        taskId: "t3",
        httpStatus: 200,
        reason: "e5",
      },
    ] as const) {
      await db
        .insert(webhookEvents)
        .values({ ...row, dedupKey: row.reason, payload: { secret_free: true } });
    }
  });

  it("lists newest first with outcome, and pages", async () => {
    const first = await getJson("limit=3");
    expect(first.status).toBe(200);
    expect(reasons(first.body.items)).toEqual(["e5", "e4", "e3"]);
    expect(first.body.items[1]).toMatchObject({
      source: "stitch-complete",
      outcome: "rejected",
      http_status: 401,
      project_id: "prj_b",
      task_id: null,
      received_at: expect.stringMatching(/^\d{4}-/),
    });
    // Payloads stay out of the list (they may be large; the event id is enough to look closer).
    expect(first.body.items[0]).not.toHaveProperty("payload");
    const second = await getJson(`limit=3&cursor=${first.body.next_cursor}`);
    expect(reasons(second.body.items)).toEqual(["e2", "e1"]);
    expect(second.body.next_cursor).toBeNull();
  });

  it("filters by source, project and outcome", async () => {
    expect(reasons((await getJson("source=stitch-complete")).body.items)).toEqual(["e5", "e4"]);
    expect(reasons((await getJson("project_id=prj_a")).body.items)).toEqual(["e2", "e1"]);
    expect(reasons((await getJson("outcome=applied")).body.items)).toEqual(["e5", "e1"]);
    expect(reasons((await getJson("outcome=applied&source=video-complete")).body.items)).toEqual([
      "e1",
    ]);
  });

  it("answers 400 with issues for bad query parameters", async () => {
    for (const query of ["source=video", "outcome=lost", "limit=abc", "cursor=-1"]) {
      const { status, body } = await getJson(query);
      expect(status, query).toBe(400);
      expect(body.issues.length, query).toBeGreaterThan(0);
    }
  });
});
