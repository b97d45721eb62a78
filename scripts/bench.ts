import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import { hmacSha256 } from "@/lib/webhooks/signing";
import { type AppServer, ensureBuild, freePort, sleep, startServer } from "./lib/app-server";
import { appTarget, argsOf } from "./lib/args";
import { cpuDeltaMs, processesCpuMs, processGroupCpuMs } from "./lib/cpu";
import {
  createFreshPostgres,
  type FreshPostgres,
  type OpenDb,
  openDb,
  query,
  seedWaitingScenes,
  waitingSceneIds,
} from "./lib/database";
import { fixed, mean, median, table } from "./lib/report";
import { adminFetch, appEnv, type RunSecrets, runSecrets } from "./lib/run-env";
import { type StandIns, startStandIns } from "./lib/stand-ins";

/**
 * `npm run bench` — the callback path against the framework's own floor, on one server in one run
 * (issue 7). Alternates: (a) GET /api/ping, which does no work; (b) signed video-complete callbacks,
 * each for a distinct seeded scene (verify + one transaction + a queued job, dispatched after the
 * response); (c) the same while the video and last-frame stand-ins take SLOW_MS to answer. Then (b)
 * and (c) again at half the measured maximum rate (autocannon overallRate), where the p99 targets
 * apply, and the orchestration overhead: a SCENES-scene project with instant stand-ins, start to
 * completed. Options (flag or env): --app-dir FRAMECHAIN_APP_DIR, --no-build, --rebuild, --port,
 * --duration BENCH_DURATION (s), --warmup BENCH_WARMUP (s), --connections BENCH_CONNECTIONS,
 * --rounds BENCH_ROUNDS, --scenes BENCH_SCENES, --orchestration-runs BENCH_ORCHESTRATION_RUNS,
 * --slow-ms BENCH_SLOW_MS, --seed BENCH_SEED (scenes seeded up front), --log-level BENCH_LOG_LEVEL, --cpu-prof DIR (profile the server).
 * DATABASE_URL set: a fresh PostgreSQL database next to it (dropped after); unset: a fresh PGlite dir.
 */

const args = argsOf();
const { appDir, buildMode } = appTarget(args);
const durationS = args.number("duration", "BENCH_DURATION", 10);
const warmupS = args.number("warmup", "BENCH_WARMUP", 3);
const connections = args.number("connections", "BENCH_CONNECTIONS", 10);
const rounds = args.number("rounds", "BENCH_ROUNDS", 2);
const sceneCount = args.number("scenes", "BENCH_SCENES", 24);
const orchestrationRuns = args.number("orchestration-runs", "BENCH_ORCHESTRATION_RUNS", 3);
const slowMs = args.number("slow-ms", "BENCH_SLOW_MS", 2000);
const logLevel = args.string("log-level", "BENCH_LOG_LEVEL", "info");
const cpuProfDir = args.optional("cpu-prof");
const databaseUrl = process.env.DATABASE_URL || undefined;

const say = (line: string) => console.log(line);

type Kind = "bare" | "callback" | "callback, slow downstream";
type Measured = {
  kind: Kind;
  label: string;
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
};

/** Where the bench reads CPU use from: the server's process group and its database's backends. */
type CpuProbe = { serverPgid: number; dbBackends: (() => Promise<number[]>) | null };
let cpuProbe: CpuProbe | null = null;

