import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, drive, loadApp } from "../../helpers/pipeline-driver";

/**
 * Every change of a project emits exactly one event (CONTRACT §6), written in the same
 * statement as the change and numbered per project — whatever arrives twice.
 */

let services: FakeServices;
let app: App;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, { MAX_STAGE_ATTEMPTS: "2" });
  app = await loadApp();
});
afterAll(() => services.close());

async function eventsOf(projectId: string) {
  const { projectEvents } = app.schema;
  const rows = await app.db
    .select()
    .from(projectEvents)
    .where(eq(projectEvents.projectId, projectId))
    .orderBy(asc(projectEvents.sequence));
  return rows.map((r) => ({ sequence: r.sequence, type: r.type, data: r.data }));
}

async function create(scenes: number) {
  const response = await app.createProject({
    name: `events ${scenes}`,
    scenes: Array.from({ length: scenes }, (_, i) => ({ prompt: `scene ${i + 1}`, duration: 4 })),
    autostart: true,
  });
  return ((await response.json()) as { id: string }).id;
}

describe("project events", () => {
  it("a 3-scene project emits one event per change, in sequence, even with every callback sent twice", async () => {
    const id = await create(3);
    await drive(app, services, async (batch) => {
      for (const c of [...batch, ...batch]) await app.send(c.stage, c.body, c.url);
    });
    const events = await eventsOf(id);
    expect(events.map((e) => `${e.sequence} ${e.type}`)).toEqual([
      "1 project.started",
      "2 scene.completed",
      "3 scene.completed",
      "4 scene.completed",
      "5 project.stitching",
      "6 project.completed",
    ]);
    expect(events[1]?.data).toMatchObject({
      project_id: id,
      project_name: "events 3",
      status: "generating",
      scene_number: 1,
      video_url: expect.stringMatching(/^https:\/\/cdn\.test\//),
      last_frame_url: expect.stringMatching(/-last\.jpg$/),
    });
    expect(events[5]?.data).toMatchObject({
      status: "completed",
      final_video_url: expect.stringMatching(/-final\.mp4$/),
    });
  });

  it("a scene failing its last attempt emits scene.failed then project.failed; a cancel emits only project.cancelled", async () => {
    const failing = await create(1);
    await drive(app, services, async (batch) => {
      for (const c of batch)
        await app.send(
          c.stage,
          { task_id: c.body.task_id, status: "failed", error: "boom" },
          c.url,
        );
    });
    expect((await eventsOf(failing)).map((e) => e.type)).toEqual([
      "project.started",
      "scene.failed",
      "project.failed",
    ]);

    const cancelled = await create(2);
    await app.cancel(cancelled);
    const events = await eventsOf(cancelled);
    expect(events.map((e) => e.type)).toEqual(["project.started", "project.cancelled"]);
  });
});
