import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runAfterResponse } from "../../helpers/after";
import { callbackRequest, json } from "../../helpers/callbacks";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, loadApp } from "../../helpers/pipeline-driver";

/** Every row of CONTRACT.md §2's response table, through the real route handlers and database. */

let services: FakeServices;
let app: App;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, {
    RATE_LIMIT_STITCH: "5/1m",
    WEBHOOK_MAX_BODY_BYTES: "4096",
  });
  app = await loadApp();
});
afterAll(() => services.close());

/** A project whose scene 1 video job has been submitted: returns ids and the task id. */
async function projectWaitingForVideo(scenes = 2) {
  const created = await app.createProject({
    name: "receive",
    scenes: Array.from({ length: scenes }, (_, i) => ({ prompt: `p${i}` })),
    autostart: true,
  });
  const project = (await created.json()) as { id: string; scenes: { id: string }[] };
  await app.dispatcher.dispatchDueJobs();
  const submission = services.requests.findLast((r) => r.body.project_id === project.id)!;
  return {
    projectId: project.id,
    sceneId: project.scenes[0]!.id,
    taskId: submission.taskId!,
    jobId: String(submission.headers["idempotency-key"]),
  };
}

const post = (stage: Parameters<typeof callbackRequest>[0], request: Request) =>
  app.webhooks[stage].POST(request);

/** Every row the pipeline owns, to prove a refused callback changed nothing. */
async function snapshot() {
  const rows = await app.db.execute(sql`
    select (select json_agg(p order by id) from projects p) as projects,
           (select json_agg(s order by id) from scenes s) as scenes,
           (select json_agg(j order by id) from jobs j) as jobs`);
  return JSON.stringify(Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows);
}

describe("applied", () => {
  it("video-complete records the video, queues the last frame, and says so", async () => {
    const { taskId, projectId } = await projectWaitingForVideo();
    const response = await post(
      "video-complete",
      callbackRequest("video-complete", {
        task_id: taskId,
        status: "completed",
        video_url: "https://cdn.test/v.mp4",
      }),
    );
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      received: true,
      status: "completed",
      scene_updated: true,
      last_frame_triggered: true,
    });
    expect((await app.getProject(projectId)).scenes[0]).toMatchObject({
      status: "extracting_frame",
      video_url: "https://cdn.test/v.mp4",
    });
  });

  it("accepts the real service's shape (result.video_url, metadata ids) by its signed ref", async () => {
    const { taskId, projectId, sceneId, jobId } = await projectWaitingForVideo();
    const body = {
      task_id: taskId,
      project_id: projectId,
      status: "completed",
      result: {
        video_url: "https://media.test/v.mp4",
        scene_id: sceneId,
        duration: 7,
        fps: 24,
        quality_score: 0.91,
      },
      completed_at: "2025-10-04T10:30:00.000Z",
      metadata: { project_id: projectId, scene_id: sceneId, job_id: jobId },
    };
    const response = await post(
      "video-complete",
      callbackRequest("video-complete", body, { scheme: "none", ref: jobId }),
    );
    expect(response.status).toBe(200);
    expect((await app.getProject(projectId)).scenes[0].video_url).toBe("https://media.test/v.mp4");
  });

  it("processing with progress stores the progress and leaves the status", async () => {
    const { taskId, projectId } = await projectWaitingForVideo();
    const response = await post(
      "video-complete",
      callbackRequest("video-complete", { task_id: taskId, status: "processing", progress: 45 }),
    );
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      received: true,
      status: "processing",
      progress: 45,
    });
    expect((await app.getProject(projectId)).scenes[0]).toMatchObject({
      status: "generating_video",
      progress: 45,
    });
  });

  it("a failed attempt reported by the service is in the error log, linked to its project and scene", async () => {
    const { taskId, projectId, sceneId } = await projectWaitingForVideo();
    const response = await post(
      "video-complete",
      callbackRequest("video-complete", { task_id: taskId, status: "failed", error: "GPU lost" }),
    );
    expect(response.status).toBe(200);
    const { errorLog } = app.schema;
    const rows = await app.db.select().from(errorLog);
    const mine = rows.filter((r) => r.projectId === projectId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ type: "pipeline", severity: "error" });
    expect(mine[0]?.message).toMatch(/scene 1 video generation attempt 1 of \d+ failed: GPU lost/);
    expect(mine[0]?.context).toMatchObject({ scene_id: sceneId, task_id: taskId });
  });

  it("progress never moves backwards: 90 then 10 keeps 90, and the late report is ignored", async () => {
    const { taskId, projectId } = await projectWaitingForVideo();
    const report = (progress: number) =>
      post(
        "video-complete",
        callbackRequest("video-complete", { task_id: taskId, status: "processing", progress }),
      );
    expect((await report(90)).status).toBe(200);
    const late = await report(10);
    expect(late.status).toBe(200);
    expect(await json(late)).toMatchObject({
      received: true,
      ignored: expect.stringMatching(/progress 10/),
    });
    expect((await app.getProject(projectId)).scenes[0]).toMatchObject({ progress: 90 });
  });
});