async function main() {
  const port = args.number("port", "BENCH_PORT", 0) || (await freePort(3300, 3399));
  ensureBuild(appDir, buildMode, say);
  const secrets = runSecrets();
  const standIns = await startStandIns({ secrets: secrets.webhook });
  const scratch = mkdtempSync(path.join(tmpdir(), "framechain-bench-"));
  let fresh: FreshPostgres | undefined;
  let db: OpenDb | undefined;
  let server: AppServer | undefined;
  try {
    // Data: one-scene projects waiting for their video callback, seeded before the server starts
    // (PGlite cannot be shared with the running server; PostgreSQL is topped up as needed).
    let seeded = 0;
    const seedPrefix = "bench";
    const expectRate = databaseUrl ? 1500 : 500;
    const callbackSeconds = 2 * warmupS + rounds * 2 * durationS + 2 * durationS;
    if (databaseUrl) {
      fresh = await createFreshPostgres(databaseUrl, "bench");
      db = await openDb({ postgresUrl: fresh.url }, appDir);
    } else {
      db = await openDb({ pgliteDir: path.join(scratch, "pglite") }, appDir);
    }
    const initial =
      args.number("seed", "BENCH_SEED", 0) ||
      (databaseUrl
        ? Math.ceil(expectRate * (warmupS + durationS))
        : Math.ceil(expectRate * callbackSeconds));
    let started = performance.now();
    await seedWaitingScenes(db.db, seedPrefix, 0, initial);
    seeded = initial;
    say(
      `seeded ${initial} scenes waiting for their video callback in ${fixed((performance.now() - started) / 1000)} s`,
    );
    if (db.kind === "pglite") {
      await db.close();
      db = undefined;
    }

    const env = appEnv({
      port,
      secrets,
      database: fresh ? { url: fresh.url } : { pgliteDir: path.join(scratch, "pglite") },
      services: standIns.env,
      extra: { LOG_LEVEL: logLevel },
    });
    const logFile = path.join(scratch, "server.log");
    started = performance.now();
    server = await startServer({
      appDir,
      port,
      env,
      logFile,
      nodeArgs: cpuProfDir
        ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(cpuProfDir)}`]
        : undefined,
    });
    say(
      `server ${server.url} (${databaseUrl ? `PostgreSQL ${fresh!.name}` : "PGlite"}) ready in ${fixed(performance.now() - started, 0)} ms; log ${logFile}`,
    );
    say(
      `${connections} connections, ${durationS} s per run after ${warmupS} s warm-up, ${rounds} rounds`,
    );
    const scriptDb = db;
    cpuProbe = {
      serverPgid: server.pid,
      dbBackends: scriptDb
        ? async () =>
            (
              await query<{ pid: number }>(
                scriptDb.db,
                sql`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
              )
            ).map((r) => r.pid)
        : null,
    };

    let next = 0;
    let ranOut = false;
    const live = server;
    /** Makes sure `count` more seeded scenes exist (PostgreSQL only: PGlite was seeded for the whole run). */
    const ensureSeeded = async (count: number) => {
      if (!db || seeded - next >= count) return;
      const more = count - (seeded - next);
      await seedWaitingScenes(db.db, seedPrefix, seeded, more);
      seeded += more;
    };

    const bare = (label: string, seconds: number, overallRate?: number) =>
      measure({ kind: "bare", label, url: `${live.url}/api/ping`, seconds, overallRate });
    const callbacks = async (
      kind: Kind,
      label: string,
      seconds: number,
      rate: number,
      overallRate?: number,
    ) => {
      await ensureSeeded(Math.ceil((overallRate ?? rate) * seconds * 1.3) + 1000);
      const result = await measure({
        kind,
        label,
        url: `${live.url}/api/webhooks/video-complete`,
        seconds,
        overallRate,
        request: () => {
          // Out of seeded scenes: the repeat is answered as a duplicate, counted "not applied", and the run flagged.
          if (next >= seeded) ranOut = true;
          const scene = waitingSceneIds(seedPrefix, Math.min(next++, seeded - 1));
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
              "x-webhook-signature": `sha256=${hmacSha256(secrets.webhook["video-complete"], body).toString("hex")}`,
            },
          };
        },
      });
      return result;
    };
    const slow = async <T>(run: () => Promise<T>) => {
      standIns.faults.answerDelayMs = { video: slowMs, "last-frame": slowMs };
      try {
        return await run();
      } finally {
        standIns.faults.answerDelayMs = {};
        // Let the slow dispatches still in flight finish before the next measurement.
        await sleep(slowMs + 500);
      }
    };

    // The first database use connects (and on PGlite creates and migrates): not part of any measurement.
    const health = await fetch(`${live.url}/api/webhooks/video-complete`);
    if (!health.ok)
      throw new Error(
        `the callback endpoint's health check answered ${health.status}: ${await health.text()}`,
      );
    say(
      `machine: ${cpus().length} cores, node ${process.version}, load average ${loadText()} at start`,
    );
    say("warm-up…");
    await bare("warm-up", warmupS);
    await callbacks("callback", "warm-up", warmupS, expectRate);

    const results: Measured[] = [];
    let maxRate = expectRate;
    for (let round = 1; round <= rounds; round++) {
      results.push(await bare(`round ${round}`, durationS));
      const cb = await callbacks("callback", `round ${round}`, durationS, maxRate);
      results.push(cb);
      maxRate = Math.max(maxRate, cb.reqPerSec);
      results.push(
        await slow(() =>
          callbacks("callback, slow downstream", `round ${round}`, durationS, maxRate),
        ),
      );
    }
    const bareRate = mean(results.filter((r) => r.kind === "bare").map((r) => r.reqPerSec));
    const callbackMax = mean(results.filter((r) => r.kind === "callback").map((r) => r.reqPerSec));
    const halfRate = Math.max(1, Math.floor(callbackMax / 2));
    const half = await callbacks(
      "callback",
      `@ ${halfRate}/s (half max)`,
      durationS,
      halfRate,
      halfRate,
    );
    const halfSlow = await slow(() =>
      callbacks(
        "callback, slow downstream",
        `@ ${halfRate}/s (half max)`,
        durationS,
        halfRate,
        halfRate,
      ),
    );
    results.push(half, halfSlow);

    say("");
    say(
      table(
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
          r.appCpuMs === null ? "n/a" : fixed(r.appCpuMs, 2),
          r.dbCpuMs === null ? "n/a" : fixed(r.dbCpuMs, 2),
        ]),
      ),
    );

    const orchestration = await measureOrchestration(live.url, secrets, standIns);
    say("");
    say(
      `orchestration: ${sceneCount}-scene project, instant stand-ins, ${orchestration.stages} stages, ${orchestrationRuns} run(s): ` +
        `median ${fixed(orchestration.totalMs, 0)} ms start → completed = ${fixed(orchestration.perStageMs)} ms per stage`,
    );
    say(
      `  per stage (median run): ${fixed(orchestration.dispatchMs)} ms from the previous callback's answer to the next request reaching the service, ` +
        `${fixed(orchestration.callbackMs)} ms for the app to answer a callback`,
    );

    const ratio = callbackMax / bareRate;
    const cpuOf = (kind: Kind) =>
      mean(results.filter((r) => r.kind === kind && r.appCpuMs !== null).map((r) => r.appCpuMs!));
    const bareCpu = cpuOf("bare");
    const callbackCpu = cpuOf("callback");
    say("");
    say(
      `load average at the end: ${loadText()} (figures above are wall-clock: other work on the machine inflates them)`,
    );
    if (Number.isFinite(bareCpu) && Number.isFinite(callbackCpu)) {
      say(
        `app CPU per request: bare ${fixed(bareCpu, 2)} ms, callback ${fixed(callbackCpu, 2)} ms (with its after-response dispatch) → ` +
          `CPU-bound ratio ${fixed(bareCpu / callbackCpu, 2)} (what the ratio tends to when the app's one thread is the limit and nothing else runs)`,
      );
    }
    const invalid =
      results.reduce((n, r) => n + r.errors + r.non2xx + r.notApplied, 0) +
      (orchestration.failures ? 1 : 0);
    const slowWithin = halfSlow.p99 <= half.p99 * 1.2;
    say("");
    say("targets (2-core machine):");
    say(
      `  callback/bare ratio ≥ 0.5 ............ ${fixed(ratio, 2)} ${ratio >= 0.5 ? "met" : "MISSED"}`,
    );
    say(
      `  p99 at half max rate ≤ 25 ms ......... ${fixed(half.p99)} ms ${half.p99 <= 25 ? "met" : "MISSED"}`,
    );
    say(
      `  slow-downstream p99 within 20 % ...... ${fixed(halfSlow.p99)} ms vs ${fixed(half.p99)} ms ${slowWithin ? "met" : "MISSED"}`,
    );
    say(
      `  orchestration ≤ 20 ms per stage ...... ${fixed(orchestration.perStageMs)} ms ${orchestration.perStageMs <= 20 ? "met" : "MISSED"}`,
    );
    if (ranOut) say(`ran out of the ${seeded} seeded scenes: raise --seed / BENCH_SEED`);
    if (invalid)
      say(
        `INVALID RUN: ${invalid} errors, non-2xx or non-applied callbacks, or an orchestration run that did not complete`,
      );
    say(
      `callback/bare throughput ratio: ${fixed(ratio, 2)}  p99 callback: ${fixed(half.p99, 0)} ms  p99 with slow downstream: ${fixed(halfSlow.p99, 0)} ms`,
    );
    process.exitCode = invalid ? 1 : 0;
  } finally {
    await server?.stop();
    await standIns.close();
    await db?.close();
    await fresh?.drop();
    if (!args.flag("keep")) rmSync(scratch, { recursive: true, force: true });
  }
}

