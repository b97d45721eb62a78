import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { afterAll, inject, vi } from "vitest";

/**
 * Gives each test file its own fresh, migrated database: a new PostgreSQL database when
 * TEST_DATABASE_URL is set (CI), a PGlite otherwise — each a copy of the template
 * tests/setup/global.ts migrated once for the whole run. Runs before the test file imports
 * anything, so lib/env picks these up.
 */
const adminUrl = process.env.TEST_DATABASE_URL;

if (adminUrl) {
  const name = `framechain_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const template = inject("templateDatabase");
  await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ""}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();

  afterAll(async () => {
    const { closeDb } = await import("@/lib/db/client");
    await closeDb();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
} else {
  delete process.env.DATABASE_URL;
  // A copy of the migrated data directory opens in about a second; a new PGlite runs initdb
  // and every migration first (several seconds a file, half a minute on a busy machine).
  const template = inject("pgliteTemplateDir");
  const copy = template ? mkdtempSync(`${template}-file-`) : null;
  if (template && copy) cpSync(template, path.join(copy, "pglite"), { recursive: true });
  process.env.PGLITE_DATA_DIR = copy ? path.join(copy, "pglite") : "memory://";

  afterAll(async () => {
    const { closeDb } = await import("@/lib/db/client");
    await closeDb();
    if (copy) rmSync(copy, { recursive: true, force: true });
  });
}

/**
 * `after()` only works inside a Next request. Route handlers called directly in tests get
 * this stand-in, which keeps the callbacks so a test can run them when it chooses
 * (`runAfterResponse()` in tests/helpers/after.ts): deterministic, and never racing teardown.
 */
vi.mock("next/server", async (importOriginal) => {
  const actual = await importOriginal<typeof import("next/server")>();
  return {
    ...actual,
    after: (task: (() => unknown) | Promise<unknown>) => {
      const store = globalThis as { __afterQueue?: unknown[] };
      store.__afterQueue ??= [];
      store.__afterQueue.push(task);
    },
  };
});
