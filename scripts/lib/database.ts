import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { type SQL, sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { migratePostgres } from "@/lib/db/migrations";
import * as schema from "@/lib/db/schema";

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

/** application_name of the scripts' own PostgreSQL sessions. */
export const SCRIPT_APPLICATION_NAME = "framechain-bench";

export type OpenDb = { kind: "postgres" | "pglite"; db: ScriptDb; close(): Promise<void> };

/** Applies the app's migrations (the deploy step: production servers refuse an unmigrated database) and connects. */
export async function openDb(
  target: { postgresUrl: string; connection?: Record<string, string> } | { pgliteDir: string },
  appDir: string,
): Promise<OpenDb> {
  const migrationsFolder = path.join(appDir, "drizzle");
  if ("postgresUrl" in target) {
    const { drizzle } = await import("drizzle-orm/postgres-js");
    await migratePostgres(target.postgresUrl, migrationsFolder);
    const client = postgres(target.postgresUrl, {
      max: 4,
      onnotice: () => {},
      // Named, so the bench can leave its own sessions out of the database's CPU and statement counts.
      connection: { application_name: SCRIPT_APPLICATION_NAME, ...target.connection },
    });
    const db = drizzle(client, { schema });
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
 * video-complete callback away from its next stage. Scenes [from, from + count), one
 * `insert … select generate_series` per table (tens of thousands in a second or two), then
 * ANALYZE of the three tables, as autovacuum does after a bulk load: without it the planner
 * keeps the statistics of before the load — and where autovacuum is off (some servers), for
 * the whole run.
 */
export async function seedWaitingScenes(db: ScriptDb, prefix: string, from: number, count: number) {
  if (count <= 0) return;
  const to = from + count - 1;
  const deadline = new Date(Date.now() + 6 * 3600_000).toISOString();
  const n = sql`lpad(g::text, 7, '0')`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into projects (id, name, status)
      select ${`prj_${prefix}`} || ${n}, ${`bench prj_${prefix}`} || ${n}, 'generating'
      from generate_series(${from}::int, ${to}::int) g`);
    await tx.execute(sql`
      insert into scenes (id, project_id, number, prompt, duration, status, attempts)
      select ${`scn_${prefix}`} || ${n}, ${`prj_${prefix}`} || ${n}, 1, ${PROMPT}, 5, 'generating_video', 1
      from generate_series(${from}::int, ${to}::int) g`);
    await tx.execute(sql`
      insert into jobs (id, kind, key, project_id, scene_id, status, attempt, deliveries, deadline_at, external_task_id, payload)
      select ${`job_${prefix}`} || ${n}, 'generate_video',
             'generate_video:' || ${`scn_${prefix}`} || ${n} || ':r1:a1',
             ${`prj_${prefix}`} || ${n}, ${`scn_${prefix}`} || ${n}, 'waiting', 1, 1,
             ${deadline}::timestamptz, ${`task_${prefix}`} || ${n},
             jsonb_build_object('scene_id', ${`scn_${prefix}`} || ${n}, 'scene_number', 1,
               'prompt', ${PROMPT}::text, 'start_image_url', null, 'duration', 5)
      from generate_series(${from}::int, ${to}::int) g`);
  });
  await db.execute(sql`analyze projects, scenes, jobs`);
}

/**
 * Finished history, so the hot path can be measured against a database that has been in use:
 * `count` completed projects of `scenes` scenes each, every scene completed, their jobs
 * (video, last frame, stitch, notify) succeeded and their callbacks recorded as applied.
 * One `insert … select generate_series` per table.
 */
export async function seedHistory(db: ScriptDb, prefix: string, count: number, scenes: number) {
  if (count <= 0) return;
  const p = sql`(${`prj_${prefix}`} || lpad(g::text, 7, '0'))`;
  const s = sql`(${`scn_${prefix}`} || lpad(g::text, 7, '0') || '_' || k)`;
  const past = sql`now() - interval '1 day'`;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into projects (id, name, status, final_video_url, created_at, updated_at, completed_at)
      select ${p}, 'history ' || ${p}, 'completed', 'https://cdn.example.test/final/' || ${p} || '.mp4', ${past}, ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g`);
    await tx.execute(sql`
      insert into scenes (id, project_id, number, prompt, duration, status, attempts, progress, video_url, last_frame_url, created_at, updated_at)
      select ${s}, ${p}, k, ${PROMPT}, 5, 'completed', 1, 100,
             'https://cdn.example.test/video/' || ${s} || '.mp4', 'https://cdn.example.test/frame/' || ${s} || '.jpg', ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g, generate_series(1, ${scenes}::int) k`);
    await tx.execute(sql`
      insert into jobs (id, kind, key, project_id, scene_id, status, attempt, deliveries, external_task_id, payload, created_at, updated_at)
      select 'job_' || kind || '_' || ${s}, kind, kind || ':' || ${s} || ':r1:a1', ${p}, ${s}, 'succeeded', 1, 1,
             'task_' || kind || '_' || ${s}, '{}'::jsonb, ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g, generate_series(1, ${scenes}::int) k,
           unnest(array['generate_video', 'extract_last_frame']) kind`);
    await tx.execute(sql`
      insert into jobs (id, kind, key, project_id, status, attempt, deliveries, external_task_id, payload, created_at, updated_at)
      select 'job_' || kind || '_' || ${p}, kind,
             case when kind = 'notify' then 'notify:' || ${p} || ':r1:project_completed' else 'stitch:' || ${p} || ':r1:a1' end,
             ${p}, 'succeeded', 1, 1, case when kind = 'stitch' then 'task_stitch_' || ${p} end, '{}'::jsonb, ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g, unnest(array['stitch', 'notify']) kind`);
    await tx.execute(sql`
      insert into webhook_events (source, dedup_key, task_id, job_id, project_id, scene_id, status, outcome, http_status, payload, received_at, applied_at)
      select source, 'task_' || kind || '_' || ${s} || ':completed', 'task_' || kind || '_' || ${s}, 'job_' || kind || '_' || ${s},
             ${p}, ${s}, 'completed', 'applied', 200, jsonb_build_object('task_id', 'task_' || kind || '_' || ${s}, 'status', 'completed'), ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g, generate_series(1, ${scenes}::int) k,
           (values ('generate_video', 'video-complete'), ('extract_last_frame', 'last-frame-complete')) as v(kind, source)`);
    await tx.execute(sql`
      insert into webhook_events (source, dedup_key, task_id, job_id, project_id, status, outcome, http_status, payload, received_at, applied_at)
      select 'stitch-complete', 'task_stitch_' || ${p} || ':completed', 'task_stitch_' || ${p}, 'job_stitch_' || ${p},
             ${p}, 'completed', 'applied', 200, jsonb_build_object('task_id', 'task_stitch_' || ${p}, 'status', 'completed'), ${past}, ${past}
      from generate_series(0, ${count - 1}::int) g`);
  });
  await db.execute(sql`analyze`);
}