const loadText = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

async function measure(options: {
  kind: Kind;
  label: string;
  url: string;
  seconds: number;
  overallRate?: number;
  request?: () => { body: string; headers: Record<string, string> };
}): Promise<Measured> {
  let notApplied = 0;
  const make = options.request;
  const appCpuBefore = cpuProbe ? processGroupCpuMs(cpuProbe.serverPgid) : null;
  const dbCpuBefore = cpuProbe?.dbBackends ? processesCpuMs(await cpuProbe.dbBackends()) : null;
  const result = await autocannon({
    url: options.url,
    connections,
    duration: options.seconds,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    ...(make
      ? {
          method: "POST",
          requests: [
            {
              method: "POST",
              setupRequest: (request) => ({ ...request, ...make() }),
              onResponse: (status, body) => {
                if (status < 300 && !body.includes('"last_frame_triggered":true')) notApplied++;
              },
            },
          ],
        }
      : {}),
  });
  const appCpuAfter = cpuProbe ? processGroupCpuMs(cpuProbe.serverPgid) : null;
  const dbCpuAfter = cpuProbe?.dbBackends ? processesCpuMs(await cpuProbe.dbBackends()) : null;
  const requests = Math.max(1, result.requests.total);
  return {
    appCpuMs:
      appCpuBefore !== null && appCpuAfter !== null
        ? (appCpuAfter - appCpuBefore) / requests
        : null,
    dbCpuMs: dbCpuBefore && dbCpuAfter ? cpuDeltaMs(dbCpuBefore, dbCpuAfter) / requests : null,
    kind: options.kind,
    label: options.label,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    notApplied,
    total: result.requests.total,
  };
}

