import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callbackRequest } from "../helpers/callbacks";
import { APP, applySettings, restoreSettings, warmDatabase } from "./helpers";

/**
 * Issue 11 items 2–5, replayed from outside against the real callback routes:
 * 2. oversized requests spent no rate-limit budget (150 × 413, no 429);
 * 3. every refused request wrote rows (60 bad signatures → 120 rows);
 * 4. signed but permanently bad content got 503 "retry later" (NUL, lone surrogate, deep nesting);
 * 5. an unsigned `webhook-id` header made a new identity (dedup dodged), and progress moved back.
 */

afterAll(restoreSettings);

type Route = typeof import("@/app/api/webhooks/video-complete/route");
let video: Route;
let lastFrame: typeof import("@/app/api/webhooks/last-frame-complete/route");
let db: Awaited<ReturnType<typeof import("@/lib/db/client")["getDb"]>>;
let schema: typeof import("@/lib/db/schema");
let refusals: typeof import("@/lib/observability/refusals");

beforeAll(async () => {
  applySettings({ RATE_LIMIT_VIDEO: "20/1m", RATE_LIMIT_LAST_FRAME: "100000/1m" });
  await (await import("@/lib/ratelimit")).closeRateLimiters();
  await warmDatabase();
  video = await import("@/app/api/webhooks/video-complete/route");
  lastFrame = await import("@/app/api/webhooks/last-frame-complete/route");
  db = await (await import("@/lib/db/client")).getDb();
  schema = await import("@/lib/db/schema");
  refusals = await import("@/lib/observability/refusals");
});

async function rowCounts() {
  const events = await db.select().from(schema.webhookEvents);
  const errors = await db.select().from(schema.errorLog);
  return { events: events.length, errors };
}

describe("refused requests", () => {
  it("an oversized request spends its sender's budget like any other: 413 until the limit, then 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      const response = await video.POST(
        new Request(`${APP}/api/webhooks/video-complete`, {
          method: "POST",
          headers: { "content-length": "5000000", "x-forwarded-for": "198.51.100.20" },
          body: "{}",
        }),
      );
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(413));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
  });

  it("a flood of bad signatures writes no row per request: one error-log row per sender, reason and minute, with the count", async () => {
    await refusals.flushRefusals();
    const before = await rowCounts();
    for (let i = 0; i < 15; i++) {
      const response = await lastFrame.POST(
        callbackRequest(
          "last-frame-complete",
          { task_id: `forged-${i}`, status: "completed" },
          { secret: "not-the-secret", ip: "198.51.100.21" },
        ),
      );
      expect(response.status).toBe(401);
    }
    const during = await rowCounts();
    expect(during.events).toBe(before.events);
    expect(during.errors.length).toBe(before.errors.length);

    expect(await refusals.flushRefusals()).toBe(1);
    const after = await rowCounts();
    const added = after.errors.filter((e) => !before.errors.some((b) => b.id === e.id));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ type: "webhook", severity: "warning", count: 15 });
    expect(added[0]?.message).toContain("198.51.100.21");
    expect(after.events).toBe(before.events);
  });
});

describe("signed but permanently bad content", () => {
  const bodies: [string, string][] = [
    ["a NUL in error", '{"task_id":"t-nul","status":"failed","error":"bad\\u0000byte"}'],
    ["a NUL in task_id", '{"task_id":"t\\u0000nul","status":"completed"}'],
    [
      "a lone surrogate in metadata",
      '{"task_id":"t-sur","status":"processing","progress":5,"metadata":{"k":"\\ud800"}}',
    ],
    [
      "metadata nested 5,000 deep",
      `{"task_id":"t-deep","status":"processing","progress":5,"metadata":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`,
    ],
  ];
  for (const [what, raw] of bodies) {
    it(`${what}: 400 with the issue, never 503, nothing stored`, async () => {
      const before = await rowCounts();
      const response = await lastFrame.POST(callbackRequest("last-frame-complete", raw));
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: string; issues: unknown[] };
      expect(body.issues.length).toBeGreaterThan(0);
      const after = await rowCounts();
      // Kept as a rejected event (signed, so worth reading), but nothing else.
      expect(after.events).toBe(before.events + 1);
    });
  }
  it("an error given as an object is read as its message", async () => {
    const response = await lastFrame.POST(
      callbackRequest("last-frame-complete", {
        task_id: "t-unknown-object-error",
        status: "failed",
        error: { message: "renderer crashed", code: 7 },
      }),
    );
    expect(response.status).toBe(202); // unknown task: parked, not 503
  });
});

describe("deduplication identity", () => {
  it("an unsigned webhook-id header never makes a new event: same body, four ids → one event", async () => {
    const before = await rowCounts();
    const body = { task_id: "t-dedup-1", status: "completed", image_url: "https://x.test/f.jpg" };
    const answers = [];
    for (const id of ["a", "b", "c", "d"]) {
      const response = await lastFrame.POST(
        callbackRequest("last-frame-complete", body, { headers: { "webhook-id": `msg_${id}` } }),
      );
      answers.push(response.status);
    }
    expect(answers).toEqual([202, 202, 202, 202]); // unknown task: parked once, duplicates after
    const after = await rowCounts();
    expect(after.events).toBe(before.events + 1);
  });

  it("a signed webhook-id (Standard Webhooks) is the identity: the same id again is a duplicate", async () => {
    const body = { task_id: "t-dedup-2", status: "completed", image_url: "https://x.test/g.jpg" };
    const first = await lastFrame.POST(
      callbackRequest("last-frame-complete", body, { scheme: "standard", webhookId: "msg_same" }),
    );
    const again = await lastFrame.POST(
      callbackRequest("last-frame-complete", body, { scheme: "standard", webhookId: "msg_same" }),
    );
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    const events = await db.select().from(schema.webhookEvents);
    expect(events.filter((e) => e.taskId === "t-dedup-2")).toHaveLength(1);
  });
});
