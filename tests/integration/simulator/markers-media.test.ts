import { describe, expect, it, vi } from "vitest";
import { type Json, type Received, receiverPerFile, simulatorCaller, waitFor } from "./harness";

/** Prompt markers, the media cards, the notification endpoint and the request log. */
process.env.SIMULATOR_DELAY_MS = "20";
process.env.SIMULATOR_PROGRESS_STEPS = "1";
vi.resetModules();
const route = await import("@/app/api/simulator/[...path]/route");
const { resetSimulator } = await import("@/simulator/router");

const APP = "http://127.0.0.1:3999";
const receiver = receiverPerFile(resetSimulator);

const call = simulatorCaller(route, APP);

let jobs = 0;
async function submit(
  prompt: string,
  sceneId: string,
  options: { sceneNumber?: number; jobId?: string } = {},
) {
  const jobId = options.jobId ?? `job_m${++jobs}`;
  return call(
    "POST",
    "video/api/v1/tasks/submit",
    {
      project_id: "prj_markers",
      task_type: "generate_video",
      task_data: {
        scene_id: sceneId,
        scene_number: options.sceneNumber ?? 1,
        prompt,
        start_image_url: null,
        duration: 5,
      },
      priority: 2,
      callback_url: receiver.callbackUrl("video-complete", jobId),
      metadata: { project_id: "prj_markers", scene_id: sceneId, job_id: jobId },
    },
    { "idempotency-key": jobId },
  );
}

const terminal = async (taskId: string): Promise<Received> =>
  waitFor(
    () =>
      receiver
        .forTask(taskId)
        .find((r) => r.body.status === "completed" || r.body.status === "failed"),
    `task ${taskId}`,
  );

describe("prompt markers", () => {
  it("[fail] fails every attempt of the scene", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { json } = await submit("A storm [fail]", "scn_fail");
      expect((await terminal(json.task_id)).body).toMatchObject({
        status: "failed",
        error: expect.stringContaining("[fail]"),
      });
    }
  });

  it("[fail-once] fails the scene's first attempt only", async () => {
    const first = await submit("A storm [FAIL-ONCE]", "scn_once");
    expect((await terminal(first.json.task_id)).body.status).toBe("failed");
    const second = await submit("A storm [fail-once]", "scn_once");
    expect((await terminal(second.json.task_id)).body.status).toBe("completed");
    const otherScene = await submit("A storm [fail-once]", "scn_once_other");
    expect((await terminal(otherScene.json.task_id)).body.status).toBe("failed");
  });

  it("[silent] never calls back", async () => {
    const silent = await submit("Quiet [silent]", "scn_silent");
    expect(silent.status).toBe(202);
    const marker = await submit("Loud", "scn_loud");
    await terminal(marker.json.task_id);
    expect(receiver.forTask(silent.json.task_id)).toEqual([]);
  });

  it("[flaky] answers 503 twice to the same job, then accepts it once", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await submit("Wobbly [flaky]", "scn_flaky", { jobId: "job_flaky" });
      statuses.push(response.status);
      if (response.status === 503) expect(response.headers.get("retry-after")).toBe("1");
    }
    expect(statuses).toEqual([503, 503, 202, 202]);
    const log = (await call("GET", "requests")).json;
    expect(log.counts.video).toMatchObject({ unavailable: 2, accepted: 1, replayed: 1 });
  });

  it("[slow] multiplies the delay by five", async () => {
    await submit("Snail [slow]", "scn_slow");
    await submit("Hare", "scn_fast");
    const log = (await call("GET", "requests")).json;
    expect(
      log.submissions.map((s: { scene_id: string; delay_ms: number }) => [s.scene_id, s.delay_ms]),
    ).toEqual([
      ["scn_slow", 100],
      ["scn_fast", 20],
    ]);
  });
});

