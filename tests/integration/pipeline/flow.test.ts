import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { runAfterResponse } from "../../helpers/after";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, completionFor, drive, loadApp } from "../../helpers/pipeline-driver";

/**
 * The whole chain of CONTRACT.md §1 through the real route handlers, the real dispatcher
 * and a real database, with loopback stand-ins for the four services.
 */

let services: FakeServices;
let app: App;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, {
    MAX_STAGE_ATTEMPTS: "3",
    SERVICE_MAX_RETRIES: "3",
    SERVICE_RETRY_BASE_MS: "1",
    SERVICE_TIMEOUT_MS: "2000",
  });
  app = await loadApp();
});
afterAll(() => services.close());
beforeEach(() => {
  services.requests.length = 0;
});

const scenes = (n: number, prompt = (i: number) => `scene ${i}`) =>
  Array.from({ length: n }, (_, i) => ({ prompt: prompt(i + 1), duration: 4 }));

async function create(n: number, extra: Record<string, unknown> = {}) {
  const response = await app.createProject({
    name: `flow ${n}`,
    scenes: scenes(n),
    start_image_url: "https://img.test/start.png",
    autostart: true,
    ...extra,
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; status: string };
}

function counts(projectId: string) {
  const mine = services.requests.filter(
    (r) => JSON.stringify(r.body).includes(projectId) || r.path !== "/notify",
  );
  return {
    video: mine.filter((r) => r.path === "/video/api/v1/tasks/submit" && r.taskId).length,
    frame: mine.filter((r) => r.path === "/frame/api/v1/process" && r.taskId).length,
    stitch: mine.filter((r) => r.path === "/stitch/api/v1/stitch" && r.taskId).length,
    notify: services.requests.filter((r) => r.path === "/notify" && r.body.project_id === projectId)
      .length,
  };
}

describe("a 5-scene project", () => {
  it("runs to completed: 5 videos, 5 last frames, 1 stitch, 1 notification, each scene from the previous last frame", async () => {
    const project = await create(5);
    expect(project.status).toBe("generating");
    await drive(app, services);

    const done = await app.getProject(project.id);
    expect(done.status).toBe("completed");
    expect(done.final_video_url).toMatch(/^https:\/\/cdn\.test\/task_\d+-final\.mp4$/);
    expect(done.scenes.map((s: { status: string }) => s.status)).toEqual(
      Array(5).fill("completed"),
    );
    expect(counts(project.id)).toEqual({ video: 5, frame: 5, stitch: 1, notify: 1 });

    const videos = services.of("/video/api/v1/tasks/submit");
    expect(videos[0]!.body.task_data).toMatchObject({
      scene_number: 1,
      start_image_url: "https://img.test/start.png",
    });
    for (let k = 1; k < 5; k++) {
      expect(videos[k]!.body.task_data).toMatchObject({
        scene_number: k + 1,
        start_image_url: done.scenes[k - 1].last_frame_url,
      });
    }
    const stitch = services.of("/stitch/api/v1/stitch")[0]!;
    expect(stitch.body.video_urls).toEqual(
      done.scenes.map((s: { video_url: string }) => s.video_url),
    );
    const notify = services.requests.find((r) => r.path === "/notify")!;
    expect(notify.body).toMatchObject({
      type: "project_completed",
      project_id: project.id,
      video_url: done.final_video_url,
    });
  });

  it("sends the exact outbound requests of CONTRACT.md §3", async () => {
    const project = await create(2);
    await drive(app, services);
    const [video] = services.of("/video/api/v1/tasks/submit");
    expect(video!.headers["x-api-key"]).toBe("video-key");
    expect(video!.headers["idempotency-key"]).toMatch(/^job_/);
    expect(video!.body).toMatchObject({
      project_id: project.id,
      task_type: "generate_video",
      priority: 2,
      task_data: { scene_number: 1, prompt: "scene 1", duration: 4 },
      metadata: { project_id: project.id, job_id: video!.headers["idempotency-key"] },
    });
    expect(String(video!.body.callback_url)).toMatch(
      /^http:\/\/127\.0\.0\.1:3999\/api\/webhooks\/video-complete\?ref=job_\w+&sig=[0-9a-f]{64}$/,
    );
    const [frame] = services.of("/frame/api/v1/process");
    expect(frame!.headers.authorization).toBe("Bearer frame-key");
    expect(Object.keys(frame!.body).sort()).toEqual(["video_url", "webhook_url"]);
    const [stitch] = services.of("/stitch/api/v1/stitch");
    expect(stitch!.headers.authorization).toBe("Bearer stitch-key");
    const notify = services.requests.find((r) => r.path === "/notify")!;
    expect(notify.headers["x-api-key"]).toBe("notify-key");
    expect(Object.keys(notify.body).sort()).toEqual([
      "error",
      "project_id",
      "project_name",
      "timestamp",
      "type",
      "video_url",
    ]);
  });

  it("gives the same result with every callback delivered 3 times, in shuffled order, some without their ref", async () => {
    const project = await create(5);
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647; // deterministic shuffle, so a failure can be replayed
      return seed / 2147483647;
    };
    await drive(app, services, async (batch) => {
      const copies = batch.flatMap((c) => [
        c,
        { ...c, url: c.url.split("?")[0]! }, // correlated by task id alone
        { ...c, body: { ...c.body } },
        ...(c.stage === "video-complete"
          ? [{ ...c, body: { task_id: c.body.task_id, status: "processing", progress: 40 } }]
          : []),
      ]);
      copies.sort(() => random() - 0.5);
      const answers = [];
      for (const c of copies) answers.push((await app.send(c.stage, c.body, c.url)).status);
      expect(answers.every((s) => s === 200)).toBe(true);
    });
    const done = await app.getProject(project.id);
    expect(done.status).toBe("completed");
    expect(counts(project.id)).toEqual({ video: 5, frame: 5, stitch: 1, notify: 1 });
  });
});

