import { createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import { runAfterResponse } from "./after";
import { TEST_SECRETS, type TestStage } from "./callbacks";
import type { FakeServices, RecordedRequest } from "./fake-services";

/** The app's modules, imported after the test has set the environment they read. */
export async function loadApp() {
  const [projects, project, start, cancel, retry, video, frame, stitch, dispatcher, db, schema] =
    await Promise.all([
      import("@/app/api/v1/projects/route"),
      import("@/app/api/v1/projects/[id]/route"),
      import("@/app/api/v1/projects/[id]/start/route"),
      import("@/app/api/v1/projects/[id]/cancel/route"),
      import("@/app/api/v1/projects/[id]/retry/route"),
      import("@/app/api/webhooks/video-complete/route"),
      import("@/app/api/webhooks/last-frame-complete/route"),
      import("@/app/api/webhooks/stitch-complete/route"),
      import("@/lib/jobs/dispatcher"),
      import("@/lib/db/client"),
      import("@/lib/db/schema"),
    ]);
  const ctx = (id: string) => ({ params: Promise.resolve({ id }) });
  const post = (body: unknown) =>
    new Request("http://127.0.0.1:3999/api/v1/projects", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const action = (id: string, name: string) =>
    new Request(`http://127.0.0.1:3999/api/v1/projects/${id}/${name}`, { method: "POST" });
  const webhooks = {
    "video-complete": video,
    "last-frame-complete": frame,
    "stitch-complete": stitch,
  };
  const database = await db.getDb();
  return {
    db: database,
    schema,
    /** Time passing, without waiting: the lease or callback deadline of these jobs is behind us. */
    pastDeadline: (of: { jobId: string } | { projectId: string }) =>
      database
        .update(schema.jobs)
        .set({ deadlineAt: new Date(Date.now() - 1000) })
        .where(
          "jobId" in of ? eq(schema.jobs.id, of.jobId) : eq(schema.jobs.projectId, of.projectId),
        ),
    dispatcher,
    webhooks,
    createProject: async (body: unknown) => projects.POST(post(body)),
    getProject: async (id: string) =>
      (await project.GET(new Request(`http://x/${id}`), ctx(id))).json(),
    start: (id: string) => start.POST(action(id, "start"), ctx(id)),
    cancel: (id: string) => cancel.POST(action(id, "cancel"), ctx(id)),
    retry: (id: string) => retry.POST(action(id, "retry"), ctx(id)),
    /** POST a callback body to a stage's route, signed with `sha256=` over the raw body. */
    send: (
      stage: TestStage,
      body: unknown,
      url = `http://127.0.0.1:3999/api/webhooks/${stage}`,
    ) => {
      const raw = JSON.stringify(body);
      const key = TEST_SECRETS[stage].startsWith("whsec_")
        ? Buffer.from(TEST_SECRETS[stage].slice(6), "base64")
        : Buffer.from(TEST_SECRETS[stage]);
      const signature = `sha256=${createHmac("sha256", key).update(raw).digest("hex")}`;
      return webhooks[stage].POST(
        new Request(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-webhook-signature": signature,
            "x-forwarded-for": "198.51.100.1",
          },
          body: raw,
        }),
      );
    },
  };
}
export type App = Awaited<ReturnType<typeof loadApp>>;

const STAGE_OF_PATH: Record<string, TestStage> = {
  "/video/api/v1/tasks/submit": "video-complete",
  "/frame/api/v1/process": "last-frame-complete",
  "/stitch/api/v1/stitch": "stitch-complete",
};

/** The callback a service would send for one of its accepted requests. */
export function completionFor(request: RecordedRequest): {
  stage: TestStage;
  body: Record<string, unknown>;
  url: string;
} {
  const stage = STAGE_OF_PATH[request.path]!;
  const url = String(request.body.callback_url ?? request.body.webhook_url);
  const task = request.taskId!;
  const body =
    stage === "video-complete"
      ? {
          task_id: task,
          status: "completed",
          video_url: `https://cdn.test/${task}.mp4`,
          thumbnail_url: `https://cdn.test/${task}.jpg`,
        }
      : stage === "last-frame-complete"
        ? { task_id: task, status: "completed", image_url: `https://cdn.test/${task}-last.jpg` }
        : {
            task_id: task,
            status: "completed",
            video_result_url: `https://cdn.test/${task}-final.mp4`,
            duration: 25,
          };
  return { stage, body, url };
}

/**
 * Plays the services' side until nothing is left to do: runs what the app scheduled after
 * its responses, and answers every new accepted submission with a completion callback
 * (through `deliver`, which may duplicate, reorder, or drop them).
 */
export async function drive(
  app: App,
  services: FakeServices,
  deliver: (batch: ReturnType<typeof completionFor>[]) => Promise<void> = async (batch) => {
    for (const c of batch) await app.send(c.stage, c.body, c.url);
  },
  maxRounds = 200,
) {
  const answered = new Set<RecordedRequest>();
  for (let round = 0; round < maxRounds; round++) {
    await runAfterResponse();
    await app.dispatcher.dispatchDueJobs();
    const fresh = services.requests.filter(
      (r) => r.taskId && !answered.has(r) && STAGE_OF_PATH[r.path],
    );
    if (fresh.length === 0) return;
    for (const r of fresh) answered.add(r);
    await deliver(fresh.map(completionFor));
  }
  throw new Error("pipeline did not settle");
}
