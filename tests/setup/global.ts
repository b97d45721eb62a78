import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as pgliteDrizzle } from "drizzle-orm/pglite";
import { migrate as pgliteMigrate } from "drizzle-orm/pglite/migrator";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { isAlive } from "@/lib/db/data-dir-lock";
import { migratePostgres } from "@/lib/db/migrations";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated PostgreSQL database each test file's own database is cloned from. */
    templateDatabase: string | null;
    /** Without PostgreSQL: a migrated PGlite data directory each test file gets a copy of. */
    pgliteTemplateDir: string | null;
  }
}

const TEMPLATE_PREFIX = "framechain_template_";
const MIGRATIONS = path.resolve("drizzle");

/**
 * Once per `npm test`: says which real backends this run uses and migrates one template
 * database — on PostgreSQL a database each test file clones (`create database … template …`),
 * else a PGlite data directory each file copies — where every file used to create and
 * migrate its own from scratch (seconds per file).
 */
export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_URL;
  announceBackends(adminUrl);
  if (!adminUrl) {
    project.provide("templateDatabase", null);
    return pgliteTemplate(project);
  }
  project.provide("pgliteTemplateDir", null);

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await dropAbandonedTemplates(admin);
  // The pid keeps runs by other engineers on the same server apart.
  const name = `${TEMPLATE_PREFIX}${process.pid}`;
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // Ends its connection when done: a template is copied only while nobody is connected to it.
  await migratePostgres(url.toString(), MIGRATIONS);
  project.provide("templateDatabase", name);

  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}

async function pgliteTemplate(project: TestProject) {
  // In memory (tmpfs) when the machine has it: the copies are written to all the time.
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const root = mkdtempSync(path.join(base, "framechain-pglite-"));
  const dir = path.join(root, "template");
  const client = new PGlite(dir);
  try {
    await pgliteMigrate(pgliteDrizzle(client), { migrationsFolder: MIGRATIONS });
  } finally {
    await client.close();
  }
  project.provide("pgliteTemplateDir", dir);
  return () => rmSync(root, { recursive: true, force: true });
}

function announceBackends(adminUrl: string | undefined) {
  const db = adminUrl
    ? `PostgreSQL (TEST_DATABASE_URL=${adminUrl.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")})`
    : "PGlite, a copy per test file (set TEST_DATABASE_URL to use PostgreSQL)";
  const redis = process.env.TEST_REDIS_URL
    ? `Redis (TEST_REDIS_URL=${process.env.TEST_REDIS_URL})`
    : "none — Redis rate-limit tests skipped (set TEST_REDIS_URL to run them)";
  console.log(`\nFramechain tests\n  database: ${db}\n  redis:    ${redis}\n`);
}

/** Templates of runs that were killed before their teardown (their process is gone). */
async function dropAbandonedTemplates(admin: postgres.Sql) {
  const rows = await admin<{ datname: string }[]>`
    select datname from pg_database where datname like ${`${TEMPLATE_PREFIX}%`}`;
  for (const { datname } of rows) {
    const pid = Number(datname.slice(TEMPLATE_PREFIX.length));
    if (pid === process.pid || isAlive(pid)) continue;
    await admin.unsafe(`drop database if exists ${datname} with (force)`);
  }
}
