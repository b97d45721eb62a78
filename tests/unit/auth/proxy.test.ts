import { readdirSync } from "node:fs";
import path from "node:path";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * The proxy against the app's real route list: every page and route handler found under
 * app/ is either expected public or must refuse an unauthenticated request, so a route
 * added later cannot silently skip access control.
 */

const ADMIN_TOKEN = "test-admin-token-0123456789";
const ORIGIN = "http://127.0.0.1:3999";

/** Deliberately restated here (not imported from lib/auth): widening it must be a visible test change. */
const EXPECTED_PUBLIC = [
  /^\/api\/webhooks\//,
  /^\/api\/simulator\//,
  /^\/api\/health$/,
  /^\/api\/ping$/,
  /^\/api\/cron\/tick$/,
  /^\/sign-in$/,
];

type Route = { file: string; url: string; kind: "page" | "route" };

function collectRoutes(dir: string, segments: string[] = []): Route[] {
  const found: Route[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      const name = entry.name;
      if (name.startsWith("_") || name === "node_modules") continue; // private folders are not routes
      found.push(...collectRoutes(path.join(dir, name), [...segments, name]));
    } else if (/^(page|route)\.(tsx?|jsx?)$/.test(entry.name)) {
      const url = `/${segments
        .filter((s) => !/^\(.*\)$/.test(s) && !s.startsWith("@")) // route groups and parallel slots add no segment
        .map((s) => (/^\[\[?\.\.\./.test(s) ? "a/b" : /^\[.+\]$/.test(s) ? "x1" : s))
        .join("/")}`;
      found.push({
        file: path.join(dir, entry.name),
        url,
        kind: entry.name.startsWith("page") ? "page" : "route",
      });
    }
  }
  return found;
}

const routes = collectRoutes(path.resolve(__dirname, "../../../app"));
const isExpectedPublic = (url: string) => EXPECTED_PUBLIC.some((re) => re.test(url));
const protectedRoutes = routes.filter((r) => !isExpectedPublic(r.url));
const publicRoutes = routes.filter((r) => isExpectedPublic(r.url));

type Proxy = (request: NextRequest) => Promise<Response>;
const saved = { ...process.env };

async function loadProxy(settings: Record<string, string | undefined>): Promise<Proxy> {
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.resetModules();
  return (await import("@/proxy")).proxy as Proxy;
}

function request(url: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return new NextRequest(new URL(url, ORIGIN), {
    method: init.method ?? "GET",
    headers: init.headers,
  });
}
const passedThrough = (response: Response) => response.headers.get("x-middleware-next") === "1";

afterAll(() => {
  process.env = saved;
  vi.resetModules();
});

describe("route discovery", () => {
  it("finds the app's pages and API routes", async () => {
    const urls = routes.map((r) => r.url);
    expect(urls).toContain("/");
    expect(urls).toContain("/projects");
    expect(urls).toContain("/api/v1/projects");
    expect(urls).toContain("/api/v1/errors");
    expect(urls).toContain("/api/metrics");
    expect(urls).toContain("/sign-in");
    expect(urls).toContain("/api/health");
    expect(urls).toContain("/errors");
    expect(urls).toContain("/api/v1/webhook-events/x1/replay");
  });
});

