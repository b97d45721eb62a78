import { eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, drive, loadApp } from "../../helpers/pipeline-driver";
import {
  type CreatedEndpoint,
  loadEndpointApi,
  type Receiver,
  startReceiver,
  waitFor,
} from "./helpers";

/**
 * Outgoing webhooks end to end (CONTRACT §6, issue 14 "Done when"): the pipeline runs against
 * fake services, the delivery loop runs as in a worker (woken by the NOTIFY of the statement
 * that queued the deliveries), and a loopback receiver verifies every request with the
 * standardwebhooks library. Short retry schedule and timeout injected; no fixed sleeps.
 */

const SCHEDULE = ["0s", "0s", "0s"]; // 4 attempts in all, each retry due at once

let services: FakeServices;
let receiver: Receiver;
let app: App;
let api: Awaited<ReturnType<typeof loadEndpointApi>>;
let loop: { stop(): Promise<void> };

beforeAll(async () => {
  services = await startFakeServices();
  receiver = await startReceiver();
  Object.assign(process.env, services.env, {
    SUBSCRIPTION_RETRY_SCHEDULE: SCHEDULE.join(","),
    // Long enough that a healthy loopback answer never times out on a loaded machine; the
    // "hang" answer costs one of these.
    SUBSCRIPTION_TIMEOUT_MS: "3000",
  });
  app = await loadApp();
  api = await loadEndpointApi();
  const { startDeliveries } = await import("@/lib/jobs/deliveries");
  loop = await startDeliveries({ sweepIntervalMs: 0 });
});
afterAll(async () => {
  await loop?.stop();
  await receiver?.close();
  await services?.close();
});

async function createEndpoint(body: Record<string, unknown>): Promise<CreatedEndpoint> {
  const response = await api.create(body);
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedEndpoint;
}

async function createProject(name: string, scenes: number): Promise<string> {
  const response = await app.createProject({
    name,
    scenes: Array.from({ length: scenes }, (_, i) => ({ prompt: `scene ${i + 1}`, duration: 4 })),
    autostart: true,
  });
  return ((await response.json()) as { id: string }).id;
}

/** Deliveries not finished yet (queued or running), for one endpoint or all. */
async function pending(endpointId?: string): Promise<number> {
  const { webhookDeliveries } = app.schema;
  const rows = await app.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(webhookDeliveries)
    .where(
      sql`${webhookDeliveries.status} in ('queued', 'running') ${
        endpointId ? sql`and ${webhookDeliveries.endpointId} = ${endpointId}` : sql``
      }`,
    );
  return rows[0]?.n ?? 0;
}

async function deliveriesOf(endpointId: string) {
  const response = await api.deliveries(endpointId);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Record<string, unknown>[] }).items;
}

/** Throws unless the request verifies with this secret (the library checks the timestamp too). */
function verify(secret: string, r: { headers: Record<string, unknown>; body: string }) {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as {
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };
}

