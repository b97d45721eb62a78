import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { POST as dismiss } from "@/app/api/v1/errors/[id]/dismiss/route";
import { GET as list } from "@/app/api/v1/errors/route";
import { GET as stats } from "@/app/api/v1/errors/stats/route";
import { getDb } from "@/lib/db/client";
import { errorLog } from "@/lib/db/schema";
import { recordError } from "@/lib/observability/error-log";

const base = "http://127.0.0.1:3999/api/v1/errors";
const idCtx = (id: string) => ({ params: Promise.resolve({ id }) });

async function getJson(url: string) {
  const response = await list(new Request(url));
  return { status: response.status, body: await response.json() };
}

describe("error log API", () => {
  beforeAll(async () => {
    await recordError({
      type: "webhook",
      severity: "warning",
      message: "bad signature",
      context: { stage: "video-complete" },
    });
    await recordError({
      type: "service",
      severity: "error",
      message: "stitch 503",
      projectId: "prj_a",
      context: { kind: "stitch" },
    });
    await recordError({
      type: "service",
      severity: "critical",
      message: "video dead",
      projectId: "prj_b",
    });
    await recordError({
      type: "pipeline",
      severity: "error",
      message: "scene failed",
      projectId: "prj_a",
    });
    // One old entry: counted all time, not in the last 24 h.
    const db = await getDb();
    await db.insert(errorLog).values({
      type: "system",
      severity: "info",
      message: "old",
      createdAt: sql`now() - interval '3 days'`,
    });
  });

  it("lists newest first and pages with next_cursor", async () => {
    const first = await getJson(`${base}?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { message: string }) => e.message)).toEqual([
      "old",
      "scene failed",
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await getJson(`${base}?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map((e: { message: string }) => e.message)).toEqual([
      "video dead",
      "stitch 503",
    ]);
    const third = await getJson(`${base}?limit=2&cursor=${second.body.next_cursor}`);
    expect(third.body.items.map((e: { message: string }) => e.message)).toEqual(["bad signature"]);
    expect(third.body.next_cursor).toBeNull();
  });

  it("filters by type, severity and project", async () => {
    const byType = await getJson(`${base}?type=service`);
    expect(byType.body.items.map((e: { message: string }) => e.message)).toEqual([
      "video dead",
      "stitch 503",
    ]);
    const bySeverity = await getJson(`${base}?severity=error`);
    expect(bySeverity.body.items.map((e: { message: string }) => e.message)).toEqual([
      "scene failed",
      "stitch 503",
    ]);
    const byProject = await getJson(`${base}?project_id=prj_a&type=service`);
    expect(byProject.body.items).toHaveLength(1);
    expect(byProject.body.items[0]).toMatchObject({
      type: "service",
      severity: "error",
      message: "stitch 503",
      project_id: "prj_a",
      context: { kind: "stitch" },
      dismissed_at: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it("answers 400 with issues for bad query parameters", async () => {
    for (const query of [
      "type=nope",
      "severity=loud",
      "limit=0",
      "limit=500",
      "cursor=abc",
      "include_dismissed=maybe",
    ]) {
      const { status, body } = await getJson(`${base}?${query}`);
      expect(status, query).toBe(400);
      expect(body.issues.length, query).toBeGreaterThan(0);
    }
  });

  it("dismisses: hidden by default, shown with include_dismissed, idempotent, 404 for unknown ids", async () => {
    const { body } = await getJson(`${base}?type=webhook`);
    const target = body.items[0];
    const first = await dismiss(
      new Request(`${base}/${target.id}/dismiss`, { method: "POST" }),
      idCtx(String(target.id)),
    );
    expect(first.status).toBe(200);
    const dismissed = await first.json();
    expect(dismissed.dismissed_at).toEqual(expect.any(String));

    const again = await dismiss(
      new Request(`${base}/${target.id}/dismiss`, { method: "POST" }),
      idCtx(String(target.id)),
    );
    expect((await again.json()).dismissed_at).toBe(dismissed.dismissed_at);

    expect((await getJson(`${base}?type=webhook`)).body.items).toHaveLength(0);
    const withDismissed = await getJson(`${base}?type=webhook&include_dismissed=true`);
    expect(withDismissed.body.items.map((e: { id: number }) => e.id)).toEqual([target.id]);

    for (const id of ["999999", "abc", "0", "-1", "1e3"]) {
      const response = await dismiss(
        new Request(`${base}/${id}/dismiss`, { method: "POST" }),
        idCtx(id),
      );
      expect(response.status, id).toBe(404);
      expect(await response.json()).toEqual({ error: expect.any(String) });
    }
  });

  it("counts by type and severity for the last 24 h and all time", async () => {
    const response = await stats();
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.all_time).toEqual({
      total: 5,
      by_type: { webhook: 1, service: 2, pipeline: 1, ratelimit: 0, system: 1 },
      by_severity: { info: 1, warning: 1, error: 2, critical: 1 },
    });
    expect(body.last_24h).toEqual({
      total: 4,
      by_type: { webhook: 1, service: 2, pipeline: 1, ratelimit: 0, system: 0 },
      by_severity: { info: 0, warning: 1, error: 2, critical: 1 },
    });
    // The webhook entry was dismissed by the previous test.
    expect(body.open.total).toBe(4);
    expect(body.open.by_type.webhook).toBe(0);
  });
});