describe("many projects at once", () => {
  it("50 concurrent 2-scene projects all complete, with no lost or doubled stage", async () => {
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app
          .createProject({ name: `load ${i}`, scenes: scenes(2), autostart: true })
          .then((r) => r.json()),
      ),
    );
    await drive(app, services, async (batch) => {
      // Every callback of a round at once, each twice: real concurrency on PostgreSQL.
      const answers = await Promise.all(
        [...batch, ...batch].map((c) => app.send(c.stage, c.body, c.url).then((r) => r.status)),
      );
      expect(answers.every((s) => s === 200)).toBe(true);
    });
    for (const project of created) {
      const done = await app.getProject(project.id);
      expect(done.status).toBe("completed");
      const mine = (path: string) =>
        services
          .of(path)
          .filter(
            (r) => JSON.stringify(r.body).includes(project.id) || r.body.project_id === project.id,
          );
      expect(mine("/video/api/v1/tasks/submit")).toHaveLength(2);
      expect(
        services.requests.filter((r) => r.path === "/notify" && r.body.project_id === project.id),
      ).toHaveLength(1);
    }
    const byPath = (path: string) => services.of(path).length;
    expect([
      byPath("/video/api/v1/tasks/submit"),
      byPath("/frame/api/v1/process"),
      byPath("/stitch/api/v1/stitch"),
    ]).toEqual([100, 100, 50]);
  }, 180_000); // a safety net, not a speed check: 200 callbacks on a shared 2-core machine
});