describe("outgoing webhooks", () => {
  it("a 3-scene project: one signed event per change to a subscriber, in sequence order; a filtered one gets only its type; a disabled one nothing", async () => {
    const all = await createEndpoint({ url: `${receiver.base}/all`, description: "everything" });
    expect(all.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(all.events).toBeNull();
    const completed = await createEndpoint({
      url: `${receiver.base}/completed`,
      events: ["project.completed"],
    });
    const disabled = await createEndpoint({ url: `${receiver.base}/disabled` });
    expect((await api.patch(disabled.id, { enabled: false })).status).toBe(200);

    const id = await createProject("subscribed", 3);
    await drive(app, services);
    await waitFor("every delivery answered", async () => (await pending()) === 0);

    const events = await app.db
      .select()
      .from(app.schema.projectEvents)
      .where(eq(app.schema.projectEvents.projectId, id));
    expect(events).toHaveLength(6);

    const got = receiver
      .at("/all")
      .map((r) => ({ id: r.headers["webhook-id"], ...verify(all.secret, r) }));
    // Exactly one request per change: six distinct webhook-ids, each the event's id, none twice.
    expect(got).toHaveLength(6);
    expect(new Set(got.map((e) => e.id))).toEqual(new Set(events.map((e) => e.id)));
    const ordered = [...got].sort((a, b) => Number(a.data.sequence) - Number(b.data.sequence));
    expect(ordered.map((e) => `${e.data.sequence} ${e.type}`)).toEqual([
      "1 project.started",
      "2 scene.completed",
      "3 scene.completed",
      "4 scene.completed",
      "5 project.stitching",
      "6 project.completed",
    ]);
    for (const e of got) {
      expect(e.data).toMatchObject({ project_id: id, project_name: "subscribed" });
      expect(Number.isNaN(Date.parse(e.timestamp))).toBe(false);
    }
    expect(ordered[1]?.data).toMatchObject({
      scene_number: 1,
      status: "generating",
      video_url: expect.stringMatching(/^https:\/\//),
      last_frame_url: expect.stringMatching(/^https:\/\//),
    });
    expect(ordered[5]?.data.final_video_url).toMatch(/-final\.mp4$/);

    const onlyCompleted = receiver.at("/completed").map((r) => verify(completed.secret, r));
    expect(onlyCompleted.map((e) => e.type)).toEqual(["project.completed"]);
    expect(receiver.at("/disabled")).toHaveLength(0);
    expect(await deliveriesOf(disabled.id)).toHaveLength(0);

    // The project page's snapshot lists the events with how their deliveries stand.
    const { getProjectSnapshot } = await import("@/lib/projects/events");
    const { emitted_events } = await getProjectSnapshot(id);
    expect(emitted_events.map((e) => [e.sequence, e.type, e.deliveries])).toEqual([
      [1, "project.started", { succeeded: 1 }],
      [2, "scene.completed", { succeeded: 1 }],
      [3, "scene.completed", { succeeded: 1 }],
      [4, "scene.completed", { succeeded: 1 }],
      [5, "project.stitching", { succeeded: 1 }],
      [6, "project.completed", { succeeded: 2 }],
    ]);

    const log = await deliveriesOf(all.id);
    expect(log).toHaveLength(6);
    for (const d of log)
      expect(d).toMatchObject({ status: "succeeded", response_status: 200, error: null });
  });

  it("after a 500 and a timeout the third attempt carries the same webhook-id and body", async () => {
    const flaky = await createEndpoint({
      url: `${receiver.base}/flaky`,
      events: ["project.started"],
    });
    receiver.on("/flaky", (nth) => (nth === 0 ? "500" : nth === 1 ? "hang" : "ok"));
    const id = await createProject("flaky", 1);
    await app.cancel(id); // nothing else needed: project.started is what this endpoint wants
    await waitFor("the flaky delivery settled", async () => (await pending(flaky.id)) === 0);

    const attempts = receiver.at("/flaky");
    expect(attempts).toHaveLength(3);
    const ids = new Set(attempts.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    for (const r of attempts) expect(verify(flaky.secret, r).data.project_id).toBe(id);

    const [delivery] = await deliveriesOf(flaky.id);
    expect(delivery).toMatchObject({
      status: "succeeded",
      attempt: 3,
      response_status: 200,
      response_body: "thanks",
      event_id: [...ids][0],
      type: "project.started",
    });
  });

  it("a redirect is not followed (a failed attempt); an answer is kept up to 64 KiB", async () => {
    const endpoint = await createEndpoint({ url: `${receiver.base}/moved` });
    receiver.on("/moved", (nth) => (nth === 0 ? "302" : "big"));
    await api.test(endpoint.id);
    await waitFor("the ping", async () => (await pending(endpoint.id)) === 0);
    expect(receiver.at("/moved/redirected")).toHaveLength(0);
    expect(receiver.at("/moved")).toHaveLength(2);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery).toMatchObject({ status: "succeeded", attempt: 2, response_status: 200 });
    expect(String(delivery?.response_body)).toHaveLength(64 * 1024);
  });

  it("resend delivers the same event again with the same webhook-id", async () => {
    const endpoint = await createEndpoint({ url: `${receiver.base}/resend` });
    const queued = await api.test(endpoint.id);
    expect(queued.status).toBe(202);
    const ping = (await queued.json()) as { id: number; event_id: string; type: string };
    expect(ping.type).toBe("test.ping");
    await waitFor("the ping", async () => (await pending(endpoint.id)) === 0);

    const again = await api.resend(endpoint.id, String(ping.id));
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ event_id: ping.event_id, resend_of: ping.id });
    await waitFor("the resend", async () => (await pending(endpoint.id)) === 0);

    const got = receiver.at("/resend");
    expect(got).toHaveLength(2);
    expect(got.map((r) => r.headers["webhook-id"])).toEqual([ping.event_id, ping.event_id]);
    expect(got[0]?.body).toBe(got[1]?.body);
    expect(verify(endpoint.secret, got[0]!)).toMatchObject({
      type: "test.ping",
      data: { endpoint_id: endpoint.id, sequence: 0 },
    });
  });

  it("a rotated secret: both signatures for the overlap, then the new one alone", async () => {
    const endpoint = await createEndpoint({ url: `${receiver.base}/rotate` });
    const rotated = await api.rotate(endpoint.id);
    expect(rotated.status).toBe(200);
    const { secret, previous_secret_expires_at } = (await rotated.json()) as {
      secret: string;
      previous_secret_expires_at: string;
    };
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(endpoint.secret);
    expect(Date.parse(previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);

    await api.test(endpoint.id);
    await waitFor("the ping", async () => (await pending(endpoint.id)) === 0);
    const [during] = receiver.at("/rotate");
    expect(String(during?.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(() => verify(secret, during!)).not.toThrow();
    expect(() => verify(endpoint.secret, during!)).not.toThrow();

    // The overlap ends: only the new secret signs.
    const { webhookEndpoints } = app.schema;
    await app.db
      .update(webhookEndpoints)
      .set({ previousSecretExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await api.test(endpoint.id);
    await waitFor("the second ping", async () => (await pending(endpoint.id)) === 0);
    const after = receiver.at("/rotate")[1]!;
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(() => verify(secret, after)).not.toThrow();
    expect(() => verify(endpoint.secret, after)).toThrow();
  });

  it("failed after the schedule; an endpoint failing for the whole window is disabled and the error log says so", async () => {
    const endpoint = await createEndpoint({ url: `${receiver.base}/dead` });
    receiver.on("/dead", () => "503");
    await api.test(endpoint.id);
    await waitFor("the schedule exhausted", async () => (await pending(endpoint.id)) === 0);
    expect(receiver.at("/dead")).toHaveLength(SCHEDULE.length + 1);
    const [failed] = await deliveriesOf(endpoint.id);
    expect(failed).toMatchObject({
      status: "failed",
      attempt: SCHEDULE.length + 1,
      response_status: 503,
      error: "endpoint answered 503",
      next_attempt_at: null,
    });
    let view = (await (await api.get(endpoint.id)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ enabled: true, failing_since: expect.any(String) });

    // Failing since longer than SUBSCRIPTION_DISABLE_AFTER_HOURS (72): the next failure disables it.
    const { webhookEndpoints, errorLog } = app.schema;
    await app.db
      .update(webhookEndpoints)
      .set({ failingSince: new Date(Date.now() - 73 * 3600_000) })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await api.test(endpoint.id);
    await waitFor("the endpoint disabled", async () => {
      const [row] = await app.db
        .select()
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, endpoint.id));
      return row?.enabled === false;
    });
    view = (await (await api.get(endpoint.id)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      enabled: false,
      disabled_reason: "every delivery failed for 72 h",
      disabled_at: expect.any(String),
    });
    await waitFor("the error log entry", async () => {
      const rows = await app.db.select().from(errorLog);
      return rows.some((r) => r.message.includes(`Webhook endpoint ${endpoint.id}`));
    });
    // Disabled: the rest of its queue waits, a test is refused until it is enabled again.
    const received = receiver.at("/dead").length;
    expect((await api.test(endpoint.id)).status).toBe(409);
    expect(receiver.at("/dead")).toHaveLength(received);

    receiver.on("/dead", () => "ok");
    const enabled = await api.patch(endpoint.id, { enabled: true });
    expect(await enabled.json()).toMatchObject({
      enabled: true,
      disabled_reason: null,
      failing_since: null,
    });
    await waitFor("what waited is delivered", async () => (await pending(endpoint.id)) === 0);
    expect(receiver.at("/dead").at(-1)?.headers["webhook-id"]).toBeDefined();
  });

  it("a hanging endpoint holds only its own slots: another endpoint's delivery goes out meanwhile", async () => {
    const { PER_ENDPOINT } = await import("@/lib/subscriptions/deliver");
    const stuck = await createEndpoint({ url: `${receiver.base}/stuck` });
    const other = await createEndpoint({ url: `${receiver.base}/other` });
    receiver.on("/stuck", () => "hang");
    for (let i = 0; i < PER_ENDPOINT * 2; i++) expect((await api.test(stuck.id)).status).toBe(202);
    await waitFor("the stuck endpoint's slots taken", () => receiver.at("/stuck").length > 0);
    expect((await api.test(other.id)).status).toBe(202);
    await waitFor("the other endpoint served", () => receiver.at("/other").length === 1);
    // The other endpoint did not queue behind the stuck one's backlog (its attempts, each
    // ending only by the timeout, are far from done), and the stuck one never has more than its
    // share in flight.
    expect(receiver.at("/stuck").length).toBeLessThan(PER_ENDPOINT * 2 * (SCHEDULE.length + 1));
    const running = (await deliveriesOf(stuck.id)).filter((d) => d.status === "running");
    expect(running.length).toBeLessThanOrEqual(PER_ENDPOINT);
    // Stop it: what is in flight times out, the rest waits (and goes with the endpoint).
    await api.patch(stuck.id, { enabled: false });
    await waitFor("the stuck attempts ended", async () => {
      const rows = await deliveriesOf(stuck.id);
      return rows.every((d) => d.status === "queued");
    });
    expect((await api.remove(stuck.id)).status).toBe(204);
  });

  it("metrics: attempts by endpoint and outcome, their duration, the retry queue", async () => {
    const endpoint = await createEndpoint({ url: `${receiver.base}/metrics` });
    receiver.on("/metrics", (nth) => (nth === 0 ? "500" : "ok"));
    await api.test(endpoint.id);
    await waitFor("the ping", async () => (await pending(endpoint.id)) === 0);
    const { renderMetrics } = await import("@/lib/observability/metrics");
    const text = await renderMetrics();
    expect(text).toContain(
      `framechain_subscription_deliveries_total{endpoint="${endpoint.id}",outcome="retry"} 1`,
    );
    expect(text).toContain(
      `framechain_subscription_deliveries_total{endpoint="${endpoint.id}",outcome="succeeded"} 1`,
    );
    expect(text).toContain(
      `framechain_subscription_delivery_duration_seconds_count{endpoint="${endpoint.id}"} 2`,
    );
    expect(text).toMatch(/^framechain_subscription_retry_queue \d+$/m);

    // On PostgreSQL the deliveries run on the dispatch thread: its series are shown too, summed.
    const { setThreadSeries } = await import("@/lib/observability/metrics");
    const { Counter, Registry } = await import("prom-client");
    const thread = new Registry(); // what the dispatch thread posts: its registry as JSON
    new Counter({
      name: "framechain_subscription_deliveries_total",
      help: "Attempts to deliver events to subscribed endpoints.",
      labelNames: ["endpoint", "outcome"],
      registers: [thread],
    }).inc({ endpoint: endpoint.id, outcome: "succeeded" }, 2);
    setThreadSeries(await thread.getMetricsAsJSON());
    try {
      expect(await renderMetrics()).toContain(
        `framechain_subscription_deliveries_total{endpoint="${endpoint.id}",outcome="succeeded"} 3`,
      );
    } finally {
      setThreadSeries(null);
    }
  });

  it("API: validation, secrets never listed, 404 for unknown or malformed ids, delete", async () => {
    for (const body of [
      {},
      { url: "ftp://example.com/hook" },
      { url: "not a url" },
      { url: `${receiver.base}/x`, events: ["project.exploded"] },
      { url: `${receiver.base}/x`, events: [] },
    ]) {
      const response = await api.create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await response.json()).toMatchObject({ issues: expect.any(Array) });
    }
    const endpoint = await createEndpoint({
      url: `${receiver.base}/api`,
      events: ["project.failed", "project.failed", "scene.failed"],
    });
    expect(endpoint.events).toEqual(["project.failed", "scene.failed"]);

    const listed = JSON.stringify(await (await api.list()).json());
    expect(listed).toContain(endpoint.id);
    expect(listed).not.toContain("whsec_");
    const one = (await (await api.get(endpoint.id)).json()) as Record<string, unknown>;
    expect(one).not.toHaveProperty("secret");

    const patched = await api.patch(endpoint.id, { events: null, description: "all now" });
    expect(await patched.json()).toMatchObject({ events: null, description: "all now" });
    expect((await api.patch(endpoint.id, { url: "javascript:alert(1)" })).status).toBe(400);

    for (const bad of ["ep_unknown", "%00", "\u0000", "ep_\uD800", "x".repeat(300)]) {
      expect((await api.get(bad)).status).toBe(404);
      expect((await api.patch(bad, { enabled: false })).status).toBe(404);
      expect((await api.rotate(bad)).status).toBe(404);
      expect((await api.test(bad)).status).toBe(404);
      expect((await api.deliveries(bad)).status).toBe(404);
      expect((await api.remove(bad)).status).toBe(404);
    }
    for (const bad of ["0", "abc", "1e3", "99999999", "-1", "1".repeat(30), "\u0000"])
      expect((await api.resend(endpoint.id, bad)).status).toBe(404);
    expect((await api.deliveries(endpoint.id, "?cursor=zzz")).status).toBe(400);

    expect((await api.remove(endpoint.id)).status).toBe(204);
    expect((await api.get(endpoint.id)).status).toBe(404);
  });
});
