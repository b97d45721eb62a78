import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Json,
  simulatorCaller,
  startReceiver,
  waitFor,
} from "../integration/simulator/harness";
import { ADMIN_TOKEN, applySettings, restoreSettings } from "./helpers";

/**
 * Issue 11 item 6: the simulator enabled in production (the README's demo) was open to
 * anyone — its knobs, its request log, and a signing oracle: handed an attacker's
 * callback_url, it POSTed there with a valid X-Webhook-Signature. Now (CONTRACT.md §5) its
 * routes need the admin token like /api/v1/*, and it only ever calls back this app's own
 * callback paths. Real route handler, real HTTP receivers: one is the app (APP_URL), one
 * is the attacker's.
 */

type Route = typeof import("@/app/api/simulator/[...path]/route");
let app: Awaited<ReturnType<typeof startReceiver>>;
let attacker: Awaited<ReturnType<typeof startReceiver>>;
let route: Route;
let call: ReturnType<typeof simulatorCaller>;
let serviceKey: string;

beforeAll(async () => {
  app = await startReceiver();
  attacker = await startReceiver();
  applySettings({
    NODE_ENV: "production",
    SIMULATOR_ENABLED: "true",
    ADMIN_TOKEN,
    APP_URL: app.base, // where this app is reachable: its own callbacks must land here
    SIMULATOR_DELAY_MS: "20",
    SIMULATOR_PROGRESS_STEPS: "0",
    RATE_LIMIT_ADMIN_AUTH: "3/1m",
  });
  route = await import("@/app/api/simulator/[...path]/route");
  (await import("@/lib/ratelimit/admin-auth")).resetAdminAuthLimiters();
  (await import("@/simulator/router")).resetSimulator();
  serviceKey = (await import("@/lib/services/endpoints")).simulatorServiceKey()!;
  call = simulatorCaller(route, app.base);
});
afterAll(async () => {
  (await import("@/simulator/router")).resetSimulator();
  await app.close();
  await attacker.close();
  restoreSettings();
});

let counter = 0;
function videoSubmission(callbackUrl: string) {
  const jobId = `job_sec${++counter}`;
  return {
    jobId,
    body: {
      project_id: "prj_sec",
      task_type: "generate_video",
      task_data: { scene_id: `scn_sec${counter}`, scene_number: 1, prompt: "a cat", duration: 5 },
      priority: 2,
      callback_url: callbackUrl,
      metadata: { job_id: jobId },
    },
  };
}