describe("media", () => {
  const path = (url: string) => new URL(url).pathname.replace("/api/simulator/", "");
  const url = (body: Record<string, Json>, field: string) =>
    (body[field] ?? body.result?.[field]) as string;

  it("draws the scene number and the escaped prompt on SVG cards, one colour per scene", async () => {
    const prompt = `<script>alert("x")</script> & the 'sea'`;
    const three = await submit(prompt, "scn_m3", { sceneNumber: 3 });
    const four = await submit("Calm", "scn_m4", { sceneNumber: 4 });
    const done = (await terminal(three.json.task_id)).body;
    expect(url(done, "thumbnail_url").startsWith(`${APP}/api/simulator/media/`)).toBe(true);

    const thumbnail = await call("GET", path(url(done, "thumbnail_url")));
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(thumbnail.headers.get("x-content-type-options")).toBe("nosniff");
    expect(thumbnail.text.startsWith("<svg")).toBe(true);
    expect(thumbnail.text).toContain("Scene 3");
    expect(thumbnail.text).not.toContain("<script");
    expect(thumbnail.text).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; the &apos;sea&apos;",
    );

    const fill = (svg: string) => /stop-color="(hsl\([^"]+\))"/.exec(svg)?.[1];
    const other = await call("GET", `media/${four.json.task_id}/thumbnail.svg`);
    expect(other.text).toContain("Scene 4");
    expect(fill(other.text)).toBeDefined();
    expect(fill(other.text)).not.toBe(fill(thumbnail.text));

    // The last frame of scene 3's video shows scene 3, and so does the stitched video's poster.
    const frame = await call("POST", "last-frame/api/v1/process", {
      video_url: url(done, "video_url"),
      webhook_url: receiver.callbackUrl("last-frame-complete", "job_frame"),
    });
    const frameDone = (await terminal(frame.json.task_id)).body;
    const frameCard = await call(
      "GET",
      path((frameDone.last_frame_url ?? frameDone.image_url) as string),
    );
    expect(frameCard.text).toContain("Scene 3");
    expect(frameCard.text).toContain("last frame");
    expect(frameCard.text).not.toContain("<script");

    const stitch = await call("POST", "stitch/api/v1/stitch", {
      video_urls: [url(done, "video_url"), "https://videos.example.com/external.mp4"],
      webhook_url: receiver.callbackUrl("stitch-complete", "job_stitch"),
    });
    await terminal(stitch.json.task_id);
    const poster = await call("GET", `media/${stitch.json.task_id}/poster.svg`);
    // The poster is the stitched video's first frame: its first scene's card, with every scene's colour below.
    expect(poster.text).toContain("Scene 3");
    expect(poster.text).toContain("final video · 2 scenes");
    expect(poster.text).toContain("&lt;script&gt;");
    expect(poster.text).not.toContain("<script");
    expect(fill(poster.text)).toBe(fill(thumbnail.text));
  });

  it("renders each take of a scene apart: its number and its prompt's hash on every card and clip (issue 15)", async () => {
    const first = await submit("A lighthouse", "scn_takes", { sceneNumber: 2 });
    const again = await submit("A lighthouse", "scn_takes", { sceneNumber: 2 });
    const reworded = await submit("A lighthouse in fog", "scn_takes", { sceneNumber: 2 });
    const card = async (taskId: string) =>
      (await call("GET", `media/${taskId}/thumbnail.svg`)).text;
    const label = (svg: string) => /take \d+ · #[0-9a-f]{4}/.exec(svg)?.[0];
    const [one, two, three] = await Promise.all(
      [first, again, reworded].map((r) => card(r.json.task_id)),
    );
    expect(label(one!)).toMatch(/^take 1 /);
    expect(label(two!)).toMatch(/^take 2 /);
    expect(label(three!)).toMatch(/^take 3 /);
    // The same prompt hashes alike, another prompt not.
    expect(label(two!)!.slice(-5)).toBe(label(one!)!.slice(-5));
    expect(label(three!)!.slice(-5)).not.toBe(label(one!)!.slice(-5));
    // A last frame of the second take says so; the clips differ too.
    const frame = await call("POST", "last-frame/api/v1/process", {
      video_url: `${APP}/api/simulator/media/${again.json.task_id}/video.mp4`,
      webhook_url: receiver.callbackUrl("last-frame-complete", "job_take_frame"),
    });
    expect(label((await call("GET", `media/${frame.json.task_id}/last-frame.svg`)).text)).toBe(
      label(two!),
    );
    const clip = async (taskId: string) => (await call("GET", `media/${taskId}/video.mp4`)).bytes;
    expect(await clip(first.json.task_id)).not.toEqual(await clip(again.json.task_id));
  });

  it("serves videos as MP4 files, whole or by byte range", async () => {
    const { json } = await submit("A lighthouse", "scn_v", { sceneNumber: 2 });
    const done = (await terminal(json.task_id)).body;
    const videoUrl = url(done, "video_url");
    expect(videoUrl).toMatch(/\/video\.mp4$/);

    const whole = await call("GET", path(videoUrl));
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("video/mp4");
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(new TextDecoder().decode(whole.bytes.subarray(4, 8))).toBe("ftyp");

    const part = await call("GET", path(videoUrl), undefined, { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${whole.bytes.length}`);
    expect(part.bytes).toEqual(whole.bytes.subarray(100, 200));

    const tail = await call("GET", path(videoUrl), undefined, { range: "bytes=-10" });
    expect(tail.bytes).toEqual(whole.bytes.subarray(whole.bytes.length - 10));
    const beyond = await call("GET", path(videoUrl), undefined, {
      range: `bytes=${whole.bytes.length}-`,
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${whole.bytes.length}`);
  });

  it("serves neutral media for an unknown task and 404 for a file name it never hands out", async () => {
    const unknown = await call("GET", "media/no-such-task/thumbnail.svg");
    expect(unknown.status).toBe(200);
    expect(unknown.headers.get("cache-control")).toBe("no-store");
    expect(unknown.text).toContain("no-such-task");
    expect((await call("GET", "media/no-such-task/video.mp4")).headers.get("content-type")).toBe(
      "video/mp4",
    );
    expect((await call("GET", "media/no-such-task/movie.svg")).status).toBe(404);
    expect((await call("GET", "media/no-such-task/video.svg")).status).toBe(404);
    expect((await call("GET", "media/no-such-task/thumbnail.mp4")).status).toBe(404);
  });
});

