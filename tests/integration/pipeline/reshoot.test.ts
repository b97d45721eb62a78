import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runAfterResponse } from "../../helpers/after";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, completionFor, drive, loadApp } from "../../helpers/pipeline-driver";

/**
 * CONTRACT §7 through the real route handlers, the dispatcher and a real database, against
 * the loopback stand-ins: re-shoots (scope following / scene), takes, select-take, late
 * callbacks of a replaced take, and independent scenes generated in parallel.
 */

let services: FakeServices;
let app: App;
type Routes = {
  regenerate: typeof import("@/app/api/v1/projects/[id]/scenes/[number]/regenerate/route");
  selectTake: typeof import("@/app/api/v1/projects/[id]/scenes/[number]/select-take/route");
};
let routes: Routes;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, { MAX_PARALLEL_SCENES: "3" });
  app = await loadApp();
  routes = {
    regenerate: await import("@/app/api/v1/projects/[id]/scenes/[number]/regenerate/route"),
    selectTake: await import("@/app/api/v1/projects/[id]/scenes/[number]/select-take/route"),
  };
});
afterAll(() => services.close());
beforeEach(() => {
  services.requests.length = 0;
});

type SceneView = {
  number: number;
  prompt: string;
  status: string;
  video_url: string | null;
  last_frame_url: string | null;
  start_image_url: string | null;
  selected_take: number | null;
  takes: { take: number; prompt: string; video_url: string }[];
};
type ProjectView = {
  id: string;
  status: string;
  final_video_url: string | null;
  final_videos: { url: string }[];
  scenes: SceneView[];
};

