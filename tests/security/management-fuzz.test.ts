import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  APP,
  idContext,
  loadProxy,
  passedThrough,
  proxyRequest,
  restoreSettings,
  warmDatabase,
} from "./helpers";

/**
 * Issue 11: a fuzz of the management API — ids, query strings and bodies — asserting that
 * nothing a client sends gets a 5xx while the database is up. Ids and query strings go in
 * two ways: raw bytes through the real proxy (what can arrive on the wire), and any
 * UTF-16 string (lone surrogates and NULs included) straight into the route handlers.
 */

const RUNS = 150;
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);

/** Any UTF-16 string, weighted towards the troublesome code units. */
const anyText = (maxLength = 12) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom(0, 0x0a, 0x7f, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xfeff),
      ),
      { maxLength },
    )
    .map((units) => String.fromCharCode(...units));

/** A raw path segment or query component as bytes on the wire: percent-escapes of any byte, and plain characters. */
const rawComponent = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, "0")}`),
      fc.constantFrom("a", "prj_", "1", ".", "-", "~", "_", "%", "%2", "+"),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(""));

afterAll(restoreSettings);

type Handler = (request: Request, ctx: { params: Promise<{ id: string }> }) => Promise<Response>;

let idRoutes: [string, "GET" | "POST", Handler][];
let listRoutes: [string, (request: Request) => Promise<Response>][];
let createProject: (request: Request) => Promise<Response>;

beforeAll(async () => {
  restoreSettings();
  await warmDatabase();
  const project = await import("@/app/api/v1/projects/[id]/route");
  const start = await import("@/app/api/v1/projects/[id]/start/route");
  const cancel = await import("@/app/api/v1/projects/[id]/cancel/route");
  const retry = await import("@/app/api/v1/projects/[id]/retry/route");
  const events = await import("@/app/api/v1/projects/[id]/events/route");
  const dismiss = await import("@/app/api/v1/errors/[id]/dismiss/route");
  const replay = await import("@/app/api/v1/webhook-events/[id]/replay/route");
  const projects = await import("@/app/api/v1/projects/route");
  const errors = await import("@/app/api/v1/errors/route");
  const stats = await import("@/app/api/v1/errors/stats/route");
  const webhookEvents = await import("@/app/api/v1/webhook-events/route");
  idRoutes = [
    ["/api/v1/projects/{id}", "GET", project.GET as Handler],
    ["/api/v1/projects/{id}/start", "POST", start.POST as Handler],
    ["/api/v1/projects/{id}/cancel", "POST", cancel.POST as Handler],
    ["/api/v1/projects/{id}/retry", "POST", retry.POST as Handler],
    ["/api/v1/projects/{id}/events", "GET", events.GET as Handler],
    ["/api/v1/errors/{id}/dismiss", "POST", dismiss.POST as Handler],
    ["/api/v1/webhook-events/{id}/replay", "POST", replay.POST as Handler],
  ];
  listRoutes = [
    ["/api/v1/projects", projects.GET],
    ["/api/v1/errors", errors.GET],
    ["/api/v1/errors/stats", stats.GET as (request: Request) => Promise<Response>],
    ["/api/v1/webhook-events", webhookEvents.GET],
  ];
  createProject = projects.POST;
});

/** Calls a handler and releases a stream it may have opened (an SSE response for a real id). */
async function statusOf(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.body?.cancel().catch(() => {});
  return r.status;
}

describe("ids", () => {
  it("any string as an [id] never gets a 5xx from any route", async () => {
    await fc.assert(
      fc.asyncProperty(anyText(), fc.integer({ min: 0, max: 6 }), async (id, which) => {
        const [path, method, handler] = idRoutes[which]!;
        const url = `${APP}${path.replace("{id}", "x")}`;
        const status = await statusOf(
          handler(new Request(url, { method, signal: AbortSignal.abort() }), idContext(id)),
        );
        expect(status, `${method} ${path} id=${JSON.stringify(id)}`).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("any bytes as a path segment: the proxy never fails, and what it lets through never gets a 5xx", async () => {
    const proxy = await loadProxy({ ADMIN_TOKEN });
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await fc.assert(
      fc.asyncProperty(rawComponent, fc.integer({ min: 0, max: 6 }), async (segment, which) => {
        const [path, method, handler] = idRoutes[which]!;
        const target = path.replace("{id}", segment || "x");
        const front = await proxy(proxyRequest(target, { method, headers: auth }));
        expect(front.status, `proxy ${method} ${target}`).toBeLessThan(500);
        if (!passedThrough(front)) return;
        // What Next hands the route: the segment decoded (it decoded, or the proxy had said 404).
        const id = decodeURIComponent(segment || "x");
        const status = await statusOf(
          handler(
            new Request(`${APP}${target}`, { method, signal: AbortSignal.abort() }),
            idContext(id),
          ),
        );
        expect(status, `${method} ${target}`).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    restoreSettings();
  });
});

describe("query strings", () => {
  const knownKeys = [
    "status",
    "limit",
    "cursor",
    "type",
    "severity",
    "project_id",
    "source",
    "outcome",
    "include_dismissed",
  ];

  it("any keys and values, raw on the wire, never get a 5xx from the list endpoints", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...knownKeys), rawComponent), rawComponent), {
          maxLength: 4,
        }),
        fc.integer({ min: 0, max: 3 }),
        async (pairs, which) => {
          const [path, handler] = listRoutes[which]!;
          const query = pairs.map(([k, v]) => `${k}=${v}`).join("&");
          let url: string;
          try {
            url = new URL(`${APP}${path}?${query}`).toString();
          } catch {
            return; // not a URL at all: no client could send it
          }
          const status = await statusOf(handler(new Request(url)));
          expect(status, `GET ${path}?${query}`).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("any text as a value (NULs, lone surrogates) is at worst a 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...knownKeys),
        anyText(),
        fc.integer({ min: 0, max: 3 }),
        async (key, value, which) => {
          const [path, handler] = listRoutes[which]!;
          const url = new URL(`${APP}${path}`);
          url.searchParams.set(key, value);
          const status = await statusOf(handler(new Request(url)));
          expect(status, `GET ${path}?${key}=${JSON.stringify(value)}`).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe("bodies of POST /api/v1/projects", () => {
  const post = (body: string) =>
    createProject(
      new Request(`${APP}/api/v1/projects`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
    );

  it("any JSON value never gets a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const status = await statusOf(post(JSON.stringify(value) ?? "null"));
        expect(status).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("near-valid projects with any text and any field types never get a 5xx", async () => {
    const anyValue = fc.oneof(
      anyText(40),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
    );
    // Mostly the right shape, so that what varies is the text the database must hold.
    const mostly = <T, U>(right: fc.Arbitrary<T>, wrong: fc.Arbitrary<U>) =>
      fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: wrong });
    await fc.assert(
      fc.asyncProperty(
        mostly(anyText(40), anyValue),
        mostly(
          fc.array(
            fc.record({
              prompt: mostly(anyText(60), anyValue),
              duration: mostly(fc.integer({ min: 1, max: 60 }), anyValue),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          anyValue,
        ),
        fc.oneof(
          fc.constant(undefined),
          fc.webUrl(),
          fc.webUrl().map((u) => `${u}${String.fromCharCode(0)}`),
          anyText(30),
          anyValue,
        ),
        fc.constantFrom(undefined, false),
        async (name, scenes, startImage, autostart) => {
          const body = JSON.stringify({ name, scenes, start_image_url: startImage, autostart });
          const status = await statusOf(post(body));
          expect(status, body.slice(0, 200)).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("any text as the raw body never gets a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(anyText(80), async (raw) => {
        expect(await statusOf(post(raw))).toBeLessThan(500);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
