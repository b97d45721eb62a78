import "server-only";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Sql, TransactionSql } from "postgres";
import { env, isProduction } from "@/lib/env";
import { acquireDataDirLock } from "./data-dir-lock";
import * as schema from "./schema";

/** One type for both backends, so every query is written once. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either a database or a transaction: queries that can run inside or outside one. */
export type Executor = Db | Tx;

/**
 * Hand-written SQL for the hot path (lib/pipeline/store.ts, the dispatcher's claim and
 * record): sent as named prepared statements on PostgreSQL — parsed and planned once per
 * connection — instead of being rebuilt by the query builder on every call. Same text on
 * PGlite. Rows come back with the column names of the SQL.
 */
export type SqlRunner = {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
};

type Connection =
  | { kind: "postgres"; db: Db; sql: Sql; run: SqlRunner; close: () => Promise<void> }
  | { kind: "pglite"; db: Db; client: PGlite; run: SqlRunner; close: () => Promise<void> };

// Every statement this process sends, whichever way (drizzle, hand-written, BEGIN/COMMIT):
// the per-stage statement budget is held by a test and reported by the bench.
const counter = globalThis as unknown as { __framechainStatements?: number };
counter.__framechainStatements ??= 0;
const countStatement = () => {
  counter.__framechainStatements = (counter.__framechainStatements ?? 0) + 1;
};

/** Statements sent by this process (its database clients) since it started. */
export function statementCount(): number {
  return counter.__framechainStatements ?? 0;
}

// Kept on globalThis: dev reloads modules, and a second PGlite on one dir would corrupt it.
const cache = globalThis as unknown as { __framechainDb?: Promise<Connection> };

async function connectPostgres(url: string): Promise<Connection> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migratePostgres, requireMigrated } = await import("./migrations");

  try {
    // Production runs no DDL on start (instances starting together must not race on it):
    // `npm run db:migrate` is the deploy step, and a database behind it stops the start here.
    if (isProduction) await requireMigrated(url);
    else await migratePostgres(url);
  } catch (error) {
    throw new Error(
      `Cannot use the PostgreSQL database at DATABASE_URL (${redact(url)}): ${describe(error)}`,
      { cause: error },
    );
  }

  const sql = postgres(url, {
    max: env.DATABASE_POOL_SIZE,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
    debug: countStatement,
  });
  const db = drizzle(env.DATABASE_PREPARE ? preparingEveryQuery(sql) : sql, {
    schema,
  }) as unknown as Db;
  const run: SqlRunner = {
    query: (text, params = []) =>
      sql.unsafe(text, params as never[], { prepare: env.DATABASE_PREPARE }) as never,
  };
  return { kind: "postgres", db, sql, run, close: () => sql.end({ timeout: 2 }) };
}

/**
 * drizzle asks postgres.js for an unnamed statement unless a query is `.prepare("name")`d,
 * so PostgreSQL parses and plans every statement every time. This view of the client makes
 * postgres.js prepare (and cache, per connection) every statement drizzle sends — inside
 * transactions too — which roughly halves the database's CPU per callback. The query
 * shapes are few and fixed, so the cache stays small.
 */
function preparingEveryQuery<T extends Sql | TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "unsafe") {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
          target.unsafe(query, params as never, { ...options, prepare: true });
      }
      if (prop === "begin") {
        return (...args: unknown[]) => {
          const callback = args.pop() as (tx: TransactionSql) => unknown;
          return (target as Sql).begin(...(args as [string]), (tx: TransactionSql) =>
            callback(preparingEveryQuery(tx)),
          );
        };
      }
      if (prop === "savepoint") {
        return (...args: unknown[]) => {
          const callback = args.pop() as (tx: TransactionSql) => unknown;
          return (target as TransactionSql).savepoint(...(args as [string]), (tx: TransactionSql) =>
            callback(preparingEveryQuery(tx)),
          );
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function connectPglite(dataDir: string): Promise<Connection> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const { MIGRATIONS_FOLDER } = await import("./migrations");

  const inMemory = dataDir.startsWith("memory://");
  let releaseLock = () => {};
  if (!inMemory) {
    mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    releaseLock = acquireDataDirLock(dataDir);
  }
  const client = new PGlite(inMemory ? undefined : dataDir);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  // Counted from here on (migrations are not requests' work). drizzle sends through query() too.
  const query = client.query.bind(client);
  client.query = ((...args: Parameters<typeof query>) => {
    countStatement();
    return query(...args);
  }) as typeof client.query;
  const run: SqlRunner = {
    query: async (text, params = []) => (await client.query(text, params)).rows as never,
  };
  return {
    kind: "pglite",
    db: db as unknown as Db,
    client,
    run,
    close: async () => {
      await client.close();
      releaseLock();
    },
  };
}

export function getConnection(): Promise<Connection> {
  cache.__framechainDb ??= (
    env.DATABASE_URL ? connectPostgres(env.DATABASE_URL) : connectPglite(env.PGLITE_DATA_DIR)
  ).catch((error) => {
    cache.__framechainDb = undefined; // let the next request try again
    throw error;
  });
  return cache.__framechainDb;
}

export async function getDb(): Promise<Db> {
  return (await getConnection()).db;
}

/** The hand-written-SQL runner of the hot path (see SqlRunner). */
export async function getSql(): Promise<SqlRunner> {
  return (await getConnection()).run;
}

export async function closeDb(): Promise<void> {
  const pending = cache.__framechainDb;
  cache.__framechainDb = undefined;
  if (pending) await (await pending).close();
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