describe("failures", () => {
  it("retries a service answering 503 twice, then succeeding", async () => {
    services.answerNext(
      "/video/api/v1/tasks/submit",
      { status: 503 },
      { status: 503, headers: { "retry-after": "0" } },
    );
    const project = await create(1);
    // Until the third attempt is accepted (two backoffs of ≤ 1 s); the test timeout catches a hang.
    while (services.of("/video/api/v1/tasks/submit").length === 0) {
      await app.dispatcher.dispatchDueJobs();
      await new Promise((r) => setTimeout(r, 5));
    }
    const attempts = services.requests.filter((r) => r.path === "/video/api/v1/tasks/submit");
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((r) => r.headers["idempotency-key"])).size).toBe(1);
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
  });

  it("a video failing at every attempt fails the scene and the project, notifies, and /retry finishes it", async () => {
    const project = await create(2);
    const failEveryVideo = async (batch: ReturnType<typeof completionFor>[]) => {
      for (const c of batch) {
        const body =
          c.stage === "video-complete" && failing
            ? { task_id: c.body.task_id, status: "failed", error: "Model timed out" }
            : c.body;
        await app.send(c.stage, body, c.url);
      }
    };
    let failing = true;
    await drive(app, services, failEveryVideo);
    const failed = await app.getProject(project.id);
    expect(failed.status).toBe("failed");
    expect(failed.scenes[0]).toMatchObject({ status: "failed", attempts: 3 });
    expect(failed.scenes[0].error).toContain("attempt 3 of 3 failed: Model timed out");
    expect(failed.error).toContain("Model timed out");
    expect(services.of("/video/api/v1/tasks/submit")).toHaveLength(3);
    const notify = services.requests.filter(
      (r) => r.path === "/notify" && r.body.project_id === project.id,
    );
    expect(notify.map((n) => n.body.type)).toEqual(["project_failed"]);

    expect((await app.start(project.id)).status).toBe(409);
    failing = false;
    const retried = await app.retry(project.id);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ status: "generating", run: 2 });
    await drive(app, services, failEveryVideo);
    const done = await app.getProject(project.id);
    expect(done.status).toBe("completed");
    expect(
      services.requests
        .filter((r) => r.path === "/notify" && r.body.project_id === project.id)
        .map((n) => n.body.type),
    ).toEqual(["project_failed", "project_completed"]);
    expect((await app.retry(project.id)).status).toBe(409);
  });

  it("a final 4xx from a service fails that attempt at once (no retry of the same request)", async () => {
    services.answerNext("/video/api/v1/tasks/submit", {
      status: 422,
      body: { error: "prompt rejected" },
    });
    const project = await create(1);
    await app.dispatcher.dispatchDueJobs();
    const state = await app.getProject(project.id);
    expect(state.scenes[0]).toMatchObject({ status: "generating_video", attempts: 2 });
    expect(state.scenes[0].error).toContain("422");
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
  });

  it("a stage that never calls back fails at its deadline and is tried again", async () => {
    const project = await create(1);
    await app.dispatcher.dispatchDueJobs();
    await app.pastDeadline({ projectId: project.id });
    expect(await app.dispatcher.expireOverdueStages()).toBe(1);
    const state = await app.getProject(project.id);
    expect(state.scenes[0]).toMatchObject({ status: "generating_video", attempts: 2 });
    expect(state.scenes[0].error).toContain("no callback within");
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
    expect(services.of("/video/api/v1/tasks/submit")).toHaveLength(2);
  });

  it("cancel mid-run: late callbacks are kept but change nothing", async () => {
    const project = await create(3);
    await app.dispatcher.dispatchDueJobs();
    const [video] = services.of("/video/api/v1/tasks/submit");
    expect((await app.cancel(project.id)).status).toBe(200);
    const before = await app.getProject(project.id);
    expect(before.status).toBe("cancelled");
    const late = completionFor(video!);
    const answer = await app.send(late.stage, late.body, late.url);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ received: true, ignored: "project cancelled" });
    await drive(app, services);
    const after = await app.getProject(project.id);
    expect(after.status).toBe("cancelled");
    expect(after.scenes).toEqual(before.scenes);
    expect(services.of("/frame/api/v1/process")).toHaveLength(0);
    expect((await app.cancel(project.id)).status).toBe(409);
  });
});

