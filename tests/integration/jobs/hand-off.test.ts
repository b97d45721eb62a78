import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedNewJob } from "@/lib/pipeline/store";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, loadApp } from "../../helpers/pipeline-driver";

/**
 * Claim in the write (lib/pipeline/store.ts `JobHandOff`): a web thread whose process runs a
 * dispatch thread inserts its new jobs already leased and posts them there. Here the "thread"
 * is a list the test holds, so it can also play a thread that died with jobs posted to it.
 */

let services: FakeServices;
let app: App;
let schedule: typeof import("@/lib/jobs/schedule");
let DeliveryGate: typeof import("@/lib/jobs/delivery-gate").DeliveryGate;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env);
  app = await loadApp();
  schedule = await import("@/lib/jobs/schedule");
  ({ DeliveryGate } = await import("@/lib/jobs/delivery-gate"));
});
afterEach(() => {
  schedule.handOffToThread(null);
  schedule.setDispatchMode("after-response");
});
afterAll(() => services.close());

async function createStarted(name: string): Promise<string> {
  const response = await app.createProject({
    name,
    scenes: [{ prompt: "one", duration: 4 }],
    autostart: true,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function jobOf(projectId: string) {
  const { jobs } = app.schema;
  const [job] = await app.db.select().from(jobs).where(eq(jobs.projectId, projectId));
  return job!;
}

describe("jobs claimed by the write that creates them", () => {
  it("are inserted leased and posted; past the gate's bound they are queued; one posted to a thread that died is reclaimed when its lease ends", async () => {
    const posted: ClaimedNewJob[] = [];
    const gate = new DeliveryGate(1);
    schedule.setDispatchMode("elsewhere");
    schedule.handOffToThread({ post: (jobs) => posted.push(...jobs), gate });

    const first = await createStarted("handed off");
    expect(posted.map((j) => j.projectId)).toEqual([first]);
    expect(posted[0]).toMatchObject({ kind: "generate_video", attempt: 1 });
    const claimed = await jobOf(first);
    expect(claimed).toMatchObject({ id: posted[0]!.id, status: "running", deliveries: 1 });
    expect(claimed.deadlineAt!.getTime()).toBeGreaterThan(Date.now());
    expect(gate.outstanding).toBe(1);

    // The bound is reached (the "thread" never finishes): the next job is queued for a claim.
    const second = await createStarted("queued");
    expect(posted).toHaveLength(1);
    expect(await jobOf(second)).toMatchObject({ status: "queued", deliveries: 0 });

    // The thread died with the first job: a claim finds only the queued one until the lease ends…
    expect(await app.dispatcher.dispatchDueJobs()).toBe(1);
    expect(services.requests.map((r) => r.idempotencyKey)).toEqual([(await jobOf(second)).id]);
    await app.pastDeadline({ jobId: claimed.id });
    // …then it is delivered once, under its own id as the Idempotency-Key.
    expect(await app.dispatcher.dispatchDueJobs()).toBe(1);
    expect(services.requests.map((r) => r.idempotencyKey).sort()).toEqual(
      [claimed.id, (await jobOf(second)).id].sort(),
    );
    expect(await jobOf(first)).toMatchObject({ status: "waiting", deliveries: 2 });
  });

  it("in a dispatch thread, are delivered at once and give their place under the gate back", async () => {
    schedule.setDispatchMode("here");
    const id = await createStarted("here");
    await schedule.dispatchIdle();
    const job = await jobOf(id);
    expect(job).toMatchObject({ status: "waiting", deliveries: 1 });
    expect(services.requests.filter((r) => r.idempotencyKey === job.id)).toHaveLength(1);
    // Without a dispatch thread, a web thread queues them (NOTIFY) as before.
    schedule.setDispatchMode("elsewhere");
    const queued = await createStarted("elsewhere");
    expect(await jobOf(queued)).toMatchObject({ status: "queued", deliveries: 0 });
  });
});
