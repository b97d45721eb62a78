import { describe, expect, it, vi } from "vitest";
import {
  expectedSignature,
  type Json,
  type Received,
  receiverPerFile,
  simulatorCaller,
  waitFor,
} from "./harness";

/**
 * The built-in simulator through its real route handler, with a real HTTP server on
 * 127.0.0.1 receiving its callbacks. Delays are small so that runs stay short.
 */
process.env.SIMULATOR_DELAY_MS = "30";
process.env.SIMULATOR_PROGRESS_STEPS = "2";
vi.resetModules();
const route = await import("@/app/api/simulator/[...path]/route");
const { resetSimulator } = await import("@/simulator/router");
const { verifyCallback } = await import("@/lib/webhooks/verify");
const { parseCallback } = await import("@/lib/webhooks/payloads");
const { STAGES } = await import("@/lib/webhooks/stages");

type Stage = "video-complete" | "last-frame-complete" | "stitch-complete";
const APP = "http://127.0.0.1:3999";

const receiver = receiverPerFile(resetSimulator);

const call = simulatorCaller(route, APP);
const configure = (knobs: Record<string, unknown>) => call("POST", "config", knobs);

let counter = 0;
function videoBody(
  overrides: { prompt?: string; sceneId?: string; sceneNumber?: number; jobId?: string } = {},
) {
  const jobId = overrides.jobId ?? `job_test${++counter}`;
  const sceneId = overrides.sceneId ?? `scn_test${counter}`;
  return {
    jobId,
    body: {
      project_id: "prj_test1",
      task_type: "generate_video",
      task_data: {
        scene_id: sceneId,
        scene_number: overrides.sceneNumber ?? 1,
        prompt: overrides.prompt ?? "A lighthouse at dawn",
        start_image_url: "https://images.example.com/start.png",
        duration: 5,
      },
      priority: 2,
      callback_url: receiver.callbackUrl("video-complete", jobId),
      metadata: { project_id: "prj_test1", scene_id: sceneId, job_id: jobId },
    },
  };
}

async function submitVideo(overrides: Parameters<typeof videoBody>[0] = {}, key?: string) {
  const { jobId, body } = videoBody(overrides);
  const response = await call("POST", "video/api/v1/tasks/submit", body, {
    "idempotency-key": key ?? jobId,
    "x-api-key": "test-key",
  });
  return { ...response, jobId, body };
}

const terminal = (r: Received) => r.body.status === "completed" || r.body.status === "failed";
const waitForTerminal = (taskId: string) =>
  waitFor(() => receiver.forTask(taskId).find(terminal), `the terminal callback of ${taskId}`);

/** Every callback is signed over its exact bytes with the stage's first secret, and parses as the app parses it. */
function expectSignedAndParsable(stage: Stage, callback: Received) {
  const secret = STAGES[stage].secrets()![0]!;
  expect(callback.path).toBe(`/api/webhooks/${stage}`);
  expect(callback.headers["x-webhook-signature"]).toBe(expectedSignature(secret, callback.raw));
  const verified = verifyCallback(stage, {
    headers: new Headers(callback.headers),
    body: new TextEncoder().encode(callback.raw),
    url: callback.url,
  });
  expect(verified).toMatchObject({ ok: true, scheme: "hex" });
  const parsed = parseCallback(stage, callback.body);
  if (!parsed.ok) throw new Error(`callback does not parse: ${JSON.stringify(parsed.issues)}`);
  return parsed.callback;
}