describe("duplicates, stale and unknown", () => {
  it("the same task + status again is a duplicate and changes nothing", async () => {
    const { taskId } = await projectWaitingForVideo();
    const body = { task_id: taskId, status: "completed", video_url: "https://cdn.test/a.mp4" };
    expect((await post("video-complete", callbackRequest("video-complete", body))).status).toBe(
      200,
    );
    const before = await snapshot();
    const again = await post(
      "video-complete",
      callbackRequest("video-complete", { ...body, video_url: "https://cdn.test/b.mp4" }),
    );
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({ received: true, duplicate: true });
    expect(await snapshot()).toBe(before);
  });

  it("the same webhook-id again is a duplicate", async () => {
    const { taskId } = await projectWaitingForVideo();
    const first = callbackRequest(
      "video-complete",
      { task_id: taskId, status: "processing", progress: 10 },
      { scheme: "standard", webhookId: "msg_same" },
    );
    const second = callbackRequest(
      "video-complete",
      { task_id: taskId, status: "processing", progress: 20 },
      { scheme: "standard", webhookId: "msg_same" },
    );
    expect(await json(await post("video-complete", first))).toMatchObject({
      received: true,
      status: "processing",
    });
    expect(await json(await post("video-complete", second))).toEqual({
      received: true,
      duplicate: true,
    });
  });

  it("20 concurrent copies of one callback apply once; 19 are duplicates", async () => {
    const { taskId, projectId } = await projectWaitingForVideo();
    const body = { task_id: taskId, status: "completed", video_url: "https://cdn.test/c.mp4" };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        post("video-complete", callbackRequest("video-complete", body)).then(json),
      ),
    );
    expect(answers.filter((a) => a.duplicate === true)).toHaveLength(19);
    expect(
      answers.filter((a) => a.status === "completed" && a.last_frame_triggered === true),
    ).toHaveLength(1);
    const frames = await app.db.execute(
      sql`select count(*)::int as n from jobs where project_id = ${projectId} and kind = 'extract_last_frame'`,
    );
    const rows = (Array.isArray(frames) ? frames : (frames as { rows: { n: number }[] }).rows) as {
      n: number;
    }[];
    expect(rows[0]!.n).toBe(1);
  });

  it("a stale callback (an older attempt's task) is ignored", async () => {
    const { taskId } = await projectWaitingForVideo();
    await post(
      "video-complete",
      callbackRequest("video-complete", { task_id: taskId, status: "failed", error: "boom" }),
    );
    const late = await post(
      "video-complete",
      callbackRequest("video-complete", {
        task_id: taskId,
        status: "completed",
        video_url: "https://cdn.test/late.mp4",
      }),
    );
    expect(late.status).toBe(200);
    expect(await json(late)).toMatchObject({
      received: true,
      ignored: expect.stringContaining("stale attempt 1"),
    });
  });

  it("a callback for a task not known yet gets 202 and is kept", async () => {
    const response = await post(
      "stitch-complete",
      callbackRequest("stitch-complete", {
        task_id: "nobody-knows",
        status: "completed",
        final_video_url: "https://cdn.test/f.mp4",
      }),
    );
    expect(response.status).toBe(202);
    expect(await json(response)).toMatchObject({ received: true, parked: true });
    const events = await app.db.execute(
      sql`select outcome from webhook_events where task_id = 'nobody-knows'`,
    );
    const rows = (
      Array.isArray(events) ? events : (events as { rows: { outcome: string }[] }).rows
    ) as { outcome: string }[];
    expect(rows).toEqual([{ outcome: "parked" }]);
  });
});

