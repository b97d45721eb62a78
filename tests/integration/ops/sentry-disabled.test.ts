import { afterAll, describe, expect, it, vi } from "vitest";

/**
 * Without SENTRY_DSN, a whole server start (instrumentation's register(): settings, database,
 * dispatch) leaves Sentry uninitialised. Here and not in unit/: it opens this file's database.
 */

const saved = { ...process.env };
afterAll(async () => {
  const { closeDb } = await import("@/lib/db/client");
  await closeDb();
  process.env = saved;
});

describe("Sentry without SENTRY_DSN", () => {
  it("is never initialised: register() leaves no client, so nothing is sent anywhere", async () => {
    delete process.env.SENTRY_DSN;
    process.env.NEXT_RUNTIME = "nodejs";
    // On PostgreSQL, register() would start the dispatch thread: not this test's subject
    // (tests/integration/jobs covers it), and a thread outliving the file is just noise.
    process.env.DISPATCH_IN_WEB = "false";
    vi.resetModules();
    const Sentry = await import("@sentry/nextjs");
    const { register } = await import("@/instrumentation");
    await register();
    expect(Sentry.getClient()).toBeUndefined();
    expect(Sentry.isInitialized()).toBe(false);
    const { initServerSentry } = await import("@/sentry.server.config");
    expect(initServerSentry()).toBe(false);
    expect(Sentry.getClient()).toBeUndefined();
  });
});
