import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GET } from "@/app/api/health/route";

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});

// The health check gives the database 3 s to answer. Opening it (PGlite: compile and migrate)
// is start-up's work, not the check's: done here, so a busy machine cannot fail the test.
beforeAll(async () => {
  await (await import("@/lib/db/client")).getDb();
}, 120_000);

describe("GET /api/health", () => {
  it("reports the database and the rate-limit backend healthy, with latencies", async () => {
    const response = await GET();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = await response.json();
    expect(body).toMatchObject({
      status: "healthy",
      checks: {
        database: {
          ok: true,
          kind: process.env.TEST_DATABASE_URL ? "postgres" : "pglite",
          latency_ms: expect.any(Number),
        },
        rate_limit: { ok: true, backend: "memory", latency_ms: expect.any(Number) },
      },
      timestamp: expect.any(String),
    });
  });

  it("answers 503 degraded, naming no host, when the database cannot be reached", async () => {
    // Drop this file's database connection, then point a fresh module graph at a port where nothing listens.
    const { closeDb } = await import("@/lib/db/client");
    await closeDb();
    process.env.DATABASE_URL = "postgres://nobody:hunter2@127.0.0.1:1/nothing";
    vi.resetModules();
    const fresh = await import("@/app/api/health/route");
    const response = await fresh.GET();
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("127.0.0.1");
    const body = JSON.parse(text);
    expect(body.status).toBe("degraded");
    expect(body.checks.database).toMatchObject({ ok: false, error: "unreachable" });
    expect(body.checks.rate_limit.ok).toBe(true);
    process.env = { ...saved };
    vi.resetModules();
  });
});

describe.runIf(process.env.TEST_REDIS_URL)("GET /api/health with REDIS_URL", () => {
  it("pings the Redis backend", async () => {
    process.env = { ...saved, REDIS_URL: process.env.TEST_REDIS_URL };
    vi.resetModules();
    const fresh = await import("@/app/api/health/route");
    const body = await (await fresh.GET()).json();
    expect(body.checks.rate_limit).toMatchObject({ ok: true, backend: "redis" });
    const { closeRateLimiters } = await import("@/lib/ratelimit");
    await closeRateLimiters();
  });

  it("reports an unreachable Redis without failing the whole check", async () => {
    process.env = { ...saved, REDIS_URL: "redis://127.0.0.1:1/0" };
    vi.resetModules();
    const fresh = await import("@/app/api/health/route");
    const response = await fresh.GET();
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.checks.rate_limit).toMatchObject({
      ok: false,
      backend: "redis",
      error: "unreachable",
    });
    const { closeRateLimiters } = await import("@/lib/ratelimit");
    await closeRateLimiters();
  });
});
