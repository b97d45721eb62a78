import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAfterResponse } from "../../helpers/after";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, loadApp } from "../../helpers/pipeline-driver";

/** POST /api/v1/webhook-events/{id}/replay through the real pipeline, with loopback services. */

let services: FakeServices;
let app: App;
let replay: typeof import("@/app/api/v1/webhook-events/[id]/replay/route").POST;
let listEvents: typeof import("@/app/api/v1/webhook-events/route").GET;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, {
    SERVICE_MAX_RETRIES: "1",
    SERVICE_RETRY_BASE_MS: "1",
    SERVICE_TIMEOUT_MS: "2000",
  });
  app = await loadApp();
  replay = (await import("@/app/api/v1/webhook-events/[id]/replay/route")).POST;
  listEvents = (await import("@/app/api/v1/webhook-events/route")).GET;
});
afterAll(() => services.close());

const replayOf = (id: string | number) =>
  replay(
    new Request(`http://127.0.0.1:3999/api/v1/webhook-events/${id}/replay`, { method: "POST" }),
    {
      params: Promise.resolve({ id: String(id) }),
    },
  );

async function latestEvent(query = "") {
  const response = await listEvents(
    new Request(`http://127.0.0.1:3999/api/v1/webhook-events?limit=1${query}`),
  );
  return (await response.json()).items[0] as {
    id: number;
    outcome: string;
    task_id: string | null;
  };
}

describe("replaying stored callbacks", () => {
  it("404s for unknown and malformed ids", async () => {
    for (const id of ["987654", "abc", "0", "1.5"]) {
      const response = await replayOf(id);
      expect(response.status, id).toBe(404);
    }
  });

  it("a request refused before its body was verified leaves no event to replay (refusals are only counted)", async () => {
    const before = await latestEvent("");
    const unsigned = await app.webhooks["video-complete"].POST(
      new Request("http://127.0.0.1:3999/api/webhooks/video-complete", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-webhook-signature": "sha256=00",
          "x-forwarded-for": "198.51.100.9",
        },
        body: JSON.stringify({ task_id: "t-forged", status: "completed" }),
      }),
    );
    expect(unsigned.status).toBe(401);
    expect((await latestEvent(""))?.id).toBe(before?.id);
  });

  it("keeps a parked callback parked while its task is still unknown", async () => {
    const sent = await app.send("video-complete", {
      task_id: "task-from-the-future",
      status: "completed",
      video_url: "https://cdn.test/f.mp4",
    });
    expect(sent.status).toBe(202);
    const parked = await latestEvent("&outcome=parked");
    expect(parked.task_id).toBe("task-from-the-future");
    const response = await replayOf(parked.id);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ received: true, parked: true });
  });

  it("replaying an applied callback is a harmless duplicate", async () => {
    const created = await app.createProject({
      name: "replay",
      scenes: [{ prompt: "one", duration: 4 }],
      autostart: true,
    });
    const project = (await created.json()) as { id: string };
    await runAfterResponse();
    await app.dispatcher.dispatchDueJobs();
    const submitted = services.requests.find(
      (r) => r.path === "/video/api/v1/tasks/submit" && r.taskId,
    );
    expect(submitted).toBeDefined();

    const applied = await app.send("video-complete", {
      task_id: submitted!.taskId,
      status: "completed",
      video_url: "https://cdn.test/v.mp4",
    });
    expect(applied.status).toBe(200);
    const event = await latestEvent("&outcome=applied");
    const jobsBefore = await app.db
      .select()
      .from(app.schema.jobs)
      .where(eq(app.schema.jobs.projectId, project.id));

    const response = await replayOf(event.id);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: true, duplicate: true });

    const jobsAfter = await app.db
      .select()
      .from(app.schema.jobs)
      .where(eq(app.schema.jobs.projectId, project.id));
    expect(jobsAfter.map((j) => j.id).sort()).toEqual(jobsBefore.map((j) => j.id).sort());
    const view = await app.getProject(project.id);
    expect(view.scenes[0].status).toBe("extracting_frame");
  });
});
