import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import {
  type AppServer,
  ensureBuild,
  freePort,
  sleep,
  startProcess,
  startServer,
} from "./lib/app-server";
import { appTarget, argsOf } from "./lib/args";
import { startBalancer } from "./lib/balancer";
import { createFreshPostgres, type FreshPostgres, openDb } from "./lib/database";
import { table } from "./lib/report";
import { adminFetch, appEnv, runSecrets } from "./lib/run-env";
import { type StandIns, startStandIns } from "./lib/stand-ins";

/**
 * `npm run soak` — fault injection against a built server on PostgreSQL, loopback only, bounded
 * in time (issue 7): PROJECTS projects × SCENES scenes through stand-in services that deliver 30 %
 * of callbacks twice, in shuffled order, answer 10 % of requests 503, send 5 % of callbacks before
 * answering the submission — and the app is SIGKILLed (whole process group) and restarted once in
 * the middle. Then it audits, from the database and the stand-ins' request logs: every project
 * completed, one accepted submission per scene attempt, one stitch and one notification per
 * project, no status moved backwards. Ends with `lost: <n> doubled: <n>`; exit 1 unless both are 0
 * and the audit found nothing else. Options (flag or env): --projects SOAK_PROJECTS,
 * --scenes SOAK_SCENES, --duplicates SOAK_DUPLICATE_RATE, --unavailable SOAK_UNAVAILABLE_RATE,
 * --early SOAK_EARLY_RATE, --time-limit SOAK_TIME_LIMIT (s), --no-kill, --app-dir, --no-build,
 * --rebuild, --port, --keep (keep the database and logs). DATABASE_URL is required: a fresh
 * database is created next to it and dropped afterwards.
 *
 * Scale-out (issue 10): --instances N (SOAK_INSTANCES) runs N `next start` web processes behind a
 * round-robin balancer on loopback (APP_URL, so the services' callbacks spread over all of them);
 * --worker (SOAK_WORKER) starts them with DISPATCH_IN_WEB=false plus one separate dispatcher
 * process (`npm run worker`). Midway, web instance 1 and the worker are SIGKILLed together and
 * restarted. All on one PostgreSQL database.
 */

const args = argsOf();
const { appDir, buildMode } = appTarget(args);
const projectCount = args.number("projects", "SOAK_PROJECTS", 200);
const scenesPerProject = args.number("scenes", "SOAK_SCENES", 5);
const duplicateRate = args.number("duplicates", "SOAK_DUPLICATE_RATE", 0.3);
const unavailableRate = args.number("unavailable", "SOAK_UNAVAILABLE_RATE", 0.1);
const earlyRate = args.number("early", "SOAK_EARLY_RATE", 0.05);
const timeLimitS = args.number("time-limit", "SOAK_TIME_LIMIT", 280);
const killOnce = !args.flag("no-kill");
const instances = Math.max(1, args.number("instances", "SOAK_INSTANCES", 1));
const withWorker = args.flag("worker", "SOAK_WORKER");
const keep = args.flag("keep");
const say = (line: string) => console.log(line);

type JobRow = {
  id: string;
  kind: string;
  project_id: string;
  scene_id: string | null;
  attempt: number;
  status: string;
  created_at: Date;
};

