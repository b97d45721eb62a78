import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchInThisThread } from "../../helpers/dispatch-here";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, completionFor, loadApp } from "../../helpers/pipeline-driver";

/**
 * What a pipeline stage costs the database, counted — counts are deterministic, times are
 * not. A stage is one callback applied plus the dispatch of the job it queued (outbound
 * request, record of the submission). Every statement the process sends is counted
 * (lib/db/client.ts), whichever way it is built.
 *
 * The floor: load 1 + write 1 + record 1. The write claims the job it queues for this
 * process (lib/pipeline/store.ts `JobHandOff`), so there is no claim statement.
 */
const BUDGET_PER_STAGE = 3;

let services: FakeServices;
let app: App;
let statementCount: () => number;
let settle: () => Promise<void>;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env);
  app = await loadApp();
  ({ statementCount } = await import("@/lib/db/client"));
  settle = await dispatchInThisThread();
});
afterAll(() => services.close());

/** Sends the callback for one accepted submission and runs the dispatch it scheduled. */
async function stage(request: FakeServices["requests"][number]) {
  const before = statementCount();
  const { stage: name, body, url } = completionFor(request);
  const response = await app.send(name, body, url);
  expect(response.status).toBe(200);
  await settle();
  return statementCount() - before;
}

describe("statements per pipeline stage", () => {
  it(`a 3-scene project costs ${BUDGET_PER_STAGE} statements per stage, callback and dispatch included`, async () => {
    const created = await app.createProject({
      name: "budget",
      scenes: [1, 2, 3].map((i) => ({ prompt: `scene ${i}`, duration: 4 })),
      autostart: true,
    });
    const { id } = (await created.json()) as { id: string };
    await settle(); // scene 1's request goes out

    const costs: Record<string, number> = {};
    const answered = new Set<FakeServices["requests"][number]>();
    for (let round = 0; round < 20; round++) {
      const next = services.requests.find((r) => r.taskId && !answered.has(r));
      if (!next) break;
      answered.add(next);
      costs[`${next.path} #${answered.size}`] = await stage(next);
    }

    const project = (await app.getProject(id)) as { status: string };
    expect(project.status).toBe("completed");
    // 3 videos, 3 last frames, 1 stitch; the stitch stage's dispatch is the notification.
    expect(Object.keys(costs)).toHaveLength(7);
    // Exactly the floor: fewer would mean the counter missed something; more, a regression.
    for (const [name, cost] of Object.entries(costs)) {
      expect(cost, `${name} cost ${cost} statements`).toBe(BUDGET_PER_STAGE);
    }
  });

  it("a duplicate callback costs at most 3 statements and changes nothing", async () => {
    const created = await app.createProject({
      name: "duplicate",
      scenes: [{ prompt: "one", duration: 4 }],
      autostart: true,
    });
    const { id } = (await created.json()) as { id: string };
    await settle();
    const submitted = services.requests.find(
      (r) => r.taskId && JSON.stringify(r.body).includes(id),
    )!;
    const callback = completionFor(submitted);
    expect((await app.send(callback.stage, callback.body, callback.url)).status).toBe(200);
    await settle();

    const before = statementCount();
    const again = await app.send(callback.stage, callback.body, callback.url);
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    expect(statementCount() - before).toBeLessThanOrEqual(3);
  });

  it("every project's stages send the same statement texts: each is prepared and planned once per connection", async () => {
    const { getConnection } = await import("@/lib/db/client");
    const connection = await getConnection();
    const texts: string[][] = [];
    const query = connection.run.query;
    for (const name of ["first", "second"]) {
      const seen: string[] = [];
      connection.run.query = ((text: string, params?: unknown[]) => {
        seen.push(text);
        return query(text, params);
      }) as typeof query;
      try {
        const created = await app.createProject({
          name,
          scenes: [1, 2].map((i) => ({ prompt: `scene ${i}`, duration: 4 })),
          autostart: true,
        });
        const { id } = (await created.json()) as { id: string };
        await settle();
        for (let round = 0; round < 10; round++) {
          const next = services.requests.find(
            (r) => r.taskId && !r.body.__answered && JSON.stringify(r.body).includes(id),
          );
          if (!next) break;
          next.body.__answered = true;
          await stage(next);
        }
      } finally {
        connection.run.query = query;
      }
      texts.push(seen);
    }
    expect(texts[0]!.length).toBeGreaterThan(0);
    // A value written into the text (an id, a message) would make every call a new statement:
    // parsed and planned each time, and cached by the driver for ever.
    expect(texts[1]).toEqual(texts[0]);
  });
});