describe("video service", () => {
  it.each(["documented", "service"] as const)(
    "answers a contract submission and calls back progress then completion (%s shape)",
    async (shape) => {
      await configure({ payload_shape: shape });
      const { status, json, jobId, body } = await submitVideo({ sceneNumber: 3 });
      expect(status).toBe(202);
      expect(json).toMatchObject({ status: "queued", task_id: expect.any(String) });
      const taskId = json.task_id as string;

      await waitForTerminal(taskId);
      const callbacks = receiver.forTask(taskId);
      expect(callbacks.map((c) => c.body.status)).toEqual([
        "processing",
        "processing",
        "completed",
      ]);
      for (const c of callbacks) expect(c.url.searchParams.get("ref")).toBe(jobId);

      const parsed = callbacks.map((c) => expectSignedAndParsable("video-complete", c));
      expect(parsed.map((p) => p.progress)).toEqual([33, 67, null]);
      const done = parsed[2]!;
      expect(done).toMatchObject({
        kind: "completed",
        taskId,
        sceneId: body.task_data.scene_id,
        projectId: "prj_test1",
      });
      expect(done.result.videoUrl).toBe(
        `${APP}/api/simulator/media/${encodeURIComponent(taskId)}/video.mp4`,
      );
      expect(done.result.thumbnailUrl).toMatch(
        new RegExp(`^${APP}/api/simulator/media/.+/thumbnail\\.svg$`),
      );

      const completed = callbacks[2]!.body as Json;
      if (shape === "documented") {
        expect(completed).toMatchObject({
          scene_id: body.task_data.scene_id,
          project_id: "prj_test1",
          video_url: done.result.videoUrl,
        });
        expect(completed.result).toBeUndefined();
      } else {
        expect(completed.result.video_url).toBe(done.result.videoUrl);
        expect(completed.video_url).toBeUndefined();
        expect(completed.metadata).toEqual(body.metadata);
      }
    },
  );

  it("mixes both shapes across tasks by default", async () => {
    const shapes = new Set<string>();
    for (let i = 0; i < 40 && shapes.size < 2; i++) {
      const { json } = await submitVideo();
      shapes.add(json.task_id.startsWith("task_") ? "documented" : "service");
    }
    expect(shapes).toEqual(new Set(["documented", "service"]));
  });

  it("replays the same task for the same Idempotency-Key and calls back only once", async () => {
    const first = await submitVideo({}, "job_same_key");
    const { body } = videoBody({ jobId: "job_same_key" });
    const again = await call("POST", "video/api/v1/tasks/submit", body, {
      "idempotency-key": "job_same_key",
    });
    expect(again.status).toBe(202);
    expect(again.json.task_id).toBe(first.json.task_id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    await waitForTerminal(first.json.task_id);
    // A marker task submitted afterwards: once its callbacks are in, a second sequence would have been too.
    const marker = await submitVideo();
    await waitForTerminal(marker.json.task_id);
    await waitFor(
      () => receiver.forTask(marker.json.task_id).length === 3,
      "the marker's callbacks",
    );
    expect(receiver.forTask(first.json.task_id).map((c) => c.body.status)).toEqual([
      "processing",
      "processing",
      "completed",
    ]);

    const log = await call("GET", "requests");
    expect(log.json.counts.video).toMatchObject({ received: 3, accepted: 2, replayed: 1 });
    expect(
      log.json.submissions.filter((s: { task_id: string }) => s.task_id === first.json.task_id),
    ).toHaveLength(1);
  });

  it.each([
    ["a missing prompt", (b: Json) => delete b.task_data.prompt, "task_data.prompt"],
    ["a wrong task_type", (b: Json) => (b.task_type = "make_video"), "task_type"],
    [
      "a javascript: callback URL",
      (b: Json) => (b.callback_url = "javascript:alert(1)"),
      "callback_url",
    ],
    [
      "a relative start image",
      (b: Json) => (b.task_data.start_image_url = "/img.png"),
      "task_data.start_image_url",
    ],
  ])("answers 400 with the issues for %s", async (_what, mutate, path) => {
    const { body } = videoBody();
    mutate(body);
    const response = await call("POST", "video/api/v1/tasks/submit", body, {
      "idempotency-key": "job_bad",
    });
    expect(response.status).toBe(400);
    expect(response.json.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path })]),
    );
    expect((await call("GET", "requests")).json.counts.video).toMatchObject({
      invalid: 1,
      accepted: 0,
    });
  });

  it("answers 400 to a body that is not JSON", async () => {
    const response = await call("POST", "video/api/v1/tasks/submit", "{not json");
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(/JSON/);
  });
});