describe("refused", () => {
  it.each<[string, string]>([
    ["not JSON", '{"task_id": '],
    ["an array", "[1,2]"],
    ["no task_id", JSON.stringify({ status: "completed", video_url: "https://cdn.test/x.mp4" })],
    ["an unknown status", JSON.stringify({ task_id: "t", status: "exploded" })],
    [
      "a javascript: URL",
      JSON.stringify({ task_id: "t", status: "completed", video_url: "javascript:alert(1)" }),
    ],
    [
      "a relative URL",
      JSON.stringify({ task_id: "t", status: "completed", video_url: "/videos/1.mp4" }),
    ],
    ["completed without its video", JSON.stringify({ task_id: "t", status: "completed" })],
    ["progress above 100", JSON.stringify({ task_id: "t", status: "processing", progress: 150 })],
  ])("400 for %s, with the issues, changing nothing", async (_name, raw) => {
    await projectWaitingForVideo(1);
    const before = await snapshot();
    const response = await post("video-complete", callbackRequest("video-complete", raw));
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error).toEqual(expect.any(String));
    expect(body.issues).toEqual(expect.any(Array));
    expect(await snapshot()).toBe(before);
  });

  it.each<[string, Parameters<typeof callbackRequest>[2]]>([
    ["no signature", { scheme: "none" }],
    ["the wrong secret", { secret: "not-the-secret" }],
    ["another endpoint's secret", { secret: "test-last-frame-secret" }],
  ])("401 for %s", async (_name, options) => {
    const { taskId } = await projectWaitingForVideo(1);
    const before = await snapshot();
    const response = await post(
      "video-complete",
      callbackRequest(
        "video-complete",
        { task_id: taskId, status: "completed", video_url: "https://cdn.test/x.mp4" },
        options,
      ),
    );
    expect(response.status).toBe(401);
    expect(await json(response)).toEqual({ error: "Invalid signature" });
    expect(await snapshot()).toBe(before);
  });

  it("401 for a tampered body", async () => {
    const request = callbackRequest("video-complete", {
      task_id: "t1",
      status: "processing",
      progress: 1,
    });
    const tampered = new Request(request.url, {
      method: "POST",
      headers: request.headers,
      body: JSON.stringify({ task_id: "t1", status: "processing", progress: 2 }),
    });
    expect((await post("video-complete", tampered)).status).toBe(401);
  });

  it("409 when the ids disagree with the task's record, changing nothing", async () => {
    const { taskId } = await projectWaitingForVideo(1);
    const before = await snapshot();
    for (const ids of [{ project_id: "prj_other" }, { scene_id: "scn_other" }]) {
      const response = await post(
        "video-complete",
        callbackRequest("video-complete", {
          task_id: taskId,
          status: "completed",
          video_url: "https://cdn.test/x.mp4",
          ...ids,
        }),
      );
      expect(response.status).toBe(409);
    }
    expect(await snapshot()).toBe(before);
  });

  it("409 when a signed ref names another stage's job", async () => {
    const { jobId } = await projectWaitingForVideo(1);
    const response = await post(
      "stitch-complete",
      callbackRequest(
        "stitch-complete",
        { task_id: "x", status: "completed", final_video_url: "https://cdn.test/f.mp4" },
        { ref: jobId },
      ),
    );
    expect(response.status).toBe(409);
  });

  it("413 for a body over WEBHOOK_MAX_BODY_BYTES", async () => {
    const big = JSON.stringify({
      task_id: "t",
      status: "processing",
      progress: 1,
      metadata: { pad: "x".repeat(5000) },
    });
    expect((await post("video-complete", callbackRequest("video-complete", big))).status).toBe(413);
  });

  it("429 with Retry-After and X-RateLimit-* past the limit (stitch: 5/min here)", async () => {
    const answers = [];
    for (let i = 0; i < 7; i++) {
      answers.push(
        await post(
          "stitch-complete",
          callbackRequest(
            "stitch-complete",
            { task_id: `rl-${i}`, status: "processing" },
            { ip: "192.0.2.99" },
          ),
        ),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 429, 429]);
    const limited = answers[5]!;
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get("x-ratelimit-limit")).toBe("5");
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    // Unsigned requests count too, and past the limit nothing is written for them.
    const unsigned = await post(
      "stitch-complete",
      callbackRequest(
        "stitch-complete",
        { task_id: "rl-x", status: "processing" },
        { ip: "192.0.2.99", scheme: "none" },
      ),
    );
    expect(unsigned.status).toBe(429);
    // Another client has its own budget.
    const other = await post(
      "stitch-complete",
      callbackRequest(
        "stitch-complete",
        { task_id: "rl-other", status: "processing" },
        { ip: "192.0.2.100" },
      ),
    );
    expect(other.status).toBe(202);
  });

  it("never a 5xx and never a change for random bad input", async () => {
    await projectWaitingForVideo(1);
    const before = await snapshot();
    const stages = ["video-complete", "last-frame-complete", "stitch-complete"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...stages),
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc
            .record(
              {
                task_id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null)),
                status: fc.oneof(fc.constantFrom("completed", "failed", "processing"), fc.string()),
                video_url: fc.oneof(fc.webUrl(), fc.string(), fc.constant("javascript:alert(1)")),
                progress: fc.oneof(fc.double(), fc.integer(), fc.constant(1e308)),
                scene_id: fc.oneof(fc.string(), fc.object()),
              },
              { requiredKeys: [] },
            )
            .map((v) => JSON.stringify(v)),
          fc.string().map((s) => `{"task_id":"${s}`), // truncated
          fc.nat(60).map((d) => `${"[".repeat(d * 50)}${"]".repeat(d * 50)}`), // deep nesting
        ),
        async (stage, raw) => {
          const response = await post(stage, callbackRequest(stage, raw, { ip: "198.18.0.1" }));
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    expect(await snapshot()).toBe(before);
  });
});

