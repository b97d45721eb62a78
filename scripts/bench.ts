import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import { type AppServer, ensureBuild, freePort, sleep, startServer } from "./lib/app-server";
import { appTarget, argsOf } from "./lib/args";
import { cpuDeltaMs, processesCpuMs, processGroupCpuMs } from "./lib/cpu";
import {
  createFreshPostgres,
  type FreshPostgres,
  type OpenDb,
  openDb,
  query,
  SCRIPT_APPLICATION_NAME,
  seedHistory,
  seedWaitingScenes,
  waitingSceneIds,
} from "./lib/database";
import { pacedRun } from "./lib/paced";
import { fixed, mean, median, table } from "./lib/report";
import { adminFetch, appEnv, type RunSecrets, runSecrets } from "./lib/run-env";
import { type StandIns, startStandIns } from "./lib/stand-ins";
import {
  appStatements,
  type DbStatementSource,
  pgStatStatements,
  serverLogStatements,
} from "./lib/statements";

/**
 * `npm run bench` — the callback path against the framework's own floor, on one server in one run
 * (issues 7 and 10). A *stage* is one callback applied plus its dispatch (the outbound request and
 * the record of the submission): every callback run waits for its dispatches to be recorded before
 * it reads CPU and statement counters, so each figure is per complete stage.
 *
 * 1. Alternates, for each round: (a) GET /api/ping, which does no work; (b) signed video-complete
 *    callbacks, each for a distinct seeded scene; (c) the same while the video and last-frame
 *    stand-ins take SLOW_MS to answer — autocannon, closed loop, for the maximum throughput.
 * 2. (b) and (c) again at half the measured maximum with arrivals paced evenly (open loop,
 *    latency from each request's due time: see lib/paced.ts) — where the p99 targets apply.
 * 3. The orchestration overhead: a SCENES-scene project with instant stand-ins, start to completed;
 *    then the same project in `independent` continuity (issue 15: every scene at once, at most
 *    PARALLEL_SCENES in flight, no last-frame stage), next to it.
 * 4. Optional: --flat (CPU per callback with 100 and with 20 000 finished projects in the
 *    database: two databases and servers, alternating rounds) and --long SECONDS (database CPU
 *    per callback, minute by minute).
 *
 * Statements per stage come from the app's counter (`framechain_db_statements_total` in
 * /api/metrics) and from PostgreSQL (pg_stat_statements, or with --db-statements log the server
 * log; "n/a" otherwise). Options (flag or env): --app-dir FRAMECHAIN_APP_DIR, --no-build,
 * --rebuild, --port, --duration BENCH_DURATION (s), --requests BENCH_REQUESTS (count-bounded max
 * runs instead), --warmup BENCH_WARMUP (s), --connections BENCH_CONNECTIONS, --rounds
 * BENCH_ROUNDS, --paced-requests BENCH_PACED_REQUESTS, --paced-rounds BENCH_PACED_ROUNDS,
 * --rate BENCH_RATE (paced rate instead of half the max), --scenes BENCH_SCENES,
 * --orchestration-runs BENCH_ORCHESTRATION_RUNS, --parallel-scenes BENCH_PARALLEL_SCENES (the
 * app's MAX_PARALLEL_SCENES, 4), --slow-ms BENCH_SLOW_MS, --seed BENCH_SEED,
 * --flat, --flat-projects BENCH_FLAT_PROJECTS (100,20000), --flat-requests BENCH_FLAT_REQUESTS,
 * --flat-rounds BENCH_FLAT_ROUNDS, --long BENCH_LONG (s), --db-statements auto|log|none,
 * --db-breakdown (database CPU per callback by backend),
 * --pg-log FILE, --log-level BENCH_LOG_LEVEL, --cpu-prof DIR, BENCH_NODE_ARGS (extra node flags
 * for the server, e.g. GC settings), BENCH_APP_ENV ("NAME=value …": the server's settings, e.g.
 * DATABASE_POOL_SIZE=4), --keep (the scratch directory and the databases).
 * DATABASE_URL set: fresh PostgreSQL databases next to it (dropped after); unset: a fresh PGlite dir.
 */

const args = argsOf();
const { appDir, buildMode } = appTarget(args);
const durationS = args.number("duration", "BENCH_DURATION", 10);
const maxRequests = args.number("requests", "BENCH_REQUESTS", 0);
const warmupS = args.number("warmup", "BENCH_WARMUP", 3);
const connections = args.number("connections", "BENCH_CONNECTIONS", 10);
const rounds = args.number("rounds", "BENCH_ROUNDS", 2);
const pacedRequestsOption = args.number("paced-requests", "BENCH_PACED_REQUESTS", 0);
const pacedRounds = args.number("paced-rounds", "BENCH_PACED_ROUNDS", 1);
const rateOption = args.number("rate", "BENCH_RATE", 0);
const sceneCount = args.number("scenes", "BENCH_SCENES", 24);
const orchestrationRuns = args.number("orchestration-runs", "BENCH_ORCHESTRATION_RUNS", 3);
const parallelScenes = args.number("parallel-scenes", "BENCH_PARALLEL_SCENES", 4);
const slowMs = args.number("slow-ms", "BENCH_SLOW_MS", 2000);
const flat = args.flag("flat", "BENCH_FLAT");
const flatProjects = args
  .string("flat-projects", "BENCH_FLAT_PROJECTS", "100,20000")
  .split(",")
  .map(Number);