describe("last-frame and stitch services", () => {
  it.each(["documented", "service"] as const)(
    "extract and stitch what the video service produced (%s shape)",
    async (shape) => {
      await configure({ payload_shape: shape });
      const videos: string[] = [];
      for (const sceneNumber of [1, 2]) {
        const { json } = await submitVideo({ sceneNumber, sceneId: `scn_ls${sceneNumber}` });
        const done = await waitForTerminal(json.task_id);
        videos.push(expectSignedAndParsable("video-complete", done).result.videoUrl!);
      }

      const frame = await call(
        "POST",
        "last-frame/api/v1/process",
        {
          video_url: videos[1],
          webhook_url: receiver.callbackUrl("last-frame-complete", "job_lf"),
        },
        { "idempotency-key": "job_lf", authorization: "Bearer k" },
      );
      expect(frame.status).toBe(202);
      expect(frame.json).toMatchObject({ status: "pending", task_id: expect.any(String) });
      const frameDone = await waitForTerminal(frame.json.task_id);
      expect(receiver.forTask(frame.json.task_id)).toHaveLength(1); // no progress callbacks from this service
      const frameParsed = expectSignedAndParsable("last-frame-complete", frameDone);
      expect(frameParsed.kind).toBe("completed");
      expect(frameParsed.result.lastFrameUrl).toMatch(
        new RegExp(`^${APP}/api/simulator/media/.+/last-frame\\.svg$`),
      );
      if (shape === "documented") {
        // Our ids, learnt from the video task that produced the video, never invented ones.
        expect(frameDone.body).toMatchObject({
          last_frame_url: frameParsed.result.lastFrameUrl,
          scene_id: "scn_ls2",
          project_id: "prj_test1",
        });
      } else {
        expect(frameDone.body.image_url).toBe(frameParsed.result.lastFrameUrl);
        expect(frameDone.body.scene_id).toBeUndefined();
      }

      const stitch = await call(
        "POST",
        "stitch/api/v1/stitch",
        { video_urls: videos, webhook_url: receiver.callbackUrl("stitch-complete", "job_st") },
        { "idempotency-key": "job_st" },
      );
      expect(stitch.status).toBe(202);
      const stitchDone = await waitForTerminal(stitch.json.task_id);
      const stitchParsed = expectSignedAndParsable("stitch-complete", stitchDone); // whsec_ secret: decoded key bytes
      expect(stitchParsed.result.finalVideoUrl).toMatch(
        new RegExp(`^${APP}/api/simulator/media/.+/final\\.mp4$`),
      );
      expect(stitchDone.body[shape === "documented" ? "final_video_url" : "video_result_url"]).toBe(
        stitchParsed.result.finalVideoUrl,
      );
      if (shape === "documented")
        expect(stitchDone.body).toMatchObject({ project_id: "prj_test1", total_scenes: 2 });

      const log = await call("GET", "requests");
      const stitched = log.json.submissions.find(
        (s: { task_id: string }) => s.task_id === stitch.json.task_id,
      );
      expect(stitched).toMatchObject({
        service: "stitch",
        job_id: "job_st",
        idempotency_key: "job_st",
        video_urls: videos,
      });
    },
  );

  it("answers 400 to non-http video URLs and an empty stitch list", async () => {
    const webhook_url = receiver.callbackUrl("last-frame-complete", "job_x");
    expect(
      (
        await call("POST", "last-frame/api/v1/process", {
          video_url: "data:video/mp4;base64,AA",
          webhook_url,
        })
      ).status,
    ).toBe(400);
    expect(
      (await call("POST", "stitch/api/v1/stitch", { video_urls: [], webhook_url })).status,
    ).toBe(400);
    expect(
      (await call("POST", "stitch/api/v1/stitch", { video_urls: ["ftp://x/y.mp4"], webhook_url }))
        .status,
    ).toBe(400);
  });
});