describe("crash safety", () => {
  it("a job committed but never dispatched (the process died after the response) is found by the sweep", async () => {
    const project = await create(2);
    await app.dispatcher.dispatchDueJobs();
    const [video] = services.of("/video/api/v1/tasks/submit");
    const c = completionFor(video!);
    expect((await app.send(c.stage, c.body, c.url)).status).toBe(200);
    // The crash: what after() would have run is lost.
    (globalThis as { __afterQueue?: unknown[] }).__afterQueue = [];
    expect(services.of("/frame/api/v1/process")).toHaveLength(0);
    const swept = await app.dispatcher.sweep();
    expect(swept.delivered).toBeGreaterThanOrEqual(1);
    expect(services.of("/frame/api/v1/process")).toHaveLength(1);
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
  });

  it("a job left running by a dead dispatcher is reclaimed once its lease runs out, with the same idempotency key", async () => {
    const project = await create(1);
    const claimed = await app.dispatcher.claimDueJobs(10); // claimed, then "the process died"
    expect(claimed).toHaveLength(1);
    await app.pastDeadline({ jobId: claimed[0]!.id });
    await app.dispatcher.dispatchDueJobs();
    const [video] = services.of("/video/api/v1/tasks/submit");
    expect(video!.headers["idempotency-key"]).toBe(claimed[0]!.id);
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
  });

  it("a callback that races ahead of the record of its submission is parked (202) and applied when the task is recorded", async () => {
    services.answerNext("/video/api/v1/tasks/submit", {
      status: 200,
      body: { task_id: "early-task", status: "queued" },
    });
    const project = await create(1);
    const early = {
      task_id: "early-task",
      status: "completed",
      video_url: "https://cdn.test/early.mp4",
    };
    const parked = await app.send("video-complete", early);
    expect(parked.status).toBe(202);
    expect(await parked.json()).toMatchObject({ received: true, parked: true });
    expect((await app.send("video-complete", early)).status).toBe(202); // a resend is still parked, not lost
    await app.dispatcher.dispatchDueJobs();
    const state = await app.getProject(project.id);
    expect(state.scenes[0]).toMatchObject({
      status: "extracting_frame",
      video_url: "https://cdn.test/early.mp4",
    });
    const [events] = await Promise.all([
      app.db.execute(sql`select outcome from webhook_events where task_id = 'early-task'`),
    ]);
    const rows = (Array.isArray(events) ? events : (events as { rows: unknown[] }).rows) as {
      outcome: string;
    }[];
    expect(rows.map((r) => r.outcome)).toEqual(["applied"]);
    await runAfterResponse();
    await drive(app, services);
    expect((await app.getProject(project.id)).status).toBe("completed");
  });

  it("the sweep applies a parked callback whose task became known without it (safety net)", async () => {
    const project = await create(1);
    const early = {
      task_id: "stranded-task",
      status: "completed",
      video_url: "https://cdn.test/stranded.mp4",
    };
    expect((await app.send("video-complete", early)).status).toBe(202);
    const { jobs } = app.schema;
    // The task recorded by some path that did not look for parked callbacks.
    await app.db
      .update(jobs)
      .set({ status: "waiting", externalTaskId: "stranded-task" })
      .where(eq(jobs.projectId, project.id));
    const swept = await app.dispatcher.sweep();
    expect(swept.unparked).toBe(1);
    expect((await app.getProject(project.id)).scenes[0]).toMatchObject({
      status: "extracting_frame",
      video_url: "https://cdn.test/stranded.mp4",
    });
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)(
    "a park and the record of its submission that each miss the other's commit: the record still applies the parked callback, with no timer",
    async () => {
      const project = await create(1);
      const [job] = await app.dispatcher.claimDueJobs(10);
      expect(job?.projectId).toBe(project.id);
      const taskId = "handshake-task";
      const url = process.env.DATABASE_URL!;
      const blocker = postgres(url, { max: 1, onnotice: () => {} });
      const watcher = postgres(url, { max: 1, onnotice: () => {} });
      try {
        // Another transaction holds the job row: the record's statement takes its snapshot,
        // then waits — so it cannot see the park that commits meanwhile by any plain read.
        let locked!: () => void;
        let release!: () => void;
        const isLocked = new Promise<void>((r) => {
          locked = r;
        });
        const released = new Promise<void>((r) => {
          release = r;
        });
        const held = blocker.begin(async (tx) => {
          await tx`select 1 from jobs where id = ${job!.id} for update`;
          locked();
          await released;
        });
        await isLocked;
        const recording = app.dispatcher.recordSubmission(job!, taskId, { status: 202 });
        await vi.waitFor(
          async () => {
            const [row] = await watcher<{ n: number }[]>`select count(*)::int as n
              from pg_stat_activity where datname = current_database()
              and wait_event_type = 'Lock' and query like '%response = coalesce(response%'`;
            expect(row?.n).toBe(1);
          },
          { timeout: 30_000, interval: 20 },
        );
        // The callback comes now: its task is not recorded yet (the record has not committed),
        // so it is parked — and its own second look cannot see the record either.
        const parked = await app.send("video-complete", {
          task_id: taskId,
          status: "completed",
          video_url: "https://cdn.test/handshake.mp4",
        });
        expect(parked.status).toBe(202);
        release();
        await held;
        await recording;
        // Applied by the record itself, once: no timer, no sweep.
        expect((await app.getProject(project.id)).scenes[0]).toMatchObject({
          status: "extracting_frame",
          video_url: "https://cdn.test/handshake.mp4",
        });
        const outcomes = await watcher<{ outcome: string }[]>`select outcome from webhook_events
          where task_id = ${taskId}`;
        expect(outcomes.map((r) => r.outcome)).toEqual(["applied"]);
        // The handshake row has served once the submission is recorded: the sweep drops it.
        await app.dispatcher.sweep();
        const [left] = await watcher<{ n: number }[]>`select count(*)::int as n
          from task_handshakes where task_id = ${taskId}`;
        expect(left?.n).toBe(0);
        await app.cancel(project.id); // its next job is not the next test's to claim
      } finally {
        await blocker.end();
        await watcher.end();
      }
    },
  );

  it("a callback by ref racing the record of its own submission never deadlocks with it", async () => {
    // Both transactions touch the project and the job: they must take the locks in one order.
    for (let i = 0; i < 10; i++) {
      const project = await create(1);
      const [job] = await app.dispatcher.claimDueJobs(10);
      expect(job?.projectId).toBe(project.id);
      const taskId = `race-${i}`;
      const callbackUrl = `http://127.0.0.1:3999/api/webhooks/video-complete?ref=${job!.id}`;
      const signed = new URL(callbackUrl);
      const { signRef } = await import("@/lib/services/signing");
      signed.searchParams.set("sig", signRef("test-video-secret", job!.id));
      const [answer] = await Promise.all([
        app.send(
          "video-complete",
          { task_id: taskId, status: "completed", video_url: `https://cdn.test/${taskId}.mp4` },
          signed.toString(),
        ),
        app.dispatcher.recordSubmission(job!, taskId, { status: 202 }),
      ]);
      expect(answer.status).toBe(200);
      const state = await app.getProject(project.id);
      expect(state.scenes[0]).toMatchObject({
        status: "extracting_frame",
        video_url: `https://cdn.test/${taskId}.mp4`,
      });
      await app.cancel(project.id);
    }
  });

  it("submissions that finish in one turn are recorded in one statement, two of one task in two, each parked callback applied", async () => {
    const { statementCount } = await import("@/lib/db/client");
    const projects = [await create(1), await create(1), await create(1)];
    const claimed = await app.dispatcher.claimDueJobs(10);
    expect(claimed.map((j) => j.projectId).sort()).toEqual(projects.map((p) => p.id).sort());
    const taskOf = (i: number) => `turn-task-${i}`;
    // The second job's callback came first: parked until its task is recorded.
    const parkedIndex = 1;
    const early = await app.send("video-complete", {
      task_id: taskOf(parkedIndex),
      status: "completed",
      video_url: "https://cdn.test/turn-early.mp4",
    });
    expect(early.status).toBe(202);

    const before = statementCount();
    await Promise.all(
      claimed.map((job, i) => app.dispatcher.recordSubmission(job, taskOf(i), { status: 202 })),
    );
    // One record for the three; applying the parked callback then costs its own three
    // (finding it, the load, the write).
    expect(statementCount() - before).toBe(1 + 3);
    for (const [i, job] of claimed.entries()) {
      const state = await app.getProject(job.projectId);
      expect(state.scenes[0]!.status).toBe(
        i === parkedIndex ? "extracting_frame" : "generating_video",
      );
      const { jobs } = app.schema;
      const [row] = await app.db.select().from(jobs).where(eq(jobs.id, job.id));
      expect(row).toMatchObject({
        status: i === parkedIndex ? "succeeded" : "waiting",
        externalTaskId: taskOf(i),
      });
    }
    for (const project of projects) await app.cancel(project.id);

    // A service that answers two jobs with one task id: recorded one after the other.
    const pair = [await create(1), await create(1)];
    const two = await app.dispatcher.claimDueJobs(10);
    expect(two).toHaveLength(2);
    const beforePair = statementCount();
    await Promise.all(two.map((job) => app.dispatcher.recordSubmission(job, "shared-task", {})));
    expect(statementCount() - beforePair).toBe(2);
    for (const job of two) {
      const { jobs } = app.schema;
      const [row] = await app.db.select().from(jobs).where(eq(jobs.id, job.id));
      expect(row).toMatchObject({ status: "waiting", externalTaskId: "shared-task" });
    }
    for (const project of pair) await app.cancel(project.id);
  });
});