const flatRequests = args.number("flat-requests", "BENCH_FLAT_REQUESTS", 1000);
const flatRounds = args.number("flat-rounds", "BENCH_FLAT_ROUNDS", 3);
const longS = args.number("long", "BENCH_LONG", 0);
const dbBreakdown = args.flag("db-breakdown", "BENCH_DB_BREAKDOWN");
const dbStatementsMode = args.string("db-statements", "BENCH_DB_STATEMENTS", "auto");
const pgLog = args.optional("pg-log", "BENCH_PG_LOG");
const logLevel = args.string("log-level", "BENCH_LOG_LEVEL", "info");
const cpuProfDir = args.optional("cpu-prof");
const databaseUrl = process.env.DATABASE_URL || undefined;
/** The space-separated words of a setting (BENCH_APP_ENV, BENCH_NODE_ARGS). */
function wordsOf(value: string | undefined): string[] {
  return value?.split(" ").filter(Boolean) ?? [];
}
/** BENCH_APP_ENV="NAME=value …": settings for the server under test (e.g. DATABASE_POOL_SIZE=4). */
const appSettings = Object.fromEntries(
  wordsOf(process.env.BENCH_APP_ENV).map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`BENCH_APP_ENV: "${pair}" is not NAME=value`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

const say = (line: string) => console.log(line);

type Kind = "bare" | "callback" | "callback, slow downstream";
type Measured = {
  kind: Kind;
  label: string;
  /** Closed-loop max (autocannon) or open-loop paced. */
  paced: boolean;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Callbacks answered 2xx that did not apply (duplicate/ignored/parked): must be 0 — every one is a real, fresh callback. */
  notApplied: number;
  total: number;
  /** CPU ms per request of the app server's processes, and of the PostgreSQL backends serving its database. */
  appCpuMs: number | null;
  dbCpuMs: number | null;
  /** CPU ms per request of this bench process: the load generator and the stand-in services (the machine's budget has to carry them too). */
  benchCpuMs: number;
  /** Statements per request (per stage for callbacks): the app's counter, and the database's. */
  appStatements: number | null;
  dbStatements: number | null;
};

/** One server under test and what the bench reads about it. */
type Target = {
  server: AppServer;
  standIns: StandIns;
  secrets: RunSecrets;
  db: OpenDb | undefined;
  dbStatements: DbStatementSource;
  /** Statements one /api/metrics scrape itself sends (its gauges read the database). */
  scrapeStatements: number;
  /** Seeded scenes: `seeded` exist, `next` is the first not yet called back. */
  seedPrefix: string;
  seeded: number;
  next: number;
  ranOut: boolean;
  /** Callbacks answered "applied" so far: each must lead to one recorded last-frame submission. */
  applied: number;
  /** This build exposes framechain_db_statements_total. */
  appCounter: boolean;
  /** Last-frame jobs the stand-in accepted, from its first `scanned` submissions (append-only: no limit). */
  accepted: Set<string>;
  scanned: number;
  /** Last-frame jobs whose submission the app has recorded (checked by settleDispatch). */
  recorded: Set<string>;
};

async function main() {
  const port = args.number("port", "BENCH_PORT", 0) || (await freePort());
  ensureBuild(appDir, buildMode, say);
  if ((flat || longS > 0) && !databaseUrl)
    throw new Error("--flat and --long need PostgreSQL: set DATABASE_URL");
  const secrets = runSecrets();
  const standIns = await startStandIns({ secrets: secrets.webhook });
  const scratch = mkdtempSync(path.join(tmpdir(), "framechain-bench-"));
  const cleanup: (() => Promise<void>)[] = [];
  let exitCode = 0;
  try {
    const expectRate = databaseUrl ? 1500 : 500;
    const callbackSeconds = 2 * warmupS + rounds * 2 * durationS + 2 * durationS;
    const initial =
      args.number("seed", "BENCH_SEED", 0) ||
      (databaseUrl
        ? Math.ceil(expectRate * (warmupS + durationS))
        : Math.ceil(expectRate * callbackSeconds));
    const target = await startTarget({
      label: "bench",
      port,
      secrets,
      standIns,
      scratch,
      seed: initial,
      history: 0,
      cleanup,
    });
    say(
      `${connections} connections, ${maxRequests ? `${maxRequests} requests` : `${durationS} s`} per max run after ${warmupS} s warm-up, ${rounds} rounds`,
    );
    say(
      `machine: ${cpus().length} cores, node ${process.version}, load average ${loadText()} at start`,
    );
    if (target.db?.kind === "postgres") {
      const [setting] = await query<{ autovacuum: string }>(target.db.db, sql`show autovacuum`);
      if (setting?.autovacuum === "off")
        say(
          "note: autovacuum is off on this PostgreSQL server: dead rows pile up over a run, so the database figures of later runs (and of the long run) grow with them — not what a server with the default settings shows",
        );
    }
    say("warm-up…");
    await bareMax(target, "warm-up", { seconds: warmupS });
    await callbackMax(target, "callback", "warm-up", { seconds: warmupS }, expectRate);

    const results: Measured[] = [];
    let maxRate = expectRate;
    const budget = maxRequests ? { requests: maxRequests } : { seconds: durationS };
    for (let round = 1; round <= rounds; round++) {
      results.push(await bareMax(target, `round ${round}`, budget));
      const cb = await callbackMax(target, "callback", `round ${round}`, budget, maxRate);
      results.push(cb);
      maxRate = Math.max(maxRate, cb.reqPerSec);
      results.push(
        await callbackMax(target, "callback, slow downstream", `round ${round}`, budget, maxRate),
      );
    }
    const bareRate = mean(results.filter((r) => r.kind === "bare").map((r) => r.reqPerSec));
    const callbackMaxRate = mean(
      results.filter((r) => r.kind === "callback").map((r) => r.reqPerSec),
    );
    const halfRate = rateOption || Math.max(1, Math.floor(callbackMaxRate / 2));
    const pacedCount = pacedRequestsOption || Math.max(100, Math.round(halfRate * durationS));
    const halves: Measured[] = [];
    const halvesSlow: Measured[] = [];
    for (let round = 1; round <= pacedRounds; round++) {
      const label = `paced ${halfRate}/s${rateOption ? "" : " (half max)"}${pacedRounds > 1 ? ` #${round}` : ""}`;
      halves.push(await callbackPaced(target, "callback", label, halfRate, pacedCount));
      halvesSlow.push(
        await callbackPaced(target, "callback, slow downstream", label, halfRate, pacedCount),
      );
    }
    results.push(...halves, ...halvesSlow);
    say("");
    say(resultTable(results));
    say(
      `  max runs: autocannon, ${connections} connections (closed loop); paced runs: ${pacedCount} requests each, arrivals evenly spaced, latency from each request's due time (open loop)`,
    );

    const orchestration = await measureOrchestration(target);
    say("");
    say(
      `orchestration: ${sceneCount}-scene project, instant stand-ins, ${orchestration.stages} stages, ${orchestrationRuns} run(s): ` +
        `median ${fixed(orchestration.totalMs, 0)} ms start → completed = ${fixed(orchestration.perStageMs)} ms per stage`,
    );
    say(
      `  per stage (median run): ${fixed(orchestration.dispatchMs)} ms from the previous callback's answer to the next request reaching the service, ` +
        `${fixed(orchestration.callbackMs)} ms for the app to answer a callback` +
        (orchestration.parked
          ? ` (${orchestration.parked} callbacks overtook the record of their submission and were parked, 202: this split is approximate, the total is not)`
          : ""),
    );
    say(
      `  statements per stage (whole project, creation and notification included): app counter ${stmtText(orchestration.appStatements)}, database ${dbStmtText(orchestration.dbStatements, target.dbStatements)}`,
    );
    const independent = await measureOrchestration(target, "independent");
    say(
      `orchestration (independent): ${sceneCount}-scene project, MAX_PARALLEL_SCENES=${parallelScenes}, instant stand-ins, ${independent.stages} stages, ${orchestrationRuns} run(s): ` +
        `median ${fixed(independent.totalMs, 0)} ms start → completed (chain: ${fixed(orchestration.totalMs, 0)} ms: ${fixed(orchestration.totalMs / independent.totalMs, 2)}× this)`,
    );
    say(
      `  statements per stage: app counter ${stmtText(independent.appStatements)}, database ${dbStmtText(independent.dbStatements, target.dbStatements)}`,
    );

    const halfP99 = median(halves.map((r) => r.p99));
    const halfSlowP99 = median(halvesSlow.map((r) => r.p99));
    const ratio = callbackMaxRate / bareRate;
    const ofKind = (kind: Kind, pick: (r: Measured) => number | null, paced?: boolean) =>
      median(
        results
          .filter(
            (r) =>
              r.kind === kind && pick(r) !== null && (paced === undefined || r.paced === paced),
          )
          .map((r) => pick(r) as number),
      );
    // CPU per request depends on the load (batching, idle overhead): max runs and paced runs apart.
    const bareCpu = ofKind("bare", (r) => r.appCpuMs, false);
    const callbackCpu = ofKind("callback", (r) => r.appCpuMs, false);
    const pacedCpu = ofKind("callback", (r) => r.appCpuMs, true);
    const callbackDbCpu = ofKind("callback", (r) => r.dbCpuMs, false);
    const pacedDbCpu = ofKind("callback", (r) => r.dbCpuMs, true);
    const stageStatements = ofKind("callback", (r) => r.appStatements);
    const stageDbStatements = ofKind("callback", (r) => r.dbStatements);
    say("");
    say(
      `load average at the end: ${loadText()} (figures above are wall-clock: other work on the machine inflates them)`,
    );
    say(
      `app CPU per request (max runs, medians): bare ${fixed(bareCpu, 2)} ms, callback ${fixed(callbackCpu, 2)} ms (with its dispatch) → ` +
        `CPU-bound ratio ${fixed(bareCpu / callbackCpu, 2)} (what the ratio tends to when the app's one thread is the limit and nothing else runs); ` +
        `paced at ${halfRate}/s: callback ${fixed(pacedCpu, 2)} ms`,
    );
    say(
      Number.isFinite(callbackDbCpu)
        ? `database CPU per callback: ${fixed(callbackDbCpu, 2)} ms (max runs, median); paced at ${halfRate}/s: ${fixed(pacedDbCpu, 2)} ms`
        : "database CPU per callback: n/a (PGlite runs inside the app's process: its CPU is in the app's figure)",
    );
    say(
      `statements per stage (callback + its dispatch, median of the callback runs): app counter ${stmtText(stageStatements)}, ` +
        `database ${dbStmtText(stageDbStatements, target.dbStatements)}`,
    );

    let flatInvalid = 0;
    if (flat) flatInvalid += await measureFlat(secrets, standIns, scratch, halfRate);
    if (longS > 0) flatInvalid += await measureLong(target, halfRate);

    const invalid =
      results.reduce((n, r) => n + r.errors + r.non2xx + r.notApplied, 0) +
      (orchestration.failures ? 1 : 0) +
      (independent.failures ? 1 : 0) +
      flatInvalid;
    const slowWithin = halfSlowP99 <= halfP99 * 1.2;
    // The app's counter when this build has one, else the database's count.
    const stageCount = Number.isFinite(stageStatements) ? stageStatements : stageDbStatements;
    const stageCountSource = Number.isFinite(stageStatements)
      ? "app counter"
      : target.dbStatements.available
        ? target.dbStatements.label.replace(/ \(.*/, "")
        : "";
    say("");
    say("targets (2-core machine):");
    say(
      `  statements per stage ≤ 8 ............ ${stmtText(stageCount)}${stageCountSource ? ` (${stageCountSource})` : ""} ${Number.isFinite(stageCount) ? (stageCount <= 8 ? "met" : "MISSED") : ""}`.trimEnd(),
    );
    say(
      `  callback/bare ratio ≥ 0.5 ............ ${fixed(ratio, 2)} ${ratio >= 0.5 ? "met" : "MISSED"}`,
    );
    say(
      `  p99 at half max rate ≤ 25 ms (paced) . ${fixed(halfP99)} ms ${halfP99 <= 25 ? "met" : "MISSED"}`,
    );
    say(
      `  slow-downstream p99 within 20 % ...... ${fixed(halfSlowP99)} ms vs ${fixed(halfP99)} ms ${slowWithin ? "met" : "MISSED"}`,
    );
    say(
      `  orchestration ≤ 10 ms per stage ...... ${fixed(orchestration.perStageMs)} ms ${orchestration.perStageMs <= 10 ? "met" : "MISSED"}`,
    );
    if (target.ranOut)
      say(`ran out of the ${target.seeded} seeded scenes: raise --seed / BENCH_SEED`);
    if (invalid)
      say(
        `INVALID RUN: ${invalid} errors, non-2xx or non-applied callbacks, or an orchestration run that did not complete`,
      );
    say(
      `callback/bare throughput ratio: ${fixed(ratio, 2)}  p99 callback: ${fixed(halfP99, 0)} ms  p99 with slow downstream: ${fixed(halfSlowP99, 0)} ms  statements per stage: ${stmtText(stageCount)}`,
    );
    exitCode = invalid ? 1 : 0;
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    await standIns.close();
    if (!args.flag("keep")) rmSync(scratch, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

const stmtText = (n: number | null) => (n === null || !Number.isFinite(n) ? "n/a" : fixed(n, 1));
const dbStmtText = (n: number | null, source: DbStatementSource) =>
  source.available ? `${stmtText(n)} (${source.label})` : source.label;

/**
 * A fresh database (PostgreSQL: next to DATABASE_URL; else PGlite) seeded with `seed` scenes
 * waiting for their callback and `history` finished projects, and a server on it.
 */
async function startTarget(options: {
  label: string;
  port: number;
  secrets: RunSecrets;
  standIns: StandIns;
  scratch: string;
  seed: number;
  history: number;
  cleanup: (() => Promise<void>)[];
  quiet?: boolean;
}): Promise<Target> {
  const { secrets, standIns } = options;
  const note = options.quiet ? () => {} : say;
  let fresh: FreshPostgres | undefined;
  let db: OpenDb | undefined;
  const pgliteDir = path.join(options.scratch, `pglite-${options.label}`);
  let dbStatements: DbStatementSource = {
    label: "n/a (PGlite)",
    available: false,
    read: async () => null,
    close: async () => {},
  };
  if (databaseUrl) {
    fresh = await createFreshPostgres(databaseUrl, options.label);
    if (!args.flag("keep")) options.cleanup.push(() => fresh!.drop());
    const useLog = dbStatementsMode === "log";
    // With the log as the count, the bench's own sessions must not log (superuser-only setting).
    db = await openDb(
      { postgresUrl: fresh.url, connection: useLog ? { log_statement: "none" } : undefined },
      appDir,
    );
    options.cleanup.push(() => db!.close());
    if (dbStatementsMode !== "none") {
      dbStatements = await pgStatStatements(fresh.url);
      if (!dbStatements.available && useLog) {
        const reason = dbStatements.label;
        dbStatements = await serverLogStatements(databaseUrl, fresh.name, pgLog);
        if (dbStatements.available)
          note(
            `database statement count: ${reason}; using the server log (log_statement = all on this database — its CPU figures include logging)`,
          );
      }
    } else dbStatements = { ...dbStatements, label: "n/a (--db-statements none)" };
    const source = dbStatements;
    options.cleanup.push(() => source.close());
  } else {
    db = await openDb({ pgliteDir }, appDir);
  }
  const seedPrefix = options.label;
  let started = performance.now();
  await seedHistory(db.db, "hist", options.history, 3);
  await seedWaitingScenes(db.db, seedPrefix, 0, options.seed);
  note(
    `seeded ${options.seed} scenes waiting for their video callback${options.history ? ` and ${options.history} finished projects` : ""} in ${fixed((performance.now() - started) / 1000)} s`,
  );
  if (db.kind === "pglite") {
    // PGlite cannot be shared with the running server: the whole run was seeded up front.
    await db.close();
    db = undefined;
  }

  const env = appEnv({
    port: options.port,
    secrets,
    database: fresh ? { url: fresh.url } : { pgliteDir },
    services: standIns.env,
    extra: {
      LOG_LEVEL: logLevel,
      MAX_PARALLEL_SCENES: String(parallelScenes),
      ...appSettings,
    },
  });
  const logFile = path.join(options.scratch, `server-${options.label}.log`);
  started = performance.now();
  const server = await startServer({
    appDir,
    port: options.port,
    env,
    logFile,
    nodeArgs: [
      ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(cpuProfDir)}`] : []),
      ...wordsOf(process.env.BENCH_NODE_ARGS),
    ],
  });
  options.cleanup.push(() => server.stop());
  note(
    `server ${server.url} (${fresh ? `PostgreSQL ${fresh.name}` : "PGlite"}) ready in ${fixed(performance.now() - started, 0)} ms; log ${logFile}`,
  );
  // The first database use connects (and on PGlite creates and migrates): not part of any measurement.
  const health = await fetch(`${server.url}/api/webhooks/video-complete`);
  if (!health.ok)
    throw new Error(
      `the callback endpoint's health check answered ${health.status}: ${await health.text()}`,
    );
  const s0 = await appStatements(server.url, secrets.adminToken);
  const s1 = await appStatements(server.url, secrets.adminToken);
  const s2 = await appStatements(server.url, secrets.adminToken);
  const scrapeStatements =
    s0 !== null && s1 !== null && s2 !== null ? Math.min(s1 - s0, s2 - s1) : 0;
  if (!options.quiet)
    note(
      s0 === null
        ? "statement counter: n/a (this build's /api/metrics has no framechain_db_statements_total)"
        : `statement counter: framechain_db_statements_total (one /api/metrics scrape sends ${scrapeStatements}, subtracted); database count: ${dbStatements.label}`,
    );
  return {
    server,
    standIns,
    secrets,
    db,
    dbStatements,
    scrapeStatements,
    seedPrefix,
    seeded: options.seed,
    next: 0,
    ranOut: false,
    applied: 0,
    appCounter: s0 !== null,
    accepted: new Set(),
    scanned: 0,
    recorded: new Set(),
  };
}

/** Makes sure `count` more seeded scenes exist (PostgreSQL only: PGlite was seeded for the whole run). */
async function ensureSeeded(target: Target, count: number) {
  if (!target.db || target.seeded - target.next >= count) return;
  const more = count - (target.seeded - target.next);
  await seedWaitingScenes(target.db.db, target.seedPrefix, target.seeded, more);
  target.seeded += more;
}

/** The next seeded scene's signed video-complete callback. */
function nextCallback(target: Target) {
  // Out of seeded scenes: the repeat is answered as a duplicate, counted "not applied", and the run flagged.
  if (target.next >= target.seeded) target.ranOut = true;
  const scene = waitingSceneIds(target.seedPrefix, Math.min(target.next++, target.seeded - 1));
  const body = JSON.stringify({
    task_id: scene.taskId,
    status: "completed",
    video_url: `https://cdn.example.test/video/${scene.taskId}.mp4`,
    duration: 5,
  });
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-webhook-signature": `sha256=${createHmac("sha256", target.secrets.webhook["video-complete"]).update(body).digest("hex")}`,
    },
  };
}

const isApplied = (body: string) => body.includes('"last_frame_triggered":true');

/**
 * The app's dispatch thread reports its statement count to the web thread about once a second:
 * statements are read after that much quiet, CPU at the run's edge (so the wait is not in it).
 */
const STATEMENT_REPORT_LAG_MS = 1100;

async function readCounters(target: Target, edge: "before" | "after") {
  const cpu = async () => {
    const backends = target.db
      ? await query<{ pid: number; label: string }>(
          target.db.db,
          sql`select pid, coalesce(nullif(application_name, ''), backend_type) || ': ' ||
                     left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 70) as label
              from pg_stat_activity /* framechain-bench-probe */
              where datname = current_database() and application_name <> ${SCRIPT_APPLICATION_NAME}`,
        )
      : null;
    const own = process.cpuUsage();
    return {
      bench: (own.user + own.system) / 1000,
      app: processGroupCpuMs(target.server.pid),
      db: backends ? processesCpuMs(backends.map((r) => r.pid)) : null,
      dbLabels: new Map((backends ?? []).map((r) => [r.pid, r.label])),
    };
  };
  const statements = async () => {
    if (target.appCounter) await sleep(STATEMENT_REPORT_LAG_MS);
    return {
      appStatements: await appStatements(target.server.url, target.secrets.adminToken),
      dbStatements: await target.dbStatements.read(),
    };
  };
  if (edge === "before") {
    const counted = await statements();
    return { ...(await cpu()), ...counted };
  }
  const used = await cpu();
  return { ...used, ...(await statements()) };
}
type Counters = Awaited<ReturnType<typeof readCounters>>;

/**
 * Waits until every applied callback's dispatch has been recorded: the stand-in accepted one
 * last-frame request per applied callback of this target (its Idempotency-Key is the job id),
 * and — on PostgreSQL — the app stored each of those jobs' task ids (primary-key lookups of the
 * jobs not confirmed yet; PGlite: a short grace period after the last request). However long
 * a backlog takes — a slow-downstream run leaves thousands — so that none of it spills into the
 * next run's figures; it gives up (and the bench fails) only when nothing moves for a while.
 */
async function settleDispatch(target: Target) {
  let progress = -1;
  let deadline = 0;
  const moving = (done: number) => {
    if (done > progress) {
      progress = done;
      deadline = Date.now() + 30_000 + slowMs;
    }
    if (Date.now() < deadline) return true;
    throw new Error(
      `dispatch stalled: ${done} of ${target.applied} applied callbacks' next jobs settled, none more in ${(30_000 + slowMs) / 1000} s`,
    );
  };
  const marker = `/task_${target.seedPrefix}`;
  // Only the submissions that arrived since the last look: a backlog is tens of thousands.
  const scanSubmissions = () => {
    const submissions = target.standIns.submissions;
    for (; target.scanned < submissions.length; target.scanned++) {
      const s = submissions[target.scanned]!;
      if (
        s.service === "last-frame" &&
        s.status === 200 &&
        String(s.body.video_url ?? "").includes(marker)
      )
        target.accepted.add(s.idempotencyKey);
    }
    return target.accepted;
  };
  let accepted = scanSubmissions();
  while (accepted.size < target.applied && moving(accepted.size)) {
    await sleep(20);
    accepted = scanSubmissions();
  }
  if (!target.db) {
    await sleep(200);
    return;
  }
  let pending = [...accepted].filter((id) => !target.recorded.has(id));
  progress = -1;
  while (pending.length > 0 && moving(accepted.size - pending.length)) {
    // Marked, so pg_stat_statements leaves the bench's own query out of the app's count.
    const rows = await query<{ id: string }>(
      target.db.db,
      sql`select id from jobs /* framechain-bench-probe */
          where id in ${pending} and external_task_id is not null`,
    );
    for (const row of rows) target.recorded.add(row.id);
    pending = pending.filter((id) => !target.recorded.has(id));
    if (pending.length > 0) await sleep(20);
  }
}

/** Which of the database's backends spent the CPU (--db-breakdown): per callback, the busiest first. */
function sayBreakdown(label: string, before: Counters, after: Counters, callbacks: number) {
  if (!before.db || !after.db || callbacks <= 0) return;
  const rows = [...after.db]
    .map(([pid, ms]) => ({
      pid,
      perCallback: (ms - (before.db?.get(pid) ?? 0)) / callbacks,
      label: after.dbLabels.get(pid) ?? "?",
    }))
    .filter((r) => r.perCallback > 0)
    .sort((a, b) => b.perCallback - a.perCallback);
  say(`  database CPU by backend, ${label} (ms per callback, the backend's last statement):`);
  for (const r of rows.slice(0, 8))
    say(`    ${fixed(r.perCallback, 2).padStart(6)}  [${r.pid}] ${r.label}`);
}

function perRequest(
  target: Target,
  before: Counters,
  after: Counters,
  requests: number,
  stages: number,
) {
  const n = Math.max(1, requests);
  const per = (a: number | null, b: number | null, count: number, overhead = 0) =>
    a === null || b === null || count <= 0 ? null : (b - a - overhead) / count;
  return {
    appCpuMs: per(before.app, after.app, n),
    dbCpuMs: before.db && after.db ? cpuDeltaMs(before.db, after.db) / n : null,
    benchCpuMs: (after.bench - before.bench) / n,
    appStatements: per(before.appStatements, after.appStatements, stages, target.scrapeStatements),
    dbStatements: per(before.dbStatements, after.dbStatements, stages),
  };
}

/** What a closed-loop (autocannon) run measured, as a row of the results table. */
function closedLoopFigures(result: autocannon.Result) {
  return {
    paced: false,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

async function bareMax(
  target: Target,
  label: string,
  budget: { seconds: number } | { requests: number },
): Promise<Measured> {
  const before = await readCounters(target, "before");
  const result = await autocannon({
    url: `${target.server.url}/api/ping`,
    connections,
    ...("requests" in budget ? { amount: budget.requests } : { duration: budget.seconds }),
  });
  const after = await readCounters(target, "after");
  return {
    kind: "bare",
    label,
    ...closedLoopFigures(result),
    notApplied: 0,
    ...perRequest(target, before, after, result.requests.total, result.requests.total),
  };
}

type CallbackRun = Omit<Measured, "kind" | "label" | keyof ReturnType<typeof perRequest>> & {
  applied: number;
};

/**
 * A callback run between two counter readings, each taken with every dispatch recorded, so the
 * CPU and statement figures cover complete stages; `seed` scenes are ready before it starts.
 */
async function measureCallbacks(
  target: Target,
  kind: Kind,
  label: string,
  seed: number,
  run: () => Promise<CallbackRun>,
): Promise<Measured> {
  await ensureSeeded(target, seed);
  await settleDispatch(target);
  const before = await readCounters(target, "before");
  // The slow downstream answers after --slow-ms while the callbacks are measured; the backlog it
  // leaves then drains at full speed, so none of it spills into the next run.
  const faults = target.standIns.faults;
  if (kind === "callback, slow downstream")
    faults.answerDelayMs = { video: slowMs, "last-frame": slowMs };
  let ran: CallbackRun;
  try {
    ran = await run();
  } finally {
    faults.answerDelayMs = {};
  }
  const { applied, ...measured } = ran;
  target.applied += applied;
  await settleDispatch(target);
  const after = await readCounters(target, "after");
  if (dbBreakdown) sayBreakdown(label, before, after, applied);
  return {
    kind,
    label,
    ...measured,
    ...perRequest(target, before, after, measured.total, applied),
  };
}

function callbackMax(
  target: Target,
  kind: Kind,
  label: string,
  budget: { seconds: number } | { requests: number },
  rate: number,
): Promise<Measured> {
  const seed =
    "requests" in budget ? budget.requests + 100 : Math.ceil(rate * budget.seconds * 1.3) + 1000;
  return measureCallbacks(target, kind, label, seed, async () => {
    let notApplied = 0;
    let applied = 0;
    const result = await autocannon({
      url: `${target.server.url}/api/webhooks/video-complete`,
      connections,
      ...("requests" in budget ? { amount: budget.requests } : { duration: budget.seconds }),
      method: "POST",
      requests: [
        {
          method: "POST",
          setupRequest: (request) => ({ ...request, ...nextCallback(target) }),
          onResponse: (status, body) => {
            if (status >= 300) return;
            if (isApplied(body)) applied++;
            else notApplied++;
          },
        },
      ],
    });
    return {
      applied,
      ...closedLoopFigures(result),
      notApplied,
    };
  });
}

function callbackPaced(
  target: Target,
  kind: Kind,
  label: string,
  rate: number,
  count: number,
): Promise<Measured> {
  return measureCallbacks(target, kind, label, count + 100, async () => {
    let applied = 0;
    const result = await pacedRun({
      baseUrl: target.server.url,
      rate,
      count,
      next: () => ({ path: "/api/webhooks/video-complete", ...nextCallback(target) }),
      check: (_status, body) => {
        const ok = isApplied(body);
        if (ok) applied++;
        return ok;
      },
    });
    say(
      `  ${kind}, ${label}: p90 ${fixed(result.p90)} ms, max ${fixed(result.max)} ms; ` +
        `this process sent late by ${fixed(result.sendLagP99)} ms at p99, its event loop stalled ≤ ${fixed(result.loopStallMax)} ms`,
    );
    return {
      applied,
      paced: true,
      reqPerSec: rate,
      p50: result.p50,
      p99: result.p99,
      errors: result.errors,
      non2xx: result.non2xx,
      notApplied: result.rejected,
      total: result.sent,
    };
  });
}

function resultTable(results: Measured[]) {
  const num = (n: number | null, digits: number) => (n === null ? "n/a" : fixed(n, digits));
  return table(
    [
      "run",
      "",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "non-2xx",
      "not applied",
      "requests",
      "app cpu ms/req",
      "db cpu ms/req",
      "bench cpu ms/req",
      "stmts/req app",
      "stmts/req db",
    ],
    results.map((r) => [
      r.kind,
      r.label,
      fixed(r.reqPerSec, 0),
      fixed(r.p50),
      fixed(r.p99),
      r.errors,
      r.non2xx,
      r.notApplied,
      r.total,
      num(r.appCpuMs, 2),
      num(r.dbCpuMs, 2),
      fixed(r.benchCpuMs, 2),
      num(r.appStatements, 1),
      num(r.dbStatements, 1),
    ]),
  );
}

const loadText = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

/**
 * Flatness with the database's size: two databases of their own, one holding FLAT_PROJECTS[0]
 * finished projects and one FLAT_PROJECTS[1] (one `generate_series` insert each), a server on
 * each, and the same paced callbacks sent to them in alternating rounds (small, large, then
 * large, small, …), so the machine's drift and the servers' warming up fall on both alike.
 */
async function measureFlat(
  secrets: RunSecrets,
  standIns: StandIns,
  scratch: string,
  rate: number,
): Promise<number> {
  const cleanup: (() => Promise<void>)[] = [];
  let invalid = 0;
  try {
    const sizes = [flatProjects[0] ?? 100, flatProjects[1] ?? 20000];
    say("");
    say(
      `flatness: ${flatRounds} alternating rounds of ${flatRequests} paced callbacks at ${rate}/s against a database with ${sizes[0]} and one with ${sizes[1]} finished projects (3 scenes each, every job and callback recorded), a server on each`,
    );
    const phases: {
      history: number;
      target: Target;
      measured: Measured[];
      projects: number;
    }[] = [];
    for (const [i, history] of sizes.entries()) {
      const started = performance.now();
      const target = await startTarget({
        label: i === 0 ? "flats" : "flatl",
        port: await freePort(),
        secrets,
        standIns,
        scratch,
        seed: 0, // topped up before each round (outside the measurement): the small one stays small
        history,
        cleanup,
        quiet: true,
      });
      const [row] = await query<{ n: number }>(
        target.db!.db,
        sql`select count(*)::int as n from projects /* framechain-bench-probe */`,
      );
      say(
        `  ${history} finished projects: database seeded and server started in ${fixed((performance.now() - started) / 1000)} s`,
      );
      phases.push({ history, target, measured: [], projects: row?.n ?? 0 });
    }
    // Warm both servers (JIT, connections) before the first measured round: as long as a round,
    // since 200 requests left the first round 20–30 % dearer on both servers.
    for (const phase of phases)
      await callbackPaced(phase.target, "callback", "warm-up", rate, flatRequests);
    const rows: Measured[] = [];
    for (let round = 1; round <= flatRounds; round++) {
      const order = round % 2 === 1 ? phases : [...phases].reverse();
      for (const phase of order) {
        const m = await callbackPaced(
          phase.target,
          "callback",
          `${phase.history} finished projects, round ${round}`,
          rate,
          flatRequests,
        );
        phase.measured.push(m);
        rows.push(m);
      }
    }
    say(resultTable(rows));
    const cpu = (p: (typeof phases)[number], pick: (m: Measured) => number | null) =>
      median(p.measured.map(pick).filter((v): v is number => v !== null));
    for (const phase of phases)
      say(
        `  ${phase.history} finished projects (${phase.projects} projects in its database at the start; each round adds the ones it calls back): ` +
          `app CPU ${fixed(
            cpu(phase, (m) => m.appCpuMs),
            2,
          )} ms, database CPU ${fixed(
            cpu(phase, (m) => m.dbCpuMs),
            2,
          )} ms, ` +
          `${stmtText(cpu(phase, (m) => m.appStatements))} statements per callback (medians)`,
      );
    const [a, b] = phases;
    if (a && b) {
      const appA = cpu(a, (m) => m.appCpuMs);
      const appB = cpu(b, (m) => m.appCpuMs);
      const dbA = cpu(a, (m) => m.dbCpuMs);
      const dbB = cpu(b, (m) => m.dbCpuMs);
      const change = (x: number, y: number) => ((y - x) / x) * 100;
      const signed = (n: number) => `${n >= 0 ? "+" : ""}${fixed(n)} %`;
      const delta = change(appA + dbA, appB + dbB);
      say(
        `flatness: CPU per callback (app + database) ${fixed(appA + dbA, 2)} → ${fixed(appB + dbB, 2)} ms (${signed(delta)}), ` +
          `app ${signed(change(appA, appB))}, database ${signed(change(dbA, dbB))} — ${Math.abs(delta) <= 10 ? "within 10 %" : "NOT within 10 %"}`,
      );
    }
    invalid = rows.reduce((n, r) => n + r.errors + r.non2xx + r.notApplied, 0);
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  }
  return invalid;
}

/** A long paced run, read minute by minute: does the database's CPU per callback creep up as tables churn? */
async function measureLong(target: Target, rate: number): Promise<number> {
  // Minutes; a short run (CI) is read in two halves so "first" and "last" still differ.
  const windowS = longS >= 120 ? 60 : longS / 2;
  const windows = Math.max(1, Math.round(longS / windowS));
  const perWindow = Math.max(1, Math.round(rate * windowS));
  say("");
  say(
    `long run: ${windows} × ${windowS} s of paced callbacks at ${rate}/s (${windows * perWindow} in all), on the main run's database`,
  );
  await ensureSeeded(target, windows * perWindow + 100);
  const rows: Measured[] = [];
  for (let w = 1; w <= windows; w++) {
    rows.push(
      await callbackPaced(
        target,
        "callback",
        `${windowS === 60 ? "minute" : "window"} ${w}`,
        rate,
        perWindow,
      ),
    );
  }
  say(resultTable(rows));
  const first = rows[0];
  const last = rows.at(-1);
  if (first && last) {
    const dbChange =
      first.dbCpuMs && last.dbCpuMs ? ((last.dbCpuMs - first.dbCpuMs) / first.dbCpuMs) * 100 : NaN;
    say(
      `long run: database CPU per callback first ${windowS === 60 ? "minute" : "window"} ${fixed(first.dbCpuMs ?? NaN, 2)} ms, last ${fixed(last.dbCpuMs ?? NaN, 2)} ms (${fixed(dbChange)} %); ` +
        `app CPU ${fixed(first.appCpuMs ?? NaN, 2)} → ${fixed(last.appCpuMs ?? NaN, 2)} ms; p99 ${fixed(first.p99)} → ${fixed(last.p99)} ms`,
    );
  }
  return rows.reduce((n, r) => n + r.errors + r.non2xx + r.notApplied, 0);
}

/**
 * Start → completed of real projects through instant stand-ins: what the orchestration itself
 * costs per stage. `independent` projects have no last-frame stage and overlap their scenes,
 * so only their total (and statements) are measured, not the sequential per-stage split.
 */
async function measureOrchestration(target: Target, continuity: "chain" | "independent" = "chain") {
  const { standIns, secrets } = target;
  const baseUrl = target.server.url;
  await settleDispatch(target);
  standIns.faults.callbacks = true;
  standIns.faults.callbackDelayMs = [0, 0];
  const runs: { totalMs: number; dispatchMs: number; callbackMs: number; parked: number }[] = [];
  let failures = 0;
  const stages = sceneCount * (continuity === "chain" ? 2 : 1) + (sceneCount > 1 ? 1 : 0);
  const before = await readCounters(target, "before");
  for (let run = 0; run < orchestrationRuns; run++) {
    // This run's requests and callbacks: the logs are shared with the settling of callback runs.
    const submissionsFrom = standIns.submissions.length;
    const deliveriesFrom = standIns.deliveries.length;
    const submissions = () => standIns.submissions.slice(submissionsFrom);
    const deliveries = () => standIns.deliveries.slice(deliveriesFrom);
    const started = performance.now();
    const created = await adminFetch(baseUrl, secrets, "/api/v1/projects", {
      name: `orchestration ${continuity} ${run + 1}`,
      continuity,
      scenes: Array.from({ length: sceneCount }, (_, i) => ({
        prompt: `scene ${i + 1}`,
        duration: 5,
      })),
      autostart: true,
    });
    if (created.status !== 201)
      throw new Error(
        `creating the project failed: ${created.status} ${created.text.slice(0, 300)}`,
      );
    const createdAt = performance.now();
    const deadline = Date.now() + 120_000;
    let completedAt: number | null = null;
    while (completedAt === null && Date.now() < deadline) {
      const stitched = deliveries().find(
        (d) => d.stage === "stitch-complete" && d.answer?.project_updated === true,
      );
      if (stitched?.answeredAt) completedAt = stitched.answeredAt;
      else await sleep(5);
    }
    const project = await adminFetch(baseUrl, secrets, `/api/v1/projects/${created.json?.id}`);
    if (completedAt === null || project.json?.status !== "completed") {
      failures++;
      say(
        `orchestration run ${run + 1}: project ended ${String(project.json?.status)} — not completed`,
      );
      continue;
    }
    // The pipeline is strictly sequential: request k reaches the service, its callback is answered, then request k+1.
    const accepted = submissions()
      .filter((s) => s.taskId)
      .sort((a, b) => a.receivedAt - b.receivedAt);
    const answered = deliveries()
      .filter((d) => d.answeredAt !== null)
      .sort((a, b) => a.sentAt - b.sentAt);
    const dispatch: number[] = [];
    const callback: number[] = [];
    let previous = createdAt;
    if (continuity === "chain")
      accepted.forEach((submission, i) => {
        dispatch.push(submission.receivedAt - previous);
        const delivery = answered[i];
        if (delivery?.answeredAt) {
          callback.push(delivery.answeredAt - delivery.sentAt);
          previous = delivery.answeredAt;
        }
      });
    runs.push({
      totalMs: completedAt - started,
      dispatchMs: mean(dispatch),
      callbackMs: mean(callback),
      parked: deliveries().filter((d) => d.status === 202).length,
    });
    // The notification goes out after the last callback.
    const notifyDeadline = Date.now() + 10_000;
    while (!submissions().some((s) => s.service === "notify") && Date.now() < notifyDeadline)
      await sleep(10);
    await sleep(100);
  }
  const after = await readCounters(target, "after");
  standIns.faults.callbacks = false;
  const totalMs = median(runs.map((r) => r.totalMs));
  const middle = runs.find((r) => r.totalMs === totalMs) ?? runs[0];
  const counted = perRequest(target, before, after, 1, stages * orchestrationRuns);
  return {
    stages,
    totalMs,
    perStageMs: totalMs / stages,
    dispatchMs: middle?.dispatchMs ?? Number.NaN,
    callbackMs: middle?.callbackMs ?? Number.NaN,
    parked: middle?.parked ?? 0,
    appStatements: counted.appStatements,
    dbStatements: counted.dbStatements,
    failures,
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
