import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  APP,
  idContext,
  json,
  loadProxy,
  passedThrough,
  proxyRequest,
  restoreSettings,
  warmDatabase,
} from "./helpers";

/**
 * Issue 11 item 7: input that can name nothing, or that the database cannot hold, gets
 * 404/400/405 — never a 500. Replayed through the real proxy (what a browser or curl hits
 * first), the real route handlers (what the proxy lets through), and a real HTTP server
 * for what never becomes a fetch Request (TRACE, `GET *`).
 */

const BAD_SEGMENTS = ["%00", "%ff", "%c0%af", "a%00b", "%0a", "%e2%82"];
const PATHS = (seg: string) => [
  `/api/v1/projects/${seg}`,
  `/api/v1/projects/${seg}/start`,
  `/api/v1/projects/${seg}/cancel`,
  `/api/v1/projects/${seg}/retry`,
  `/api/v1/projects/${seg}/events`,
  `/api/v1/errors/${seg}/dismiss`,
  `/api/v1/webhook-events/${seg}/replay`,
  `/projects/${seg}`,
  `/api/webhooks/${seg}`,
  `/api/simulator/media/${seg}/video.mp4`,
];

afterAll(restoreSettings);

describe("through the proxy, signed in", () => {
  const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it.each(BAD_SEGMENTS)("a path segment %s is a 404 on every route", async (seg) => {
    const proxy = await loadProxy({ ADMIN_TOKEN, NODE_ENV: "production" });
    for (const path of PATHS(seg)) {
      for (const method of ["GET", "POST"]) {
        const response = await proxy(proxyRequest(path, { method, headers: bearer }));
        expect(response.status, `${method} ${path}`).toBe(404);
      }
    }
  });

  it("a query value with a NUL is a 400, on the API and on the pages", async () => {
    const proxy = await loadProxy({ ADMIN_TOKEN });
    for (const target of [
      "/api/v1/errors?project_id=%00",
      "/api/v1/webhook-events?project_id=a%00",
      "/api/v1/projects?status=%00",
      "/errors?project_id=%00",
      "/projects?x%00=1",
    ]) {
      const response = await proxy(proxyRequest(target, { headers: bearer }));
      expect(response.status, target).toBe(400);
    }
  });

  it("well-formed ids and queries still go through", async () => {
    const proxy = await loadProxy({ ADMIN_TOKEN });
    for (const target of [
      "/api/v1/projects/prj_abc",
      "/api/v1/projects/caf%C3%A9",
      "/api/v1/errors?project_id=prj_abc&type=service",
      "/projects/prj_abc?x=%ff", // invalid UTF-8 in a query decodes to U+FFFD: harmless
    ]) {
      expect(passedThrough(await proxy(proxyRequest(target, { headers: bearer }))), target).toBe(
        true,
      );
    }
  });
});

