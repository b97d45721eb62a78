import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import postgres from "postgres";
import * as schema from "@/lib/db/schema";
import { jobKey } from "@/lib/pipeline/transition";

/**
 * The scripts' own handle on the app's database: a fresh PostgreSQL database per run
 * (created from DATABASE_URL, dropped afterwards), or a fresh PGlite directory — which
 * the script may only open while the server is NOT running (PGlite is single-process).
 */

export type ScriptDb = PgDatabase<PgQueryResultHKT, typeof schema>;

export type FreshPostgres = { url: string; name: string; drop(): Promise<void> };

/** `create database framechain_<label>_<random>` next to the one DATABASE_URL names. */
export async function createFreshPostgres(adminUrl: string, label: string): Promise<FreshPostgres> {
  const name = `framechain_${label}_${randomBytes(5).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 2 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await again.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await again.end({ timeout: 2 });
      }
    },
  };
}

export type OpenDb = { kind: "postgres" | "pglite"; db: ScriptDb; close(): Promise<void> };

/** Connects and applies the app's migrations (the server does the same at start; it skips applied ones). */
export async function openDb(
  target: { postgresUrl: string } | { pgliteDir: string },
  appDir: string,
): Promise<OpenDb> {
  const migrationsFolder = path.join(appDir, "drizzle");
  if ("postgresUrl" in target) {
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(target.postgresUrl, { max: 4, onnotice: () => {} });
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder });
    return {
      kind: "postgres",
      db: db as unknown as ScriptDb,
      close: () => client.end({ timeout: 2 }),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  mkdirSync(path.dirname(path.resolve(target.pgliteDir)), { recursive: true });
  const client: PGlite = new PGlite(target.pgliteDir);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return { kind: "pglite", db: db as unknown as ScriptDb, close: () => client.close() };
}

/** Rows of a raw `db.execute` on either driver (postgres.js: the array; PGlite: `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export async function query<T>(db: ScriptDb, statement: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(statement));
}

const PROMPT = "a lighthouse at dusk, slow pan";

/** One seeded scene whose video job is waiting for its callback. */
export type WaitingScene = { projectId: string; sceneId: string; jobId: string; taskId: string };

/** Seeded ids are deterministic: `<prefix>_<n>`, so a seed can be extended later without clashes. */
export function waitingSceneIds(prefix: string, n: number): WaitingScene {
  const suffix = String(n).padStart(7, "0");
  return {
    projectId: `prj_${prefix}${suffix}`,
    sceneId: `scn_${prefix}${suffix}`,
    jobId: `job_${prefix}${suffix}`,
    taskId: `task_${prefix}${suffix}`,
  };
}

/**
 * Inserts one-scene projects in the state a real run reaches after the video service
 * accepted scene 1's request: project `generating`, scene `generating_video` (attempt 1),
 * its generate_video job `waiting` with the service's task id. Each is one real, applicable
 * video-complete callback away from its next stage. Scenes [from, from + count).
 */
export async function seedWaitingScenes(
  db: ScriptDb,
  prefix: string,
  from: number,
  count: number,
  batch = 1000,
) {
  const deadline = new Date(Date.now() + 6 * 3600_000);
  for (let start = from; start < from + count; start += batch) {
    const ids = Array.from({ length: Math.min(batch, from + count - start) }, (_, i) =>
      waitingSceneIds(prefix, start + i),
    );
    const payloadOf = (s: WaitingScene) => ({
      scene_id: s.sceneId,
      scene_number: 1,
      prompt: PROMPT,
      start_image_url: null,
      duration: 5,
    });
    await db.transaction(async (tx) => {
      await tx.insert(schema.projects).values(
        ids.map((s) => ({
          id: s.projectId,
          name: `bench ${s.projectId}`,
          status: "generating" as const,
        })),
      );
      await tx.insert(schema.scenes).values(
        ids.map((s) => ({
          id: s.sceneId,
          projectId: s.projectId,
          number: 1,
          prompt: PROMPT,
          duration: 5,
          status: "generating_video" as const,
          attempts: 1,
        })),
      );
      await tx.insert(schema.jobs).values(
        ids.map((s) => ({
          id: s.jobId,
          kind: "generate_video" as const,
          key: jobKey(s.projectId, 1, {
            kind: "generate_video",
            sceneId: s.sceneId,
            attempt: 1,
            payload: payloadOf(s),
          }),
          projectId: s.projectId,
          sceneId: s.sceneId,
          status: "waiting" as const,
          attempt: 1,
          deliveries: 1,
          deadlineAt: deadline,
          externalTaskId: s.taskId,
          payload: payloadOf(s),
        })),
      );
    });
  }
}