describe("proxy with ADMIN_TOKEN set", () => {
  let proxy: Proxy;
  beforeAll(async () => {
    proxy = await loadProxy({ NODE_ENV: "test", ADMIN_TOKEN });
  });

  it.each(protectedRoutes.map((r) => [r.url, r] as const))(
    "refuses an unauthenticated request to %s",
    async (_url, route) => {
      const get = await proxy(request(route.url));
      if (route.kind === "page" || !route.url.startsWith("/api/")) {
        expect(get.status).toBe(307);
        const location = new URL(get.headers.get("location")!);
        expect(location.pathname).toBe("/sign-in");
        expect(location.searchParams.get("next")).toBe(route.url);
      } else {
        expect(get.status).toBe(401);
        expect(get.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      const post = await proxy(request(route.url, { method: "POST", headers: { origin: ORIGIN } }));
      expect(post.status).toBe(401);
    },
  );

  it.each(publicRoutes.map((r) => [r.url, r] as const))(
    "lets %s through without a token",
    async (_url, route) => {
      expect(passedThrough(await proxy(request(route.url)))).toBe(true);
      expect(passedThrough(await proxy(request(route.url, { method: "POST" })))).toBe(true);
    },
  );

  it("never blocks Next's static assets", async () => {
    expect(passedThrough(await proxy(request("/_next/static/chunks/main-abc.js")))).toBe(true);
    expect(passedThrough(await proxy(request("/_next/image?url=%2Fa.png&w=64&q=75")))).toBe(true);
  });

  it("does not let lookalike or encoded paths borrow a public prefix", async () => {
    for (const url of [
      "/api/healthz",
      "/api/health-admin",
      "/api/webhooksx/video-complete",
      "/api/webhooks/..%2Fv1%2Ferrors",
      "/api/webhooks/%2e%2e/v1/errors",
      "/sign-in-admin",
      "/api/v1/errors",
      "/unknown-page",
    ]) {
      expect(passedThrough(await proxy(request(url))), url).toBe(false);
    }
  });

  it("accepts the bearer token and refuses a wrong one", async () => {
    const ok = await proxy(
      request("/api/v1/errors", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    );
    expect(passedThrough(ok)).toBe(true);
    const post = await proxy(
      request("/api/v1/projects", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
    );
    expect(passedThrough(post)).toBe(true); // no Origin needed: a bearer token is not ambient
    for (const header of [
      `Bearer ${ADMIN_TOKEN}x`,
      "Bearer ",
      `Basic ${ADMIN_TOKEN}`,
      ADMIN_TOKEN,
    ]) {
      const refused = await proxy(
        request("/api/v1/errors", { headers: { authorization: header } }),
      );
      expect(refused.status, header).toBe(401);
    }
  });

  it("accepts the sign-in cookie on pages and the API, and refuses a forged or stale one", async () => {
    const { createSessionValue, SESSION_COOKIE } = await import("@/lib/auth/session");
    const cookie = `${SESSION_COOKIE}=${createSessionValue(ADMIN_TOKEN)}`;
    expect(passedThrough(await proxy(request("/projects", { headers: { cookie } })))).toBe(true);
    expect(passedThrough(await proxy(request("/api/metrics", { headers: { cookie } })))).toBe(true);

    const forged = `${SESSION_COOKIE}=${createSessionValue("some-other-token-0123456789")}`;
    expect((await proxy(request("/api/v1/errors", { headers: { cookie: forged } }))).status).toBe(
      401,
    );
    const stale = `${SESSION_COOKIE}=${createSessionValue(ADMIN_TOKEN, Date.now() - 8 * 86_400_000)}`;
    expect((await proxy(request("/errors", { headers: { cookie: stale } }))).status).toBe(307);
    const raw = `${SESSION_COOKIE}=${ADMIN_TOKEN}`;
    expect((await proxy(request("/api/v1/errors", { headers: { cookie: raw } }))).status).toBe(401);
  });

  it("refuses cookie-authenticated writes from another origin (CSRF) and accepts same-origin ones", async () => {
    const { createSessionValue, SESSION_COOKIE } = await import("@/lib/auth/session");
    const cookie = `${SESSION_COOKIE}=${createSessionValue(ADMIN_TOKEN)}`;
    const post = async (headers: Record<string, string>) =>
      await proxy(
        request("/api/v1/errors/1/dismiss", { method: "POST", headers: { cookie, ...headers } }),
      );

    const refusedHeaders: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { origin: "http://127.0.0.1:3999.evil.example" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      {},
    ];
    for (const headers of refusedHeaders) {
      const response = await post(headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(await response.json()).toEqual({ error: "Cross-site request refused" });
    }
    expect(passedThrough(await post({ origin: ORIGIN }))).toBe(true);
    expect(passedThrough(await post({ "sec-fetch-site": "same-origin" }))).toBe(true);
    // Host and X-Forwarded-Host are the client's word: they never make an origin ours (issue 11 item 9).
    const foreign: Record<string, string>[] = [
      { origin: "https://app.example", "x-forwarded-host": "app.example" },
      { origin: "https://app.example", host: "app.example" },
      { origin: "https://127.0.0.1:3999" }, // same host and port, other scheme
      { origin: "http://127.0.0.1:4000" }, // same host, other port
    ];
    for (const headers of foreign) {
      expect((await post(headers)).status, JSON.stringify(headers)).toBe(403);
    }
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const response = await proxy(
        request("/api/v1/projects/x1", {
          method,
          headers: { cookie, origin: "https://evil.example" },
        }),
      );
      expect(response.status, method).toBe(403);
    }
    // Reads carry no CSRF risk worth refusing (SameSite=Strict already keeps the cookie home).
    expect(
      passedThrough(
        await proxy(
          request("/api/v1/errors", { headers: { cookie, origin: "https://evil.example" } }),
        ),
      ),
    ).toBe(true);
  });

  it("keeps the query string in the sign-in redirect", async () => {
    const response = await proxy(request("/errors?type=service&severity=error"));
    expect(new URL(response.headers.get("location")!).searchParams.get("next")).toBe(
      "/errors?type=service&severity=error",
    );
  });
});

describe("proxy in production with no ADMIN_TOKEN", () => {
  let proxy: Proxy;
  beforeAll(async () => {
    proxy = await loadProxy({ NODE_ENV: "production", ADMIN_TOKEN: undefined });
  });

  it.each(protectedRoutes.map((r) => [r.url] as const))("keeps %s closed", async (url) => {
    const response = await proxy(request(url));
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("set ADMIN_TOKEN");
  });

  it("still serves callbacks, health and the sign-in page", async () => {
    for (const route of publicRoutes)
      expect(passedThrough(await proxy(request(route.url))), route.url).toBe(true);
  });
});

describe("proxy in development with no ADMIN_TOKEN", () => {
  let proxy: Proxy;
  beforeAll(async () => {
    proxy = await loadProxy({ NODE_ENV: "development", ADMIN_TOKEN: undefined });
  });

  it("is open to local tools, but not to writes from another site's pages", async () => {
    expect(passedThrough(await proxy(request("/api/v1/errors")))).toBe(true);
    expect(passedThrough(await proxy(request("/api/v1/projects", { method: "POST" })))).toBe(true);
    expect(
      passedThrough(
        await proxy(request("/api/v1/projects", { method: "POST", headers: { origin: ORIGIN } })),
      ),
    ).toBe(true);
    const csrf = await proxy(
      request("/api/v1/projects", { method: "POST", headers: { origin: "https://evil.example" } }),
    );
    expect(csrf.status).toBe(403);
  });
});