describe("notifications and the request log", () => {
  it("accepts a contract notification and lists it; rejects a bad one", async () => {
    const body = {
      type: "project_completed",
      project_id: "prj_n",
      project_name: "Demo",
      video_url: "https://videos.example.com/final.mp4",
      error: null,
      timestamp: new Date().toISOString(),
    };
    const ok = await call("POST", "notify", body, { "x-api-key": "k", "idempotency-key": "job_n" });
    expect(ok.status).toBe(200);
    expect((await call("POST", "notify", { ...body, type: "project_exploded" })).status).toBe(400);
    const log = (await call("GET", "requests")).json;
    expect(log.counts.notify).toMatchObject({ received: 2, accepted: 1, invalid: 1 });
    expect(log.notifications).toEqual([
      expect.objectContaining({ type: "project_completed", project_id: "prj_n" }),
    ]);
  });

  it("lists accepted submissions with their ids and clears on DELETE", async () => {
    const { json } = await submit("Log me", "scn_log", { jobId: "job_log" });
    const log = (await call("GET", "requests")).json;
    expect(log.submissions).toEqual([
      expect.objectContaining({
        service: "video",
        task_id: json.task_id,
        job_id: "job_log",
        idempotency_key: "job_log",
        scene_id: "scn_log",
        project_id: "prj_markers",
        start_image_url: null,
        video_urls: [],
      }),
    ]);
    expect((await call("DELETE", "requests")).status).toBe(204);
    expect((await call("GET", "requests")).json).toMatchObject({
      submissions: [],
      counts: { video: { accepted: 0 } },
    });
  });

  it("answers 404 to unknown paths and 405 to a wrong method", async () => {
    expect((await call("GET", "video/api/v2/whatever")).status).toBe(404);
    const wrong = await call("GET", "video/api/v1/tasks/submit");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });
});
