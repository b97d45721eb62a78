import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dispatchInThisThread } from "../../helpers/dispatch-here";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, completionFor, loadApp } from "../../helpers/pipeline-driver";
import { loadEndpointApi } from "./helpers";

/**
 * Subscribers cost the callback path nothing (issue 14: "at most one statement per subscribed
 * event"; here zero): with three endpoints subscribed, a pipeline stage still costs the floor of
 * tests/integration/pipeline/statement-budget.test.ts, because the deliveries are queued by the
 * same statement that writes the events. (No delivery loop runs in this file: its statements are
 * the worker's, not the callback's.)
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
  const api = await loadEndpointApi();
  for (const events of [undefined, ["scene.completed"], ["project.completed", "project.stitching"]])
    expect((await api.create({ url: "http://127.0.0.1:9/hook", events })).status).toBe(201);
});
afterAll(() => services.close());

describe("statements per pipeline stage with subscribers", () => {
  it(`still ${BUDGET_PER_STAGE} per stage, and every event is queued for every subscriber`, async () => {
    const created = await app.createProject({
      name: "budget with subscribers",
      scenes: [1, 2, 3].map((i) => ({ prompt: `scene ${i}`, duration: 4 })),
      autostart: true,
    });
    expect(created.status).toBe(201);
    await settle();

    const costs: number[] = [];
    const answered = new Set<FakeServices["requests"][number]>();
    for (let round = 0; round < 20; round++) {
      const next = services.requests.find((r) => r.taskId && !answered.has(r));
      if (!next) break;
      answered.add(next);
      const before = statementCount();
      const { stage, body, url } = completionFor(next);
      expect((await app.send(stage, body, url)).status).toBe(200);
      await settle();
      costs.push(statementCount() - before);
    }
    expect(costs).toEqual(Array(7).fill(BUDGET_PER_STAGE));

    const { webhookDeliveries } = app.schema;
    const rows = await app.db
      .select({ type: webhookDeliveries.eventType, n: sql<number>`count(*)`.mapWith(Number) })
      .from(webhookDeliveries)
      .groupBy(webhookDeliveries.eventType);
    const byType = Object.fromEntries(rows.map((r) => [r.type, r.n]));
    // all-events endpoint: 6 events; scene.completed endpoint: 3; the third: stitching + completed.
    expect(byType).toEqual({
      "project.started": 1,
      "scene.completed": 6,
      "project.stitching": 2,
      "project.completed": 2,
    });
  });
});