async function main() {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    console.error(
      "npm run soak needs PostgreSQL: set DATABASE_URL (a fresh database is created next to it and dropped afterwards).",
    );
    process.exit(2);
  }
  const startedAt = Date.now();
  const deadline = startedAt + timeLimitS * 1000;
  const port = args.number("port", "SOAK_PORT", 0) || (await freePort(3300, 3399));
  ensureBuild(appDir, buildMode, say);
  const secrets = runSecrets();
  const standIns = await startStandIns({
    secrets: secrets.webhook,
    faults: {
      callbacks: true,
      callbackDelayMs: [0, 400],
      duplicateRate,
      unavailableRate,
      earlyCallbackRate: earlyRate,
    },
  });
  standIns.stopRetryingAt(deadline);
  const scratch = mkdtempSync(path.join(tmpdir(), "framechain-soak-"));
  let fresh: FreshPostgres | undefined;
  let cluster: Cluster | undefined;
  let sql: postgres.Sql | undefined;
  let ticking = true;
  try {
    fresh = await createFreshPostgres(adminUrl, "soak");
    // Migrate up front so the audit queries work even if the server never starts.
    await (await openDb({ postgresUrl: fresh.url }, appDir)).close();
    sql = postgres(fresh.url, { max: 2, onnotice: () => {} });
    const envFor = (instancePort: number, extra: Record<string, string> = {}) =>
      appEnv({
        port: instancePort,
        secrets,
        database: { url: fresh!.url },
        services: standIns.env,
        extra: {
          // A job left `running` by the kill is reclaimed when its lease (SERVICE_TIMEOUT_MS + 30 s) ends.
          SERVICE_TIMEOUT_MS: "2000",
          SERVICE_RETRY_BASE_MS: "100",
          DISPATCH_SWEEP_INTERVAL_MS: "1000",
          LOG_LEVEL: "info",
          ...extra,
        },
      });
    cluster = await startCluster(port, envFor, scratch);
    const server = cluster;
    say(`${cluster.describe} on PostgreSQL ${fresh.name}; logs in ${scratch}`);
    say(
      `${projectCount} projects × ${scenesPerProject} scenes; ${pct(duplicateRate)} duplicate deliveries, shuffled (0–400 ms), ` +
        `${pct(unavailableRate)} 503s, ${pct(earlyRate)} callbacks before the submission is answered; ` +
        `${killOnce ? "one SIGKILL + restart midway" : "no kill"}; limit ${timeLimitS} s`,
    );

    // Without the in-process sweeper (instrumentation.ts), the authenticated cron tick does its job.
    const tickNeeded = !sweeperStartsItself(appDir);
    if (tickNeeded)
      say(
        "instrumentation.ts does not start the sweeper: calling GET /api/cron/tick every second instead",
      );
    const tickLoop = (async () => {
      while (ticking && tickNeeded) {
        await fetch(`${server?.url}/api/cron/tick`, {
          headers: { authorization: `Bearer ${secrets.cronSecret}` },
        }).catch(() => {});
        await sleep(1000);
      }
    })();

    // Projects are created while earlier ones run; the kill waits only for creations in flight
    // (a lost 201 would make the audit's project list wrong), never for the pipeline.
    const projectIds: string[] = [];
    let gate: Promise<void> = Promise.resolve();
    let creating = 0;
    const createOne = async (n: number) => {
      await gate;
      creating++;
      try {
        const created = await adminFetch(server!.url, secrets, "/api/v1/projects", {
          name: `soak ${n}`,
          start_image_url: "https://cdn.example.test/start.jpg",
          scenes: Array.from({ length: scenesPerProject }, (_, i) => ({
            prompt: `soak ${n} scene ${i + 1}`,
            duration: 4,
          })),
          autostart: true,
        });
        if (created.status !== 201 || typeof created.json?.id !== "string") {
          throw new Error(
            `creating project ${n} failed: ${created.status} ${created.text.slice(0, 300)}`,
          );
        }
        projectIds.push(created.json.id);
      } finally {
        creating--;
      }
    };
    let n = 0;
    const creation = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (n < projectCount) await createOne(++n);
      }),
    ).then(() => say(`  ${secondsSince(startedAt)} s: all ${projectIds.length} projects created`));
    let creationFailed: unknown = null;
    creation.catch((error) => {
      creationFailed = error;
    });

    let killedAt: number | null = null;
    let restartedAt: number | null = null;
    let lastReport = 0;
    let settled = false;
    const totalScenes = projectCount * scenesPerProject;
    while (Date.now() < deadline && !creationFailed) {
      const [progress] = await sql<
        { completed: number; active_jobs: number; scenes_done: number }[]
      >`
        select (select count(*)::int from projects where status = 'completed') as completed,
               (select count(*)::int from jobs where status in ('queued', 'running', 'waiting')) as active_jobs,
               (select count(*)::int from scenes where status = 'completed') as scenes_done`;
      const { completed, active_jobs, scenes_done } = progress!;
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        say(
          `  ${secondsSince(startedAt)} s: ${completed}/${projectCount} projects, ${scenes_done}/${totalScenes} scenes completed, ${active_jobs} jobs active, ${standIns.pendingDeliveries} callbacks pending`,
        );
      }
      if (killOnce && killedAt === null && scenes_done >= totalScenes / 2) {
        let reopen = () => {};
        gate = new Promise((resolve) => {
          reopen = resolve;
        });
        while (creating > 0) await sleep(10);
        killedAt = Date.now();
        const killed = await cluster.kill();
        say(
          `  ${secondsSince(startedAt)} s: SIGKILL to ${killed} at ${scenes_done}/${totalScenes} scenes completed (${active_jobs} jobs active, ${standIns.pendingDeliveries} callbacks pending)`,
        );
        await sleep(500);
        await cluster.restart();
        restartedAt = Date.now();
        reopen();
        say(`  ${secondsSince(startedAt)} s: restarted`);
      }
      if (
        projectIds.length === projectCount &&
        completed === projectCount &&
        active_jobs === 0 &&
        standIns.pendingDeliveries === 0
      ) {
        settled = true;
        break;
      }
      await sleep(250);
    }
    if (creationFailed) throw creationFailed;
    const elapsed = secondsSince(startedAt);
    say(
      settled
        ? `settled after ${elapsed} s`
        : `time limit reached after ${elapsed} s: auditing what is there`,
    );
    ticking = false;
    await tickLoop;

    const audit = await auditRun(sql, standIns, projectIds);
    say("");
    say(table(["figure", "value"], audit.figures));
    if (audit.problems.length) {
      say("");
      say(`problems (${audit.problems.length}):`);
      for (const problem of audit.problems.slice(0, 40)) say(`  ${problem}`);
      if (audit.problems.length > 40) say(`  … and ${audit.problems.length - 40} more`);
    }
    if (killedAt && restartedAt) say(`kill → restarted in ${restartedAt - killedAt} ms`);
    const spread = cluster.spread();
    if (spread) say(spread);
    say(`lost: ${audit.lost} doubled: ${audit.doubled}`);
    process.exitCode = audit.lost || audit.doubled || audit.problems.length || !settled ? 1 : 0;
  } finally {
    ticking = false;
    await cluster?.stop();
    await standIns.close();
    await sql?.end({ timeout: 2 });
    if (keep) say(`kept: database ${fresh?.name}, logs in ${scratch}`);
    else {
      await fresh?.drop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}

/**
 * The reliability audit. "lost": a project not completed, a stage attempt whose request the
 * service never accepted, or a completed stage with no applied callback. "doubled": a scene
 * attempt, stitch or notification accepted under more than one Idempotency-Key, or one stage
 * completion applied twice. Everything else that is wrong (a status moving backwards, a
 * discontinuity between scenes) is listed as a problem.
 */
async function auditRun(sql: postgres.Sql, standIns: StandIns, projectIds: string[]) {
  const problems: string[] = [];
  let lost = 0;
  let doubled = 0;

  const projects = await sql<{ id: string; status: string; final_video_url: string | null }[]>`
    select id, status, final_video_url from projects`;
  const scenes = await sql<
    {
      id: string;
      project_id: string;
      number: number;
      status: string;
      video_url: string | null;
      last_frame_url: string | null;
      start_image_url: string | null;
    }[]
  >`
    select id, project_id, number, status, video_url, last_frame_url, start_image_url from scenes order by project_id, number`;
  const jobs = await sql<
    JobRow[]
  >`select id, kind, project_id, scene_id, attempt, status, created_at from jobs`;
  const events = await sql<
    {
      id: number;
      source: string;
      job_id: string | null;
      status: string | null;
      outcome: string;
      http_status: number;
      applied_at: Date | null;
    }[]
  >`
    select id, source, job_id, status, outcome, http_status, applied_at from webhook_events order by id`;

  // Every project completed, with its final video.
  for (const id of projectIds) {
    const project = projects.find((p) => p.id === id);
    if (project?.status !== "completed" || !project.final_video_url) {
      lost++;
      problems.push(
        `project ${id} ended ${project?.status ?? "missing"}${project?.final_video_url ? "" : " without a final video"}`,
      );
    }
  }
  for (const scene of scenes) {
    if (scene.status !== "completed" || !scene.video_url || !scene.last_frame_url) {
      problems.push(`scene ${scene.id} (#${scene.number}) ended ${scene.status}`);
    }
  }
  for (const job of jobs) {
    if (["queued", "running", "waiting"].includes(job.status))
      problems.push(`job ${job.id} (${job.kind}) left ${job.status}`);
  }

  // Accepted submissions: distinct Idempotency-Keys that got a task id (or a 2xx, for notify), per job.
  const jobById = new Map(jobs.map((j) => [j.id, j]));
  const acceptedKeys = new Map<string, Set<string>>(); // attempt key → idempotency keys
  const attemptOf = (job: JobRow) =>
    job.kind === "stitch" || job.kind === "notify"
      ? `${job.kind}:${job.project_id}`
      : `${job.kind}:${job.scene_id}:a${job.attempt}`;
  for (const submission of standIns.submissions) {
    if (submission.status !== 200) continue;
    const job = jobById.get(submission.idempotencyKey);
    if (!job) {
      doubled++;
      problems.push(
        `the ${submission.service} service accepted a request with an unknown Idempotency-Key ${submission.idempotencyKey}`,
      );
      continue;
    }
    const key = attemptOf(job);
    const keys = acceptedKeys.get(key) ?? new Set<string>();
    keys.add(submission.idempotencyKey);
    acceptedKeys.set(key, keys);
  }
  for (const job of jobs) {
    if (job.status === "cancelled") continue;
    const keys = acceptedKeys.get(attemptOf(job));
    if (!keys || keys.size === 0) {
      lost++;
      problems.push(
        `${attemptOf(job)}: the service never accepted its request (job ${job.id} ${job.status})`,
      );
    }
  }
  for (const [attempt, keys] of acceptedKeys) {
    if (keys.size > 1) {
      doubled += keys.size - 1;
      problems.push(`${attempt}: accepted ${keys.size} times (${[...keys].join(", ")})`);
    }
  }

  // Each stage completion applied exactly once (the pipeline's "every forward move happens once").
  const appliedCompletions = new Map<string, number>();
  for (const event of events) {
    if (event.outcome === "applied" && event.status === "completed" && event.job_id) {
      appliedCompletions.set(event.job_id, (appliedCompletions.get(event.job_id) ?? 0) + 1);
    }
  }
  for (const job of jobs) {
    if (job.kind === "notify" || job.status !== "succeeded") continue;
    const count = appliedCompletions.get(job.id) ?? 0;
    if (count === 0) {
      lost++;
      problems.push(`${attemptOf(job)} succeeded without an applied callback`);
    } else if (count > 1) {
      doubled += count - 1;
      problems.push(`${attemptOf(job)}: completion applied ${count} times`);
    }
  }

  // No status moved backwards: replaying the applied completions in the order they were applied
  // (applied_at is taken under the project's row lock, so it orders one project's events), every
  // scene's video comes after the previous scene completed, its last frame after its video, and the
  // stitch after the last scene; scene k+1 starts from scene k's last frame.
  const appliedAt = new Map<string, Date>();
  for (const event of events) {
    if (
      event.outcome === "applied" &&
      event.status === "completed" &&
      event.job_id &&
      event.applied_at
    ) {
      appliedAt.set(event.job_id, event.applied_at);
    }
  }
  const succeeded = (kind: string, sceneOrProject: string) =>
    jobs.find(
      (j) =>
        j.kind === kind &&
        j.status === "succeeded" &&
        (j.scene_id ?? j.project_id) === sceneOrProject,
    );
  let backwards = 0;
  const order = (label: string, earlier: Date | undefined, later: Date | undefined) => {
    if (earlier && later && earlier.getTime() > later.getTime()) {
      backwards++;
      problems.push(`${label}: ${earlier.toISOString()} after ${later.toISOString()}`);
    }
  };
  const byProject = groupBy(scenes, (s) => s.project_id);
  for (const [projectId, projectScenes] of byProject) {
    let previousDone: Date | undefined;
    let previousFrame: string | null = null;
    for (const scene of projectScenes) {
      const video = succeeded("generate_video", scene.id);
      const frame = succeeded("extract_last_frame", scene.id);
      const videoAt = video && appliedAt.get(video.id);
      const frameAt = frame && appliedAt.get(frame.id);
      order(
        `scene ${scene.id}: video applied before scene ${scene.number - 1} completed`,
        previousDone,
        videoAt,
      );
      order(`scene ${scene.id}: last frame applied before its video`, videoAt, frameAt);
      if (scene.number > 1 && scene.start_image_url !== previousFrame) {
        backwards++;
        problems.push(
          `scene ${scene.id}: started from ${scene.start_image_url}, not scene ${scene.number - 1}'s last frame ${previousFrame}`,
        );
      }
      previousDone = frameAt;
      previousFrame = scene.last_frame_url;
    }
    const stitch = succeeded("stitch", projectId);
    order(
      `project ${projectId}: stitch applied before its last scene completed`,
      previousDone,
      stitch && appliedAt.get(stitch.id),
    );
    const stitchRequest = standIns.submissions.find(
      (s) => s.service === "stitch" && s.status === 200 && s.idempotencyKey === stitch?.id,
    );
    const expectedUrls = JSON.stringify(projectScenes.map((s) => s.video_url));
    if (stitch && JSON.stringify(stitchRequest?.body.video_urls) !== expectedUrls) {
      backwards++;
      problems.push(
        `project ${projectId}: stitch asked for ${JSON.stringify(stitchRequest?.body.video_urls)}, scenes hold ${expectedUrls}`,
      );
    }
  }
  // Every applied event moved its job forward once; a refused (4xx) answer to a real callback is a bug.
  const refused = standIns.deliveries.filter((d) => d.status !== null && d.status >= 400);
  for (const d of refused.slice(0, 10))
    problems.push(
      `${d.stage} callback for ${d.taskId} refused ${d.status}: ${JSON.stringify(d.answer)}`,
    );
  if (refused.length > 10) problems.push(`… ${refused.length} callbacks refused in all`);
  const undelivered = standIns.deliveries.filter((d) => d.status === null);
  if (undelivered.length)
    problems.push(`${undelivered.length} callbacks never got through before the time limit`);

  const count = <T>(items: T[], test: (item: T) => boolean) => items.filter(test).length;
  const deliveries = standIns.deliveries;
  const submissions = standIns.submissions;
  const figures: (string | number)[][] = [
    [
      "projects completed",
      `${count(projects, (p) => p.status === "completed")}/${projectIds.length}`,
    ],
    ["scenes completed", `${count(scenes, (s) => s.status === "completed")}/${scenes.length}`],
    [
      "jobs (video / last frame / stitch / notify)",
      ["generate_video", "extract_last_frame", "stitch", "notify"]
        .map((k) => count(jobs, (j) => j.kind === k))
        .join(" / "),
    ],
    ["stage attempts beyond the first", count(jobs, (j) => j.attempt > 1)],
    ["requests to the services", submissions.length],
    ["  answered 503 (injected)", count(submissions, (s) => s.status === 503)],
    [
      "  accepted (distinct Idempotency-Keys)",
      new Set(submissions.filter((s) => s.status === 200).map((s) => s.idempotencyKey)).size,
    ],
    [
      "  re-sent with a known key",
      count(submissions, (s) => s.status === 200) -
        new Set(submissions.filter((s) => s.status === 200).map((s) => s.idempotencyKey)).size,
    ],
    ["callbacks delivered", deliveries.length],
    ["  duplicates", count(deliveries, (d) => d.duplicate)],
    ["  before the submission was answered", count(deliveries, (d) => d.early)],
    ["  needing a retry (server down)", count(deliveries, (d) => d.attempts > 1)],
    [
      "answers: applied",
      count(
        deliveries,
        (d) =>
          d.status === 200 &&
          d.answer?.received === true &&
          !d.answer.duplicate &&
          !d.answer.ignored,
      ),
    ],
    ["answers: duplicate", count(deliveries, (d) => d.answer?.duplicate === true)],
    ["answers: ignored (stale)", count(deliveries, (d) => typeof d.answer?.ignored === "string")],
    ["answers: parked (202)", count(deliveries, (d) => d.status === 202)],
    [
      "webhook_events by outcome",
      [...groupBy(events, (e) => e.outcome)].map(([k, v]) => `${k} ${v.length}`).join(", "),
    ],
    ["statuses moved backwards", backwards],
  ];
  return { lost, doubled, problems, figures };
}

type Cluster = {
  /** Where the app is reached: the one server, or the balancer in front of the web instances. */
  url: string;
  describe: string;
  /** SIGKILLs what the crash test kills; says what. */
  kill(): Promise<string>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** How the callbacks spread over the web instances (scale-out only). */
  spread(): string | null;
};

/**
 * The dispatcher process of a split deployment. `npm run worker` once the app has it; until then
 * (or in an app tree without it) a `next start` process that dispatches stands in for it — the
 * web instances' DISPATCH_IN_WEB=false is what the scale-out run tests either way.
 */
function workerCommand(appDir: string): string[] | null {
  const pkg = JSON.parse(readFileSync(path.join(appDir, "package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  return pkg.scripts?.worker ? ["npm", "run", "--silent", "worker"] : null;
}

/**
 * One `next start` (the default), or --instances N of them behind a round-robin balancer with
 * DISPATCH_IN_WEB=false and, with --worker, one dispatcher process; all on one database.
 */
async function startCluster(
  port: number,
  envFor: (port: number, extra?: Record<string, string>) => Record<string, string>,
  scratch: string,
): Promise<Cluster> {
  if (instances === 1 && !withWorker) {
    const env = envFor(port);
    const logFile = path.join(scratch, "server.log");
    let server: AppServer = await startServer({ appDir, port, env, logFile });
    return {
      url: server.url,
      describe: `server ${server.url}`,
      async kill() {
        await server.kill();
        return "the server's process group";
      },
      async restart() {
        server = await startServer({ appDir, port, env, logFile });
      },
      stop: () => server.stop(),
      spread: () => null,
    };
  }
  const ports: number[] = [port];
  while (ports.length < instances + 1)
    ports.push(await freePort(ports.at(-1)! + 1, ports.at(-1)! + 100));
  const webPorts = ports.slice(0, instances);
  const balancer = await startBalancer(webPorts.map((p) => `http://127.0.0.1:${p}`));
  // Every callback URL points at the balancer; with a worker, web processes leave dispatch to it.
  const shared = { APP_URL: balancer.url, ...(withWorker ? { DISPATCH_IN_WEB: "false" } : {}) };
  const webs: AppServer[] = [];
  const startWeb = (i: number) =>
    startServer({
      appDir,
      port: webPorts[i]!,
      env: envFor(webPorts[i]!, shared),
      logFile: path.join(scratch, `web-${i + 1}.log`),
    });
  for (let i = 0; i < instances; i++) webs.push(await startWeb(i));
  const command = withWorker ? workerCommand(appDir) : null;
  const workerPort = ports[instances]!;
  const workerEnv = envFor(workerPort, { APP_URL: balancer.url, DISPATCH_IN_WEB: "true" });
  const workerLog = path.join(scratch, "worker.log");
  const startWorker = async () =>
    command
      ? await startProcess({ appDir, command, env: workerEnv, logFile: workerLog })
      : await startServer({ appDir, port: workerPort, env: workerEnv, logFile: workerLog });
  let worker: Omit<AppServer, "url"> | null = withWorker ? await startWorker() : null;
  const workerText = !withWorker
    ? ""
    : command
      ? ` + a worker process (${command.join(" ")})`
      : " + a dispatching `next start` standing in for the worker (this app has no `npm run worker`)";
  return {
    url: balancer.url,
    describe: `${instances} web instances (${webPorts.join(", ")}${withWorker ? ", DISPATCH_IN_WEB=false" : ""}) behind ${balancer.url}${workerText}`,
    async kill() {
      await Promise.all([webs[0]!.kill(), worker?.kill()]);
      return `web instance 1${worker ? " and the worker" : ""} (process groups)`;
    },
    async restart() {
      const [web, restarted] = await Promise.all([startWeb(0), worker ? startWorker() : null]);
      webs[0] = web;
      worker = restarted;
    },
    async stop() {
      await Promise.all([...webs.map((w) => w.stop()), worker?.stop()]);
      await balancer.close();
    },
    spread: () =>
      `requests answered per web instance (through the balancer): ${balancer.answered.map((n, i) => `#${i + 1} ${n}`).join(", ")}`,
  };
}

/** True when the app's instrumentation.ts starts the periodic sweep itself. */
function sweeperStartsItself(appDir: string): boolean {
  // Started from instrumentation.ts, or (issue 10) from the server start-up and the dispatch worker.
  for (const name of [
    "instrumentation.ts",
    "instrumentation.js",
    "lib/server-start.ts",
    "lib/jobs/worker.ts",
  ]) {
    const file = path.join(appDir, name);
    if (existsSync(file) && readFileSync(file, "utf8").includes("startSweeper")) return true;
  }
  return false;
}

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T, K>(items: T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}

const pct = (rate: number) => `${Math.round(rate * 100)} %`;
const secondsSince = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