describe("the route handlers, given what Next decodes", () => {
  const ids = ["\u0000", "a\u0000b", "\ud800", "x\udfffy", "\u0007", "x".repeat(201)];
  let routes: {
    project: typeof import("@/app/api/v1/projects/[id]/route");
    start: typeof import("@/app/api/v1/projects/[id]/start/route");
    cancel: typeof import("@/app/api/v1/projects/[id]/cancel/route");
    retry: typeof import("@/app/api/v1/projects/[id]/retry/route");
    events: typeof import("@/app/api/v1/projects/[id]/events/route");
    dismiss: typeof import("@/app/api/v1/errors/[id]/dismiss/route");
    replay: typeof import("@/app/api/v1/webhook-events/[id]/replay/route");
    projects: typeof import("@/app/api/v1/projects/route");
    errors: typeof import("@/app/api/v1/errors/route");
    webhookEvents: typeof import("@/app/api/v1/webhook-events/route");
  };
  beforeAll(async () => {
    restoreSettings();
    await warmDatabase();
    routes = {
      project: await import("@/app/api/v1/projects/[id]/route"),
      start: await import("@/app/api/v1/projects/[id]/start/route"),
      cancel: await import("@/app/api/v1/projects/[id]/cancel/route"),
      retry: await import("@/app/api/v1/projects/[id]/retry/route"),
      events: await import("@/app/api/v1/projects/[id]/events/route"),
      dismiss: await import("@/app/api/v1/errors/[id]/dismiss/route"),
      replay: await import("@/app/api/v1/webhook-events/[id]/replay/route"),
      projects: await import("@/app/api/v1/projects/route"),
      errors: await import("@/app/api/v1/errors/route"),
      webhookEvents: await import("@/app/api/v1/webhook-events/route"),
    };
  });

  it.each(ids.map((id) => [JSON.stringify(id).slice(0, 20), id]))(
    "id %s is a 404 on every [id] route",
    async (_label, id) => {
      const url = `${APP}/api/v1/projects/x`;
      const get = () => new Request(url);
      const post = () => new Request(url, { method: "POST" });
      const answers = [
        await routes.project.GET(get(), idContext(id)),
        await routes.start.POST(post(), idContext(id)),
        await routes.cancel.POST(post(), idContext(id)),
        await routes.retry.POST(post(), idContext(id)),
        await routes.events.GET(get(), idContext(id)),
        await routes.dismiss.POST(post(), idContext(id)),
        await routes.replay.POST(post(), idContext(id)),
      ];
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 404));
    },
  );

  it("a query value with a NUL or a lone surrogate is a 400 with the issue", async () => {
    for (const [route, query] of [
      [routes.errors, "project_id=%00"],
      [routes.errors, "type=%00"],
      [routes.webhookEvents, "project_id=a%00b"],
      [routes.projects, "cursor=%00"],
    ] as const) {
      const response = await route.GET(new Request(`${APP}/api/v1/x?${query}`));
      expect(response.status, query).toBe(400);
      expect(await json(response)).toMatchObject({
        error: expect.any(String),
        issues: expect.any(Array),
      });
    }
  });

  it("POST /api/v1/projects with a NUL or invalid Unicode anywhere is a 400, and nothing is created", async () => {
    const before = await json(await routes.projects.GET(new Request(`${APP}/api/v1/projects`)));
    for (const body of [
      '{"name":"a\\u0000b","scenes":[{"prompt":"x"}]}',
      '{"name":"ok","scenes":[{"prompt":"x\\u0000"}]}',
      '{"name":"\\ud800","scenes":[{"prompt":"x"}]}',
      '{"name":"ok","scenes":[{"prompt":"x"}],"start_image_url":"https://a.test/\\u0000"}',
      '{"na\\u0000me":"ok","scenes":[{"prompt":"x"}]}',
      `{"name":"ok","scenes":[{"prompt":"x"}],"deep":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    ]) {
      const response = await routes.projects.POST(
        new Request(`${APP}/api/v1/projects`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        }),
      );
      expect(response.status, body.slice(0, 60)).toBe(400);
      expect(await json(response)).toMatchObject({ issues: expect.any(Array) });
    }
    const after = await json(await routes.projects.GET(new Request(`${APP}/api/v1/projects`)));
    expect(after.items).toEqual(before.items);
  });
});

describe("what never becomes a fetch Request: the HTTP server's guard", () => {
  let server: Server;
  let port: number;
  const reached: string[] = [];

  beforeAll(async () => {
    const { guardRequests } = await import("@/lib/http/raw-guard");
    // Stands in for Next's server: it builds a fetch Request from every request, as Next does.
    server = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      try {
        new Request(new URL(req.url ?? "", "http://127.0.0.1"), { method: req.method });
        res.writeHead(200).end("ok");
      } catch {
        res.writeHead(500).end("Internal Server Error");
      }
    });
    guardRequests(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** A raw request with exactly this method and request target (curl -X … --request-target …). */
  const send = (method: string, path: string) =>
    new Promise<{ status: number; allow?: string; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method, path }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }),
        );
      });
      req.on("error", reject);
      req.end();
    });

  it.each(["/", "/api/v1/projects", "/api/webhooks/video-complete", "/sign-in"])(
    "TRACE %s is a 405 with Allow, and never reaches the app",
    async (path) => {
      reached.length = 0;
      const answer = await send("TRACE", path);
      expect(answer.status).toBe(405);
      expect(answer.allow).toMatch(/GET/);
      expect(answer.allow).not.toMatch(/TRACE/);
      expect(reached).toEqual([]);
    },
  );

  it("TRACK is refused with a 4xx (Node's own parser does not know it)", async () => {
    const { status } = await send("TRACK", "/");
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  it.each([
    ["GET", "*"],
    ["OPTIONS", "*"],
    ["GET", "http://evil.example/api/v1/projects"],
  ])("%s %s is a 400", async (method, target) => {
    reached.length = 0;
    const answer = await send(method, target);
    expect(answer.status).toBe(400);
    expect(reached).toEqual([]);
  });

  it("ordinary requests go on to the app", async () => {
    expect(await send("GET", "/api/v1/projects")).toMatchObject({ status: 200, body: "ok" });
    expect((await send("OPTIONS", "/api/v1/projects")).status).toBe(200);
  });
});