const sceneCtx = (id: string, number: number) => ({
  params: Promise.resolve({ id, number: String(number) }),
});
const post = (body: unknown) =>
  new Request("http://127.0.0.1:3999/x", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function completedProject(scenes: number, continuity = "chain"): Promise<ProjectView> {
  const created = await app.createProject({
    name: `reshoot ${scenes}`,
    scenes: Array.from({ length: scenes }, (_, i) => ({ prompt: `scene ${i + 1}`, duration: 4 })),
    start_image_url: "https://img.test/start.png",
    continuity,
    autostart: true,
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  await drive(app, services);
  const project = (await app.getProject(id)) as ProjectView;
  expect(project.status).toBe("completed");
  return project;
}

const videoRequests = () =>
  services.requests.filter((r) => r.path === "/video/api/v1/tasks/submit" && r.taskId);
const stitchRequests = () =>
  services.requests.filter((r) => r.path === "/stitch/api/v1/stitch" && r.taskId);

describe("re-shooting a scene", () => {
  it("scope following: scenes 2-4 again, scene 3 from scene 2's new last frame, one new stitch in order, scene 1 untouched", async () => {
    const before = await completedProject(4);
    services.requests.length = 0;
    const answer = await routes.regenerate.POST(
      post({ prompt: "scene 2, at dusk", scope: "following" }),
      sceneCtx(before.id, 2),
    );
    expect(answer.status).toBe(202);
    expect(((await answer.json()) as ProjectView).status).toBe("generating");
    await drive(app, services);

    const after = (await app.getProject(before.id)) as ProjectView;
    expect(after.status).toBe("completed");
    const videos = videoRequests();
    expect(videos.map((r) => (r.body.task_data as { scene_number: number }).scene_number)).toEqual([
      2, 3, 4,
    ]);
    expect((videos[0]!.body.task_data as { prompt: string }).prompt).toBe("scene 2, at dusk");
    expect((videos[0]!.body.task_data as { start_image_url: string }).start_image_url).toBe(
      before.scenes[0]!.last_frame_url,
    );
    expect((videos[1]!.body.task_data as { start_image_url: string }).start_image_url).toBe(
      after.scenes[1]!.last_frame_url,
    );
    expect(after.scenes[1]!.last_frame_url).not.toBe(before.scenes[1]!.last_frame_url);
    const stitches = stitchRequests();
    expect(stitches).toHaveLength(1);
    expect(stitches[0]!.body.video_urls).toEqual(after.scenes.map((s) => s.video_url));
    expect(after.scenes[0]).toEqual(before.scenes[0]);
    expect(after.scenes[1]!.takes.map((t) => t.take)).toEqual([1, 2]);
    expect(after.scenes[1]!.selected_take).toBe(2);
    expect(after.scenes[1]!.prompt).toBe("scene 2, at dusk");
    expect(after.final_videos.map((f) => f.url)).toEqual([
      before.final_video_url,
      after.final_video_url,
    ]);
    expect(after.final_video_url).not.toBe(before.final_video_url);
  });

  it("scope scene: only scene 2, then a stitch", async () => {
    const before = await completedProject(4);
    services.requests.length = 0;
    const answer = await routes.regenerate.POST(post({ scope: "scene" }), sceneCtx(before.id, 2));
    expect(answer.status).toBe(202);
    await drive(app, services);
    const after = (await app.getProject(before.id)) as ProjectView;
    expect(after.status).toBe("completed");
    expect(
      videoRequests().map((r) => (r.body.task_data as { scene_number: number }).scene_number),
    ).toEqual([2]);
    expect(stitchRequests()).toHaveLength(1);
    expect(after.scenes[2]).toEqual(before.scenes[2]);
  });

  it("409 while the project runs; 404 for a scene it does not have", async () => {
    const created = await app.createProject({
      name: "running",
      scenes: [{ prompt: "one", duration: 4 }],
      autostart: true,
    });
    const { id } = (await created.json()) as { id: string };
    expect((await routes.regenerate.POST(post({}), sceneCtx(id, 1))).status).toBe(409);
    expect((await routes.regenerate.POST(post({}), sceneCtx(id, 7))).status).toBe(404);
    await app.cancel(id);
  });

  it("a late callback of the replaced take changes nothing", async () => {
    const before = await completedProject(2);
    const firstVideo = services.requests.find(
      (r) =>
        r.path === "/video/api/v1/tasks/submit" &&
        r.taskId &&
        JSON.stringify(r.body).includes(before.id),
    )!;
    services.requests.length = 0;
    await routes.regenerate.POST(post({ scope: "scene" }), sceneCtx(before.id, 1));
    await runAfterResponse(); // the new take's request goes out
    const late = completionFor(firstVideo);
    const answer = await app.send(
      late.stage,
      { ...late.body, video_url: "https://cdn.test/late.mp4" },
      late.url,
    );
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ received: true });
    const during = (await app.getProject(before.id)) as ProjectView;
    expect(during.scenes[0]!.status).toBe("generating_video");
    expect(during.scenes[0]!.video_url).toBeNull();
    await drive(app, services);
    const after = (await app.getProject(before.id)) as ProjectView;
    expect(after.scenes[0]!.video_url).not.toBe("https://cdn.test/late.mp4");
    expect(after.scenes[0]!.takes).toHaveLength(2);
  });
});

describe("selecting a take", () => {
  it("re-stitches with the chosen take and generates nothing", async () => {
    const before = await completedProject(3);
    await routes.regenerate.POST(post({ scope: "scene" }), sceneCtx(before.id, 2));
    await drive(app, services);
    const reshot = (await app.getProject(before.id)) as ProjectView;
    expect(reshot.scenes[1]!.selected_take).toBe(2);

    services.requests.length = 0;
    const answer = await routes.selectTake.POST(post({ take: 1 }), sceneCtx(before.id, 2));
    expect(answer.status).toBe(202);
    await drive(app, services);
    const after = (await app.getProject(before.id)) as ProjectView;
    expect(videoRequests()).toHaveLength(0);
    expect(stitchRequests()).toHaveLength(1);
    expect(stitchRequests()[0]!.body.video_urls).toEqual([
      before.scenes[0]!.video_url,
      before.scenes[1]!.video_url,
      before.scenes[2]!.video_url,
    ]);
    expect(after.scenes[1]).toMatchObject({
      selected_take: 1,
      video_url: before.scenes[1]!.video_url,
    });
    expect(after.final_videos).toHaveLength(3);
    expect((await routes.selectTake.POST(post({ take: 9 }), sceneCtx(before.id, 2))).status).toBe(
      404,
    );
  });
});

describe("independent continuity", () => {
  it("6 scenes with MAX_PARALLEL_SCENES=3: never more than 3 in flight, all 6 submitted before the last completes, one stitch", async () => {
    const created = await app.createProject({
      name: "parallel",
      scenes: Array.from({ length: 6 }, (_, i) => ({ prompt: `shot ${i + 1}`, duration: 4 })),
      start_image_url: "https://img.test/start.png",
      continuity: "independent",
      autostart: true,
    });
    const { id } = (await created.json()) as { id: string };
    let completed = 0;
    let maxInFlight = 0;
    let submittedBeforeLast = 0;
    await drive(app, services, async (batch) => {
      for (const c of batch) {
        const submitted = videoRequests().length;
        maxInFlight = Math.max(maxInFlight, submitted - completed);
        if (c.stage === "video-complete") {
          completed++;
          if (completed === 6) submittedBeforeLast = submitted;
        }
        await app.send(c.stage, c.body, c.url);
      }
    });
    const project = (await app.getProject(id)) as ProjectView;
    expect(project.status).toBe("completed");
    expect(maxInFlight).toBe(3);
    expect(submittedBeforeLast).toBe(6);
    expect(services.requests.filter((r) => r.path === "/frame/api/v1/process")).toHaveLength(0);
    expect(stitchRequests()).toHaveLength(1);
    for (const r of videoRequests())
      expect((r.body.task_data as { start_image_url: string }).start_image_url).toBe(
        "https://img.test/start.png",
      );
    expect(stitchRequests()[0]!.body.video_urls).toEqual(project.scenes.map((s) => s.video_url));
  });
});
