import path from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated PostgreSQL database each test file's own database is cloned from (null: PGlite). */
    templateDatabase: string | null;
  }
}

const TEMPLATE_PREFIX = "framechain_template_";

/**
 * Once per `npm test`: says which real backends this run uses and, on PostgreSQL, migrates
 * one template database. Each test file then gets `create database … template …` — a file
 * copy, where migrating every file's database from scratch cost seconds per file.
 */
export default async function setup(project: TestProject) {
  const adminUrl = process.env.TEST_DATABASE_URL;
  announceBackends(adminUrl);
  if (!adminUrl) {
    project.provide("templateDatabase", null);
    return;
  }

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await dropAbandonedTemplates(admin);
  // The pid keeps runs by other engineers on the same server apart.
  const name = `${TEMPLATE_PREFIX}${process.pid}`;
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const migrator = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(migrator), { migrationsFolder: path.resolve("drizzle") });
  } finally {
    // A template can only be copied while nobody is connected to it.
    await migrator.end();
  }
  project.provide("templateDatabase", name);

  return async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}

function announceBackends(adminUrl: string | undefined) {
  const db = adminUrl
    ? `PostgreSQL (TEST_DATABASE_URL=${adminUrl.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@")})`
    : "PGlite in memory (set TEST_DATABASE_URL to use PostgreSQL)";
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
    if (pid === process.pid || isRunning(pid)) continue;
    await admin.unsafe(`drop database if exists ${datname} with (force)`);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