/** Start → completed of real projects through instant stand-ins: what the orchestration itself costs per stage. */
async function measureOrchestration(baseUrl: string, secrets: RunSecrets, standIns: StandIns) {
  standIns.faults.callbacks = true;
  standIns.faults.callbackDelayMs = [0, 0];
  const runs: { totalMs: number; dispatchMs: number; callbackMs: number }[] = [];
  let failures = 0;
  for (let run = 0; run < orchestrationRuns; run++) {
    standIns.submissions.length = 0;
    standIns.deliveries.length = 0;
    const started = performance.now();
    const created = await adminFetch(baseUrl, secrets, "/api/v1/projects", {
      name: `orchestration ${run + 1}`,
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
      const stitched = standIns.deliveries.find(
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
    const accepted = standIns.submissions
      .filter((s) => s.taskId)
      .sort((a, b) => a.receivedAt - b.receivedAt);
    const answered = standIns.deliveries
      .filter((d) => d.answeredAt !== null)
      .sort((a, b) => a.sentAt - b.sentAt);
    const dispatch: number[] = [];
    const callback: number[] = [];
    let previous = createdAt;
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
    });
    await sleep(200); // the notification goes out after the last callback
  }
  standIns.faults.callbacks = false;
  const stages = sceneCount * 2 + (sceneCount > 1 ? 1 : 0);
  const totalMs = median(runs.map((r) => r.totalMs));
  const middle = runs.find((r) => r.totalMs === totalMs) ?? runs[0];
  return {
    stages,
    totalMs,
    perStageMs: totalMs / stages,
    dispatchMs: middle?.dispatchMs ?? Number.NaN,
    callbackMs: middle?.callbackMs ?? Number.NaN,
    failures,
  };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