describe("health and outages", () => {
  it("GET answers healthy with what the endpoint is", async () => {
    const response = await app.webhooks["last-frame-complete"].GET();
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      status: "healthy",
      endpoint: "/api/webhooks/last-frame-complete",
      method: "POST",
      description: expect.any(String),
      timestamp: expect.any(String),
    });
  });

  it("503 (retry later) when the database cannot be reached, for the callback and its health check", async () => {
    const cache = globalThis as { __framechainDb?: unknown };
    const saved = cache.__framechainDb;
    cache.__framechainDb = undefined;
    const savedUrl = process.env.DATABASE_URL;
    try {
      process.env.DATABASE_URL = "postgres://nobody@127.0.0.1:1/none";
      vi.resetModules();
      const route = await import("@/app/api/webhooks/video-complete/route");
      const response = await route.POST(
        callbackRequest("video-complete", { task_id: "t", status: "processing", progress: 1 }),
      );
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBeTruthy();
      const health = await route.GET();
      expect(health.status).toBe(503);
      expect(await json(health)).toMatchObject({
        status: "degraded",
        reason: expect.stringContaining("database"),
      });
    } finally {
      cache.__framechainDb = saved;
      if (savedUrl === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = savedUrl;
      vi.resetModules();
    }
  });
});

afterAll(async () => {
  await runAfterResponse().catch(() => {});
});