describe("without the admin token", () => {
  it.each([
    ["POST", "config", { failure_rate: 1 }],
    ["DELETE", "config", undefined],
    ["GET", "config", undefined],
    ["GET", "requests", undefined],
    ["DELETE", "requests", undefined],
    ["POST", "video/api/v1/tasks/submit", videoSubmission("https://evil.example/cb").body],
    [
      "POST",
      "last-frame/api/v1/process",
      { video_url: "https://a.test/v.mp4", webhook_url: "https://evil.example/cb" },
    ],
    [
      "POST",
      "stitch/api/v1/stitch",
      { video_urls: ["https://a.test/v.mp4"], webhook_url: "https://evil.example/cb" },
    ],
    ["POST", "notify", { type: "project_completed", project_id: "p", timestamp: "now" }],
    ["GET", "media/task_x/thumbnail.svg", undefined],
  ] as const)("%s /api/simulator/%s is 401 and changes nothing", async (method, path, body) => {
    const response = await call(method, path, body);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("the knobs and the request log stayed as they were", async () => {
    const knobs = await call("GET", "config", undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(knobs.status).toBe(200);
    expect(knobs.json.failure_rate).toBe(0);
    const log = await call("GET", "requests", undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(log.json.counts?.video?.received ?? 0).toBe(0);
  });
});

describe("with it", () => {
  it("the admin token opens every route (bearer, or the sign-in cookie)", async () => {
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await call("POST", "config", { delay_ms: 20 }, bearer)).status).toBe(200);
    expect((await call("GET", "requests", undefined, bearer)).status).toBe(200);
    const { createSessionValue, SESSION_COOKIE } = await import("@/lib/auth/session");
    const cookie = { cookie: `other=1; ${SESSION_COOKIE}=${createSessionValue(ADMIN_TOKEN)}` };
    expect((await call("GET", "config", undefined, cookie)).status).toBe(200);
    // A write with the cookie must come from this app's pages (same-site subdomains get the cookie too).
    const write = (origin: string) =>
      call("POST", "config", { delay_ms: 25 }, { ...cookie, origin });
    expect((await write("https://evil.example")).status).toBe(403);
    expect((await write(app.base)).status).toBe(200);
    const forged = {
      cookie: `${SESSION_COOKIE}=${createSessionValue("another-token-0123456789")}`,
    };
    expect((await call("GET", "config", undefined, forged)).status).toBe(401);
  });

  it("the app's own outbound request carries the simulator service key, which the simulator accepts", async () => {
    const { buildServiceRequest } = await import("@/lib/services/requests");
    const built = buildServiceRequest({
      id: "job_own1",
      kind: "generate_video",
      projectId: "prj_own",
      sceneId: "scn_own",
      payload: { scene_id: "scn_own", scene_number: 1, prompt: "own", duration: 5 },
    } as never);
    expect("request" in built).toBe(true);
    const request = (
      built as { request: { url: string; headers: Record<string, string>; body: Json } }
    ).request;
    expect(request.url).toBe(`${app.base}/api/simulator/video/api/v1/tasks/submit`);
    expect(request.headers["x-api-key"]).toBe(serviceKey);
    expect(JSON.stringify(request)).not.toContain(ADMIN_TOKEN);
    const answer = await call("POST", "video/api/v1/tasks/submit", request.body, {
      ...request.headers,
      "idempotency-key": "job_own1",
    });
    expect(answer.status).toBe(202);
  });

  it("a handed callback_url pointing elsewhere is never called: the callback goes to this app's own path, with only ref and sig kept", async () => {
    app.received.length = 0;
    attacker.received.length = 0;
    const handed = `${attacker.base}/steal/api/webhooks/video-complete?ref=job_victim&sig=abc123&extra=1`;
    const { body } = videoSubmission(handed);
    const submitted = await call("POST", "video/api/v1/tasks/submit", body, {
      "x-api-key": serviceKey,
    });
    expect(submitted.status).toBe(202);
    const taskId = submitted.json.task_id as string;
    const delivered = await waitFor(
      () => app.received.find((r) => r.body.task_id === taskId),
      "the callback at the app's own endpoint",
    );
    expect(delivered.path).toBe("/api/webhooks/video-complete");
    expect([...delivered.url.searchParams.entries()]).toEqual([
      ["ref", "job_victim"],
      ["sig", "abc123"],
    ]);
    expect(attacker.received).toEqual([]);
  });

  it("last-frame and stitch webhook_urls are rewritten the same way", async () => {
    attacker.received.length = 0;
    const bearerKey = { authorization: `Bearer ${serviceKey}` };
    const frame = await call(
      "POST",
      "last-frame/api/v1/process",
      { video_url: "https://a.test/v.mp4", webhook_url: `${attacker.base}/x?ref=job_f` },
      bearerKey,
    );
    const stitch = await call(
      "POST",
      "stitch/api/v1/stitch",
      { video_urls: ["https://a.test/v.mp4"], webhook_url: `${attacker.base}/y?ref=job_s` },
      bearerKey,
    );
    expect([frame.status, stitch.status]).toEqual([202, 202]);
    const paths = await waitFor(() => {
      const got = app.received
        .filter(
          (r) => r.body.task_id === frame.json.task_id || r.body.task_id === stitch.json.task_id,
        )
        .map((r) => `${r.path}?${r.url.searchParams}`);
      return got.length >= 2 && got.sort();
    }, "both callbacks");
    expect(paths).toEqual([
      "/api/webhooks/last-frame-complete?ref=job_f",
      "/api/webhooks/stitch-complete?ref=job_s",
    ]);
    expect(attacker.received).toEqual([]);
  });

  it("wrong tokens count against the admin throttle: 401, then 429 even for the right one", async () => {
    const from = { "x-forwarded-for": "203.0.113.66" };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await call("GET", "requests", undefined, {
        ...from,
        authorization: `Bearer wrong-${i}`,
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const right = await call("GET", "requests", undefined, {
      ...from,
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toMatch(/^\d+$/);
    // another address is unaffected
    const other = await call("GET", "requests", undefined, {
      "x-forwarded-for": "203.0.113.67",
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(other.status).toBe(200);
  });
});

describe("what a production demo needs", () => {
  it("is named by startupProblems, the one check the start-up refusal and the closed simulator call", async () => {
    const { startupProblems: simulatorProductionProblems } = await import("@/lib/startup-summary");
    const { parseEnv } = await import("@/lib/env");
    const demo = { NODE_ENV: "production", SIMULATOR_ENABLED: "true" };
    const problems = simulatorProductionProblems(parseEnv(demo));
    expect(problems.join("\n")).toMatch(/ADMIN_TOKEN/);
    expect(problems.join("\n")).toMatch(
      /VIDEO_WEBHOOK_SECRET, LAST_FRAME_WEBHOOK_SECRET, STITCH_WEBHOOK_SECRET/,
    );
    const complete = {
      ...demo,
      ADMIN_TOKEN,
      VIDEO_WEBHOOK_SECRET: "a",
      LAST_FRAME_WEBHOOK_SECRET: "b",
      STITCH_WEBHOOK_SECRET: "c",
    };
    expect(simulatorProductionProblems(parseEnv(complete))).toEqual([]);
    // Nothing to say when the simulator is off, or outside production.
    expect(simulatorProductionProblems(parseEnv({ NODE_ENV: "production" }))).toEqual([]);
    expect(simulatorProductionProblems(parseEnv({ NODE_ENV: "development" }))).toEqual([]);
  });
});

describe("a production demo without ADMIN_TOKEN (had the start-up check been skipped)", () => {
  it("keeps every simulator route closed, naming what is missing", async () => {
    applySettings({ NODE_ENV: "production", SIMULATOR_ENABLED: "true", ADMIN_TOKEN: undefined });
    const closed = simulatorCaller(await import("@/app/api/simulator/[...path]/route"), app.base);
    for (const [method, path] of [
      ["GET", "config"],
      ["POST", "video/api/v1/tasks/submit"],
      ["GET", "requests"],
    ] as const) {
      const response = await closed(method, path, method === "POST" ? {} : undefined, {
        authorization: "Bearer anything-at-all-0123456789",
      });
      expect(response.status, path).toBe(503);
      expect(response.json.error).toMatch(/ADMIN_TOKEN/);
    }
  });
});
