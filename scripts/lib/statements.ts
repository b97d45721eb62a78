import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import postgres from "postgres";

/**
 * Counting the SQL statements a pipeline stage costs, from two independent sources:
 *
 * - the app's own counter, `framechain_db_statements_total` in GET /api/metrics (every statement
 *   the process sends, its dispatcher thread included), summed over the processes given;
 * - PostgreSQL's count for the run's database: `pg_stat_statements` when the extension can be
 *   created *and* read (it needs `shared_preload_libraries`), else — only when asked for, since
 *   it costs the database CPU — the server log with `log_statement = all` set on that one
 *   database. Otherwise "n/a", with the reason.
 *
 * Counts are deterministic where times are not: this is the figure to hold a budget to.
 */

export const STATEMENT_METRIC = "framechain_db_statements_total";

/** Sum of every series of `name` in a Prometheus text exposition; null when it has none. */
export function metricSum(text: string, name: string): number | null {
  let total: number | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue; // another metric sharing the prefix
    const value = Number(
      rest
        .replace(/^\{[^}]*\}/, "")
        .trim()
        .split(/\s+/)[0],
    );
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** The app's statement counter of one process (null: not exposed by this build, or unreachable). */
export async function appStatements(baseUrl: string, adminToken: string): Promise<number | null> {
  try {
    const response = await fetch(`${baseUrl}/api/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) return null;
    return metricSum(await response.text(), STATEMENT_METRIC);
  } catch {
    return null;
  }
}

export type DbStatementSource = {
  /** "pg_stat_statements", "server log", or "n/a (<reason>)". */
  label: string;
  available: boolean;
  /** Statements run so far in the database by everyone but this probe; null when unavailable. */
  read(): Promise<number | null>;
  close(): Promise<void>;
};

const unavailable = (reason: string): DbStatementSource => ({
  label: `n/a (${reason})`,
  available: false,
  read: async () => null,
  close: async () => {},
});

/**
 * pg_stat_statements for database `url`: creates the extension if it can, and checks it can be
 * read (it cannot unless the server preloads it). Our own probe queries are left out by text.
 */
export async function pgStatStatements(url: string): Promise<DbStatementSource> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`create extension if not exists pg_stat_statements`;
    await sql`select 1 from pg_stat_statements limit 1`;
  } catch (error) {
    await sql.end({ timeout: 2 });
    const message = (error as Error).message;
    return unavailable(
      /shared_preload_libraries/.test(message)
        ? "pg_stat_statements is not in shared_preload_libraries"
        : `pg_stat_statements: ${message}`,
    );
  }
  // Statements the app sent, not those run inside them (foreign-key checks, functions): the
  // `toplevel` column (PostgreSQL 14+) tells them apart when pg_stat_statements.track = all.
  let hasToplevel = true;
  try {
    await sql`select toplevel from pg_stat_statements limit 1`;
  } catch {
    hasToplevel = false;
  }
  return {
    label: "pg_stat_statements",
    available: true,
    async read() {
      const [row] = await sql<{ calls: string | null }[]>`
        select sum(calls)::text as calls from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
          ${hasToplevel ? sql`and toplevel` : sql``}
          and query not ilike '%pg_stat_statements%' and query not ilike '%pg_stat_activity%'
          and query not ilike '%framechain-bench-probe%'`;
      return Number(row?.calls ?? 0);
    },
    close: () => sql.end({ timeout: 2 }),
  };
}

/**
 * The server log as a statement count: `log_statement = all` on database `name` only (new
 * sessions — so set it before the app connects), and count the entries `user@name` logs as
 * `statement:` or `execute …:` in `logFile` from the moment `read()` is first called. Needs a
 * superuser and a readable log file with `%d` in `log_line_prefix` (Debian's default).
 */
export async function serverLogStatements(
  adminUrl: string,
  name: string,
  logFile: string | undefined,
): Promise<DbStatementSource> {
  const file = logFile ?? defaultServerLog();
  if (!file || !existsSync(file)) return unavailable("no readable PostgreSQL server log");
  try {
    closeSync(openSync(file, "r"));
  } catch {
    return unavailable(`cannot read ${file}`);
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [prefix] = await admin<{ log_line_prefix: string }[]>`show log_line_prefix`;
    if (!prefix?.log_line_prefix.includes("%d")) {
      return unavailable("log_line_prefix does not name the database (%d)");
    }
    await admin.unsafe(`alter database ${name} set log_statement = 'all'`);
  } catch (error) {
    return unavailable(`log_statement: ${(error as Error).message}`);
  } finally {
    await admin.end({ timeout: 2 });
  }
  const marker = new RegExp(`@${name} (?:\\S+ )?LOG:  (?:statement|execute [^:]*):`);
  let offset = statSync(file).size;
  let count = 0;
  let carry = "";
  return {
    label: `server log (${file})`,
    available: true,
    async read() {
      const size = statSync(file).size;
      if (size < offset) offset = 0; // rotated
      const fd = openSync(file, "r");
      try {
        const buffer = Buffer.alloc(1 << 20);
        while (offset < size) {
          const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          const lines = (carry + buffer.toString("utf8", 0, n)).split("\n");
          carry = lines.pop() ?? "";
          for (const line of lines) if (marker.test(line)) count++;
        }
      } finally {
        closeSync(fd);
      }
      return count;
    },
    close: async () => {},
  };
}

function defaultServerLog(): string | undefined {
  for (const version of ["17", "16", "15", "14", "13"]) {
    const file = `/var/log/postgresql/postgresql-${version}-main.log`;
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Per-stage figure, or null when either reading is missing or nothing was counted. */
export function perStage(
  before: number | null,
  after: number | null,
  stages: number,
  overhead = 0,
): number | null {
  if (before === null || after === null || stages <= 0) return null;
  return (after - before - overhead) / stages;
}
