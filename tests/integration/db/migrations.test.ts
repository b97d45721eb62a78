import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, describe, expect, it, vi } from "vitest";
import { MIGRATIONS_FOLDER, migratePostgres, requireMigrated } from "@/lib/db/migrations";

/**
 * Issue 13 item 7: on PostgreSQL in production, migrations are a deploy step
 * (`npm run db:migrate`), not a side effect of starting. Needs real PostgreSQL
 * (TEST_DATABASE_URL): each test gets an empty database of its own.
 */
const adminUrl = process.env.TEST_DATABASE_URL;
const admin = adminUrl ? postgres(adminUrl, { max: 1, onnotice: () => {} }) : null;
const created: string[] = [];

const journal = (await import(`${MIGRATIONS_FOLDER}/meta/_journal.json`, {
  with: { type: "json" },
})) as { default: { entries: { tag: string }[] } };
const TAGS = journal.default.entries.map((entry) => entry.tag);

async function emptyDatabase(): Promise<string> {
  const name = `framechain_migrate_${randomBytes(5).toString("hex")}`;
  await admin!.unsafe(`create database ${name}`);
  created.push(name);
  const url = new URL(adminUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

async function inDatabase<T>(url: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const tableCount = (url: string) =>
  inDatabase(url, async (sql) => {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.tables
      where table_schema in ('public', 'drizzle')`;
    return row!.n;
  });

afterAll(async () => {
  for (const name of created) await admin!.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.end({ timeout: 2 });
});

describe.skipIf(!adminUrl)("migrations on PostgreSQL", () => {
  it("an unmigrated database is refused, naming the step to run, and nothing is created", async () => {
    const url = await emptyDatabase();
    const refusal = requireMigrated(url);
    await expect(refusal).rejects.toThrow(
      `${TAGS.length} migration(s) not applied (${TAGS.join(", ")}). Run \`npm run db:migrate\``,
    );
    expect(await tableCount(url)).toBe(0);
  });

  it("concurrent migrate steps take turns: one applies everything, the others find nothing to do", async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([1, 2, 3].map(() => migratePostgres(url)));
    expect(results.map((applied) => applied.length).sort()).toEqual([0, 0, TAGS.length]);
    expect(results.find((applied) => applied.length > 0)).toEqual(TAGS);
    await expect(requireMigrated(url)).resolves.toBeUndefined();
    const recorded = await inDatabase(
      url,
      (sql) => sql`select hash from drizzle.__drizzle_migrations`,
    );
    expect(recorded).toHaveLength(TAGS.length);
  });

  it("a database behind the code is refused with the migrations it lacks", async () => {
    const url = await emptyDatabase();
    await migratePostgres(url);
    await inDatabase(
      url,
      (sql) => sql`delete from drizzle.__drizzle_migrations
        where created_at = (select max(created_at) from drizzle.__drizzle_migrations)`,
    );
    await expect(requireMigrated(url)).rejects.toThrow(
      `1 migration(s) not applied (${TAGS.at(-1)})`,
    );
    expect(await migratePostgres(url)).toEqual([TAGS.at(-1)]);
    await expect(requireMigrated(url)).resolves.toBeUndefined();
  });

  it("the app in production does not migrate on start; outside production it does", async () => {
    const url = await emptyDatabase();
    const connect = async (nodeEnv: string) => {
      vi.stubEnv("NODE_ENV", nodeEnv);
      vi.stubEnv("DATABASE_URL", url);
      vi.resetModules();
      const client = await import("@/lib/db/client");
      vi.unstubAllEnvs(); // lib/env has read them
      await client.closeDb(); // this file's own connection, if any, is not the one under test
      try {
        await client.getConnection();
      } finally {
        await client.closeDb();
      }
    };
    await expect(connect("production")).rejects.toThrow(
      /Cannot use the PostgreSQL database at DATABASE_URL .*Run `npm run db:migrate`/,
    );
    expect(await tableCount(url)).toBe(0);
    await connect("development");
    await expect(requireMigrated(url)).resolves.toBeUndefined();
  });
});
