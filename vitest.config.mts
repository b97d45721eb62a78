import { availableParallelism } from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = {
  "@": path.resolve(import.meta.dirname),
  // `server-only` throws outside Next's react-server build; tests run the same modules in Node.
  "server-only": path.resolve(import.meta.dirname, "tests/setup/empty-module.ts"),
};

/** Secrets the tests sign with; real deployments set their own (there are no defaults). */
const testEnv = {
  NODE_ENV: "test" as const,
  VIDEO_WEBHOOK_SECRET: "test-video-secret",
  LAST_FRAME_WEBHOOK_SECRET: "test-last-frame-secret",
  STITCH_WEBHOOK_SECRET: "whsec_dGVzdC1zdGl0Y2gtc2VjcmV0LWJ5dGVz",
  APP_URL: "http://127.0.0.1:3999",
  DISPATCH_SWEEP_INTERVAL_MS: "0",
  LOG_LEVEL: "silent",
  // Never the developer's .data/ directory (integration files get their own database anyway).
  PGLITE_DATA_DIR: "memory://",
  // Suites send far more than 100 callbacks a minute from one address; rate-limit tests set their own.
  RATE_LIMIT_VIDEO: "100000/1m",
  RATE_LIMIT_LAST_FRAME: "100000/1m",
  RATE_LIMIT_STITCH: "100000/1m",
};

export default defineConfig({
  resolve: { alias },
  test: {
    // Migrates the database each test file gets a copy of (PostgreSQL or PGlite); names the backends.
    globalSetup: ["tests/setup/global.ts"],
    // One worker per core, plus one: a test file spends much of its time waiting on
    // PostgreSQL, Redis or a child process (vitest's default is one less than the cores: 1 here).
    maxWorkers: availableParallelism() + 1,
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          env: testEnv,
          // Timeouts only catch a hang: two CPU hogs stretched a simulator test past the 5 s default.
          testTimeout: 30_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          setupFiles: ["tests/setup/database.ts"],
          env: testEnv,
          // A hang detector: the first test of a file also opens its database, slow under load.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          // tests/security: issue 11's holes replayed from outside (real Requests against the
          // real proxy and route handlers), each asserting the fixed behaviour; plus a fuzz
          // of the management API. Same environment as the integration suites.
          name: "security",
          include: ["tests/security/**/*.test.ts"],
          setupFiles: ["tests/setup/database.ts"],
          env: testEnv,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias },
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          // One `next build` for every e2e file, before the first starts.
          globalSetup: ["tests/e2e/harness/global-build.ts"],
          testTimeout: 120_000,
          // A file's servers and browser start in its hooks (`next dev`: minutes on busy cores).
          hookTimeout: 240_000,
          // Each file runs its own servers and browser: two files at a time (they mostly wait on
          // servers, services and timers), after the other projects (a later group).
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