describe("knobs", () => {
  it("failure rate 1: the terminal callback is `failed` with an error, in either shape", async () => {
    await configure({ failure_rate: 1 });
    for (const shape of ["documented", "service"]) {
      await configure({ payload_shape: shape });
      const { json } = await submitVideo();
      const done = await waitForTerminal(json.task_id);
      const parsed = expectSignedAndParsable("video-complete", done);
      expect(parsed).toMatchObject({
        kind: "failed",
        error: expect.stringMatching(/Simulated failure/),
      });
    }
    const frame = await call("POST", "last-frame/api/v1/process", {
      video_url: "https://videos.example.com/a.mp4",
      webhook_url: receiver.callbackUrl("last-frame-complete", "job_f"),
    });
    expect(
      expectSignedAndParsable("last-frame-complete", await waitForTerminal(frame.json.task_id))
        .kind,
    ).toBe("failed");
  });

  it("silence rate 1: a task never calls back", async () => {
    await configure({ silence_rate: 1 });
    const silent = await submitVideo();
    expect(silent.status).toBe(202);
    await configure({ silence_rate: 0 });
    const marker = await submitVideo();
    await waitForTerminal(marker.json.task_id);
    expect(receiver.forTask(silent.json.task_id)).toEqual([]);
    expect((await call("GET", "requests")).json.submissions[0]).toMatchObject({
      task_id: silent.json.task_id,
      outcome: "silent",
    });
  });

  it("duplicate rate 1: every callback arrives twice, byte for byte", async () => {
    await configure({ duplicate_rate: 1 });
    const { json } = await submitVideo();
    await waitFor(() => receiver.forTask(json.task_id).length === 6, "six deliveries");
    const raws = receiver.forTask(json.task_id).map((c) => c.raw);
    expect(raws[0]).toBe(raws[1]);
    expect(raws[2]).toBe(raws[3]);
    expect(raws[4]).toBe(raws[5]);
    expect(new Set(raws).size).toBe(3);
    expect((await call("GET", "requests")).json.callbacks.duplicated).toBe(3);
  });

  it("shuffle: a task's callbacks arrive in another order than processing → completed", async () => {
    await configure({ shuffle: true });
    const { json } = await submitVideo();
    await waitFor(() => receiver.forTask(json.task_id).length === 3, "three callbacks");
    const order = receiver
      .forTask(json.task_id)
      .map((c) => `${c.body.status}:${c.body.progress ?? ""}`);
    expect(order).not.toEqual(["processing:33", "processing:67", "completed:"]);
    expect([...order].sort()).toEqual(["completed:", "processing:33", "processing:67"]);
  });

  it("unavailable rate 1: submissions are answered 503 with Retry-After and create no task", async () => {
    await configure({ unavailable_rate: 1 });
    const response = await submitVideo();
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect((await call("GET", "requests")).json).toMatchObject({
      submissions: [],
      counts: { video: { unavailable: 1, accepted: 0 } },
    });
  });

  it("early callback rate 1: the completed callback arrives before the submission is answered", async () => {
    await configure({ early_callback_rate: 1, delay_ms: 60_000 });
    const { json } = await submitVideo();
    const already = receiver.forTask(json.task_id);
    expect(already.map((c) => c.body.status)).toEqual(["completed"]);
    expectSignedAndParsable("video-complete", already[0]!);
  });

  it("config: merges overrides, rejects unknown or out-of-range knobs, null and DELETE restore settings", async () => {
    expect((await call("GET", "config")).json).toMatchObject({
      delay_ms: 30,
      progress_steps: 2,
      failure_rate: 0,
      payload_shape: "mixed",
    });
    expect((await configure({ failure_rate: 0.5 })).json).toMatchObject({
      failure_rate: 0.5,
      delay_ms: 30,
    });
    expect((await configure({ delay_ms: 5 })).json).toMatchObject({
      failure_rate: 0.5,
      delay_ms: 5,
    });
    expect((await configure({ failure_rate: 2 })).status).toBe(400);
    expect((await configure({ colour: "red" })).status).toBe(400);
    expect((await configure({ failure_rate: null })).json).toMatchObject({
      failure_rate: 0,
      delay_ms: 5,
    });
    expect((await call("DELETE", "config")).json).toMatchObject({ delay_ms: 30 });
  });
});

describe("callback delivery", () => {
  it("retries on 503 and 429 with backoff, then stops at the 2xx", async () => {
    await configure({ progress_steps: 0 });
    receiver.answers.push(503, 429);
    const { json } = await submitVideo();
    await waitFor(() => receiver.forTask(json.task_id).length === 3, "three attempts");
    const raws = receiver.forTask(json.task_id).map((c) => c.raw);
    expect(new Set(raws).size).toBe(1);
    const counts = await waitFor(async () => {
      const c = (await call("GET", "requests")).json.callbacks;
      return c.delivered === 1 ? c : undefined;
    }, "the delivery to be counted");
    expect(counts).toMatchObject({ sent: 1, retried: 2, delivered: 1, gave_up: 0 });
  });

  it("does not retry a 4xx answer", async () => {
    await configure({ progress_steps: 0 });
    receiver.answers.push(409);
    const { json } = await submitVideo();
    await waitForTerminal(json.task_id);
    const marker = await submitVideo();
    await waitForTerminal(marker.json.task_id);
    expect(receiver.forTask(json.task_id)).toHaveLength(1);
    expect((await call("GET", "requests")).json.callbacks).toMatchObject({
      rejected: 1,
      retried: 0,
    });
  });

  it("retries an unreachable endpoint a few times, then gives up", async () => {
    await configure({ progress_steps: 0, delay_ms: 0 });
    const { body } = videoBody();
    body.callback_url = "http://127.0.0.1:9/api/webhooks/video-complete?ref=job_gone"; // discard port: refused
    expect((await call("POST", "video/api/v1/tasks/submit", body)).status).toBe(202);
    const counts = await waitFor(
      async () => {
        const c = (await call("GET", "requests")).json.callbacks;
        return c.gave_up === 1 ? c : undefined;
      },
      "giving up",
      20_000,
    );
    expect(counts).toMatchObject({ sent: 1, retried: 4, delivered: 0 });
  });
});
