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
import { type Subscribers, startSubscribers } from "./lib/subscribers";

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
 *
 * Subscribers (issue 14, --no-subscribers to leave them out): three webhook endpoints registered
 * through the API — healthy, flaky (SOAK_FLAKY_RATE 30 % answered 500, at most twice per event)
 * and dead (always 500) — with a short retry schedule and disabling window. The audit: every
 * project event delivered to the healthy and flaky ones and verified with `standardwebhooks`, no
 * gap in a project's `sequence`, one event per change, the dead one disabled with an error-log row.
 *
 * Continuity and re-shoots (issue 15): --independent SOAK_INDEPENDENT_RATE of the projects are
 * `independent` (MAX_PARALLEL_SCENES=3); --reshoots SOAK_RESHOOT_RATE of them, once completed, get
 * scene 2 re-shot through the API (scope alternating `following` / `scene`; every third of them
 * independent), and half of them then have take 1 of that scene selected again. The audit: one new take per regenerated scene and
 * run, one stitch and one final video per re-shoot or selection, the stitch of the current takes.
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
const independentRate = args.number("independent", "SOAK_INDEPENDENT_RATE", 0.25);
const reshootRate = args.number("reshoots", "SOAK_RESHOOT_RATE", 0.25);
const withSubscribers = !args.flag("no-subscribers");
const flakyRate = args.number("flaky", "SOAK_FLAKY_RATE", 0.3);
/** Retries of a delivery: the flaky endpoint fails an event at most twice, so 4 are plenty. */
const RETRY_SCHEDULE = "250ms,500ms,1s,1s";
/** The dead endpoint is disabled once its failures have lasted this long (0.005 h = 18 s). */
const disableAfterHours = args.number("disable-after-hours", "SOAK_DISABLE_AFTER_HOURS", 0.005);
const MAX_PARALLEL_SCENES = 3;
const START_IMAGE = "https://cdn.example.test/start.jpg";
const say = (line: string) => console.log(line);

/** A re-shoot step sent through the management API once the project is completed. */
type Step =
  | { kind: "regenerate"; scene: number; scope: "scene" | "following" }
  | { kind: "select_take"; scene: number; take: number };
/** What the soak does with one project; `applied` counts the steps the API accepted. */
type Plan = {
  n: number;
  projectId: string | null;
  continuity: "chain" | "independent";
  steps: Step[];
  applied: number;
  busy: boolean;
  /** The last poll started before the latest step was answered: the next step waits for a later one. */
  answeredDuringPoll: number;
};

/** An even spread: `rate` of 1..N picked, from the `offset`-th on. */
const picked = (n: number, rate: number, offset = 0) =>
  Math.floor((n + offset) * rate) !== Math.floor((n + offset - 1) * rate);

function planFor(n: number, reshootsSoFar: number): Plan {
  const steps: Step[] = [];
  if (scenesPerProject >= 2 && picked(n, reshootRate, 2)) {
    const scene = 2;
    steps.push({
      kind: "regenerate",
      scene,
      scope: reshootsSoFar % 2 === 0 ? "following" : "scene",
    });
    if (reshootsSoFar % 4 < 2) steps.push({ kind: "select_take", scene, take: 1 });
  }
  // Every third re-shot project is independent, whatever the even spread of the others says.
  const independent = steps.length ? reshootsSoFar % 3 === 2 : picked(n, independentRate);
  return {
    n,
    projectId: null,
    continuity: independent ? "independent" : "chain",
    steps,
    applied: 0,
    busy: false,
    answeredDuringPoll: 0,
  };
}

type JobRow = {
  id: string;
  key: string;
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
  const port = args.number("port", "SOAK_PORT", 0) || (await freePort());
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
  const subscribers = withSubscribers
    ? await startSubscribers({ flakyFailureRate: flakyRate, maxFailuresPerEvent: 2 })
    : null;
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
          MAX_PARALLEL_SCENES: String(MAX_PARALLEL_SCENES),
          // The subscribers live on loopback; a short schedule and window so a run sees them through.
          WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
          SUBSCRIPTION_RETRY_SCHEDULE: RETRY_SCHEDULE,
          SUBSCRIPTION_TIMEOUT_MS: "2000",
          SUBSCRIPTION_DISABLE_AFTER_HOURS: String(disableAfterHours),
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
    const plans: Plan[] = [];
    for (let n = 1; n <= projectCount; n++)
      plans.push(planFor(n, plans.filter((p) => p.steps.length).length));
    const reshot = plans.filter((p) => p.steps.length);
    say(
      `${plans.filter((p) => p.continuity === "independent").length} projects independent (MAX_PARALLEL_SCENES=${MAX_PARALLEL_SCENES}); ` +
        `${reshot.length} re-shot once completed (${reshot.filter((p) => p.steps[0]?.kind === "regenerate" && p.steps[0].scope === "following").length} following, ` +
        `${reshot.filter((p) => p.steps[0]?.kind === "regenerate" && p.steps[0].scope === "scene").length} scene), ` +
        `${reshot.filter((p) => p.steps.length > 1).length} of them then back to take 1`,
    );
    if (subscribers) {
      for (const subscriber of subscribers.all) {
        const created = await adminFetch(server.url, secrets, "/api/v1/webhook-endpoints", {
          url: subscriber.url,
          description: `soak ${subscriber.name}`,
        });
        if (created.status !== 201 || typeof created.json?.secret !== "string")
          throw new Error(
            `registering the ${subscriber.name} subscriber failed: ${created.status} ${created.text.slice(0, 300)}`,
          );
        subscriber.secret = created.json.secret;
        subscriber.endpointId = String(created.json.id);
      }
      say(
        `subscribers: healthy, flaky (${pct(flakyRate)} answered 500, at most twice per event), dead (always 500); ` +
          `retries ${RETRY_SCHEDULE}, disabled after ${disableAfterHours} h of failures`,
      );
    }

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

    // Projects are created, and re-shot, while earlier ones run; the kill waits only for API
    // requests in flight (a lost answer would make the audit's expectations wrong), never for
    // the pipeline.
    const projectIds: string[] = [];
    let gate: Promise<void> = Promise.resolve();
    let requesting = 0;
    const request = async <T>(send: () => Promise<T>): Promise<T> => {
      // The kill may close the gate while this waits on the old one: look again after waking.
      for (let open = gate; ; open = gate) {
        await open;
        if (open === gate) break;
      }
      requesting++;
      try {
        return await send();
      } finally {
        requesting--;
      }
    };
    const createOne = (n: number) =>
      request(async () => {
        const plan = plans[n - 1]!;
        const created = await adminFetch(server!.url, secrets, "/api/v1/projects", {
          name: `soak ${n}`,
          start_image_url: START_IMAGE,
          continuity: plan.continuity,
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
        plan.projectId = created.json.id;
      });
    // A completed project's next re-shoot step; a refusal is a finding (the project was completed).
    let polls = 0;
    const stepFailures: string[] = [];
    const runStep = (plan: Plan) => {
      const step = plan.steps[plan.applied]!;
      plan.busy = true;
      const path = `/api/v1/projects/${plan.projectId}/scenes/${step.scene}/${step.kind === "regenerate" ? "regenerate" : "select-take"}`;
      const body =
        step.kind === "regenerate"
          ? { scope: step.scope, prompt: `soak ${plan.n} scene ${step.scene} re-shot` }
          : { take: step.take };
      request(() => adminFetch(server!.url, secrets, path, body))
        .then((answer) => {
          if (answer.status === 202) plan.applied++;
          else {
            stepFailures.push(`${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
            plan.steps.length = plan.applied; // the rest of its plan is dropped
          }
        })
        .catch((error: Error) => {
          stepFailures.push(`${path}: ${error.message}`);
          plan.steps.length = plan.applied;
        })
        .finally(() => {
          plan.busy = false;
          plan.answeredDuringPoll = polls;
        });
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
    let lastPing = 0;
    while (Date.now() < deadline && !creationFailed) {
      const poll = ++polls;
      const [progress] = await sql<
        {
          completed: number;
          active_jobs: number;
          scenes_done: number;
          pending_deliveries: number;
          disabled: number;
          completed_ids: string[];
        }[]
      >`
        select (select count(*)::int from projects where status = 'completed') as completed,
               (select count(*)::int from jobs where status in ('queued', 'running', 'waiting')) as active_jobs,
               (select count(*)::int from scenes where status = 'completed') as scenes_done,
               (select count(*)::int from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
                 where e.enabled and d.status in ('queued', 'running')) as pending_deliveries,
               (select count(*)::int from webhook_endpoints where not enabled) as disabled,
               (select coalesce(array_agg(id), '{}') from projects where status = 'completed') as completed_ids`;
      const { completed, active_jobs, scenes_done, pending_deliveries, disabled } = progress!;
      const completedIds = new Set(progress!.completed_ids);
      for (const plan of plans) {
        if (plan.busy || plan.applied >= plan.steps.length || !plan.projectId) continue;
        // Completed as seen by a poll that started after the previous step was answered.
        if (completedIds.has(plan.projectId) && poll > plan.answeredDuringPoll) runStep(plan);
      }
      const stepsLeft = plans.reduce((sum, p) => sum + p.steps.length - p.applied, 0);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        say(
          `  ${secondsSince(startedAt)} s: ${completed}/${projectCount} projects, ${scenes_done}/${totalScenes} scenes completed, ${active_jobs} jobs active, ${standIns.pendingDeliveries} callbacks pending` +
            `, ${stepsLeft} re-shoot steps to go${subscribers ? `, ${pending_deliveries} deliveries pending, ${disabled} endpoint(s) disabled` : ""}`,
        );
      }
      if (killOnce && killedAt === null && scenes_done >= totalScenes / 2) {
        let reopen = () => {};
        gate = new Promise((resolve) => {
          reopen = resolve;
        });
        while (requesting > 0) await sleep(10);
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
      const pipelineSettled =
        projectIds.length === projectCount &&
        completed === projectCount &&
        active_jobs === 0 &&
        standIns.pendingDeliveries === 0 &&
        stepsLeft === 0 &&
        plans.every((p) => !p.busy);
      const deadDisabled = disabled > 0;
      if (pipelineSettled && (!subscribers || (pending_deliveries === 0 && deadDisabled))) {
        settled = true;
        break;
      }
      // A short run may end before the dead endpoint's failures have lasted the disabling
      // window: test pings keep it failing until they have.
      if (subscribers && pipelineSettled && !deadDisabled && Date.now() - lastPing > 2000) {
        lastPing = Date.now();
        await request(() =>
          adminFetch(
            server.url,
            secrets,
            `/api/v1/webhook-endpoints/${subscribers.dead.endpointId}/test`,
            {},
          ),
        );
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

    const audit = await auditRun(sql, standIns, plans, subscribers);
    for (const failure of stepFailures) audit.problems.push(`re-shoot step refused: ${failure}`);
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
    await subscribers?.close();
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
 * service never accepted, a completed stage with no applied callback, a take, stitch, final
 * video or project event missing, or an event a healthy or flaky subscriber never got.
 * "doubled": a scene attempt, stitch or notification accepted under more than one
 * Idempotency-Key, one stage completion applied twice, or one more take, final video or event
 * than changes. Everything else that is wrong (a status moving backwards, a discontinuity
 * between scenes, a dead endpoint still enabled) is listed as a problem.
 */
async function auditRun(
  sql: postgres.Sql,
  standIns: StandIns,
  plans: Plan[],
  subscribers: Subscribers | null,
) {
  const problems: string[] = [];
  let lost = 0;
  let doubled = 0;
  const projectIds = plans.flatMap((p) => (p.projectId ? [p.projectId] : []));
  const planOf = new Map(plans.map((p) => [p.projectId, p]));
  const appliedSteps = (projectId: string) => {
    const plan = planOf.get(projectId);
    return plan ? plan.steps.slice(0, plan.applied) : [];
  };
  /** One more than expected is doubled, one fewer lost. */
  const expectCount = (label: string, actual: number, expected: number) => {
    if (actual < expected) lost += expected - actual;
    if (actual > expected) doubled += actual - expected;
    if (actual !== expected) problems.push(`${label}: ${actual}, expected ${expected}`);
  };

  const projects = await sql<
    {
      id: string;
      status: string;
      continuity: string;
      final_video_url: string | null;
      event_sequence: number;
    }[]
  >`select id, status, continuity, final_video_url, event_sequence from projects`;
  const scenes = await sql<
    {
      id: string;
      project_id: string;
      number: number;
      status: string;
      takes: number;
      selected_take: number | null;
      video_url: string | null;
      last_frame_url: string | null;
      start_image_url: string | null;
    }[]
  >`
    select id, project_id, number, status, takes, selected_take, video_url, last_frame_url, start_image_url
    from scenes order by project_id, number`;
  const takes = await sql<
    { scene_id: string; take: number; video_url: string; last_frame_url: string | null }[]
  >`select scene_id, take, video_url, last_frame_url from scene_takes order by scene_id, take`;
  const finalVideos = await sql<{ project_id: string; url: string }[]>`
    select project_id, url from final_videos order by project_id, id`;
  const jobs = await sql<
    JobRow[]
  >`select id, key, kind, project_id, scene_id, attempt, status, created_at from jobs`;
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
  const projectById = new Map(projects.map((p) => [p.id, p]));

  // Every project completed, with its final video.
  for (const id of projectIds) {
    const project = projectById.get(id);
    if (project?.status !== "completed" || !project.final_video_url) {
      lost++;
      problems.push(
        `project ${id} ended ${project?.status ?? "missing"}${project?.final_video_url ? "" : " without a final video"}`,
      );
    }
  }
  for (const scene of scenes) {
    const chain = projectById.get(scene.project_id)?.continuity !== "independent";
    if (scene.status !== "completed" || !scene.video_url || (chain && !scene.last_frame_url)) {
      problems.push(`scene ${scene.id} (#${scene.number}) ended ${scene.status}`);
    }
  }
  for (const job of jobs) {
    if (["queued", "running", "waiting"].includes(job.status))
      problems.push(`job ${job.id} (${job.kind}) left ${job.status}`);
  }

  // Accepted submissions: distinct Idempotency-Keys that got a task id (or a 2xx, for notify),
  // per stage attempt of a run (a stitch's attempts are one stitch: accepted once per run).
  const jobById = new Map(jobs.map((j) => [j.id, j]));
  const acceptedKeys = new Map<string, Set<string>>(); // attempt → idempotency keys
  const attemptOf = (job: JobRow) =>
    job.kind === "stitch" ? job.key.replace(/:a\d+$/, "") : job.key;
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
  const appliedAt = new Map<string, Date>();
  for (const event of events) {
    if (event.outcome === "applied" && event.status === "completed" && event.job_id) {
      appliedCompletions.set(event.job_id, (appliedCompletions.get(event.job_id) ?? 0) + 1);
      if (event.applied_at) appliedAt.set(event.job_id, event.applied_at);
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

  // Takes, stitches and final videos against the re-shoot steps the API accepted: a scene has
  // one take per run that generated it, a project one stitch and one final video per run that
  // ended completed (the first, each re-shoot, each take selected), the stitch of the current takes.
  const runOf = (job: JobRow) => Number(/:r(\d+)/.exec(job.key)?.[1] ?? 0);
  const succeededJobs = jobs.filter((j) => j.status === "succeeded");
  /** The succeeded job of that kind for a scene (or project) in its latest run. */
  const latest = (kind: string, target: string) =>
    succeededJobs
      .filter((j) => j.kind === kind && (j.scene_id ?? j.project_id) === target)
      .sort((a, b) => runOf(b) - runOf(a))[0];
  const takesOf = groupBy(takes, (t) => t.scene_id);
  const finalsOf = groupBy(finalVideos, (f) => f.project_id);
  let backwards = 0;
  const order = (label: string, earlier: Date | undefined, later: Date | undefined) => {
    if (earlier && later && earlier.getTime() > later.getTime()) {
      backwards++;
      problems.push(`${label}: ${earlier.toISOString()} after ${later.toISOString()}`);
    }
  };
  let continuityBreaks = 0;
  const byProject = groupBy(scenes, (s) => s.project_id);
  for (const [projectId, projectScenes] of byProject) {
    const project = projectById.get(projectId)!;
    const chain = project.continuity !== "independent";
    const steps = appliedSteps(projectId);
    const generations = (number: number) =>
      1 +
      steps.filter(
        (s) =>
          s.kind === "regenerate" &&
          (s.scene === number || (s.scope === "following" && number > s.scene)),
      ).length;
    const selectedTake = (number: number) => {
      let selected = generations(number);
      for (const s of steps) if (s.kind === "select_take" && s.scene === number) selected = s.take;
      return selected;
    };
    const stitches = projectScenes.length > 1 ? 1 + steps.length : 1;
    for (const scene of projectScenes) {
      const sceneTakes = takesOf.get(scene.id) ?? [];
      const expected = generations(scene.number);
      expectCount(`scene ${scene.id} (#${scene.number}) takes`, sceneTakes.length, expected);
      if (scene.takes !== sceneTakes.length)
        problems.push(`scene ${scene.id}: takes ${scene.takes}, ${sceneTakes.length} take rows`);
      const selected = sceneTakes.find((t) => t.take === selectedTake(scene.number));
      if (
        scene.selected_take !== selectedTake(scene.number) ||
        selected?.video_url !== scene.video_url
      )
        problems.push(
          `scene ${scene.id}: take ${scene.selected_take} selected showing ${scene.video_url}, expected take ${selectedTake(scene.number)} (${selected?.video_url})`,
        );
    }
    if (projectScenes.length > 1) {
      const stitchRuns = new Set(
        succeededJobs.filter((j) => j.kind === "stitch" && j.project_id === projectId).map(runOf),
      );
      expectCount(`project ${projectId} stitches`, stitchRuns.size, stitches);
    }
    const finals = finalsOf.get(projectId) ?? [];
    expectCount(`project ${projectId} final videos`, finals.length, stitches);
    if (finals.length && finals.at(-1)!.url !== project.final_video_url)
      problems.push(
        `project ${projectId}: final video ${project.final_video_url}, the latest listed is ${finals.at(-1)!.url}`,
      );
    if (
      !chain &&
      succeededJobs.some((j) => j.kind === "extract_last_frame" && j.project_id === projectId)
    )
      problems.push(`project ${projectId} is independent but had a last-frame stage`);

    // No status moved backwards: replaying the applied completions in the order they were
    // applied (applied_at is taken under the project's row lock, so it orders one project's
    // events), a scene's last frame comes after its video; in chain mode a scene's video after
    // the previous scene completed and from its last frame — unless the previous scene was
    // re-shot alone or given another take afterwards (the continuity break a user accepts);
    // in independent mode every scene from the start image. The stitch comes last.
    let lastDone: Date | undefined;
    const doneAt = (scene: (typeof projectScenes)[number]) => {
      const video = latest("generate_video", scene.id);
      const frame = latest("extract_last_frame", scene.id);
      return (chain ? frame : video) && appliedAt.get((chain ? frame : video)!.id);
    };
    for (const scene of projectScenes) {
      const video = latest("generate_video", scene.id);
      const videoAt = video && appliedAt.get(video.id);
      if (chain) {
        const frame = latest("extract_last_frame", scene.id);
        order(
          `scene ${scene.id}: last frame applied before its video`,
          videoAt,
          frame && appliedAt.get(frame.id),
        );
      }
      const done = doneAt(scene);
      if (done && (!lastDone || done > lastDone)) lastDone = done;
      if (!chain) {
        if (scene.start_image_url !== START_IMAGE) {
          backwards++;
          problems.push(`scene ${scene.id} (independent): started from ${scene.start_image_url}`);
        }
        continue;
      }
      if (scene.number === 1) continue;
      const previous = projectScenes.find((s) => s.number === scene.number - 1)!;
      const previousVideo = latest("generate_video", previous.id);
      const broken =
        (video && previousVideo && runOf(video) < runOf(previousVideo)) ||
        steps.some((s) => s.kind === "select_take" && s.scene === previous.number);
      if (broken) {
        continuityBreaks++;
        // Still from a real last frame of the scene before: one of its takes.
        if (
          !(takesOf.get(previous.id) ?? []).some((t) => t.last_frame_url === scene.start_image_url)
        ) {
          backwards++;
          problems.push(
            `scene ${scene.id}: started from ${scene.start_image_url}, no take of scene ${previous.number} ends there`,
          );
        }
        continue;
      }
      order(
        `scene ${scene.id}: video applied before scene ${previous.number} completed`,
        doneAt(previous),
        videoAt,
      );
      if (scene.start_image_url !== previous.last_frame_url) {
        backwards++;
        problems.push(
          `scene ${scene.id}: started from ${scene.start_image_url}, not scene ${previous.number}'s last frame ${previous.last_frame_url}`,
        );
      }
    }
    const stitch = latest("stitch", projectId);
    order(
      `project ${projectId}: stitch applied before its last scene completed`,
      lastDone,
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

  const events14 = await auditEvents(sql, plans, subscribers, expectCount, problems);
  lost += events14.lost;

  const count = <T>(items: T[], test: (item: T) => boolean) => items.filter(test).length;
  const deliveries = standIns.deliveries;
  const submissions = standIns.submissions;
  const allSteps = plans.flatMap((p) => p.steps.slice(0, p.applied));
  const figures: (string | number)[][] = [
    [
      "projects completed",
      `${count(projects, (p) => p.status === "completed")}/${projectIds.length}`,
    ],
    [
      "  chain / independent",
      `${count(projects, (p) => p.continuity !== "independent")} / ${count(projects, (p) => p.continuity === "independent")}`,
    ],
    ["scenes completed", `${count(scenes, (s) => s.status === "completed")}/${scenes.length}`],
    [
      "re-shoots (following / scene) / takes selected",
      `${count(allSteps, (s) => s.kind === "regenerate" && s.scope === "following")} / ${count(allSteps, (s) => s.kind === "regenerate" && s.scope === "scene")} / ${count(allSteps, (s) => s.kind === "select_take")}`,
    ],
    ["takes / final videos", `${takes.length} / ${finalVideos.length}`],
    ["continuity breaks (accepted: scene scope or take)", continuityBreaks],
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
    ...events14.figures,
  ];
  return { lost, doubled, problems, figures };
}

/**
 * The project events (issue 14): per project, `sequence` 1..n without a gap and one event per
 * change (a start or re-shoot, a scene generation, a stitch, a completion); every one of them
 * delivered to the healthy and flaky subscribers, verified, with the same type and sequence;
 * their deliveries all succeeded; the dead endpoint disabled with an error-log row.
 */
async function auditEvents(
  sql: postgres.Sql,
  plans: Plan[],
  subscribers: Subscribers | null,
  expectCount: (label: string, actual: number, expected: number) => void,
  problems: string[],
) {
  let lost = 0;
  const rows = await sql<
    { id: string; project_id: string; sequence: number; type: string; scene_id: string | null }[]
  >`select id, project_id, sequence, type, data->>'scene_id' as scene_id
    from project_events order by project_id, sequence`;
  const projects = await sql<{ id: string; event_sequence: number; scenes: number }[]>`
    select p.id, p.event_sequence, (select count(*)::int from scenes s where s.project_id = p.id) as scenes
    from projects p`;
  const takesPerScene = await sql<{ id: string; takes: number }[]>`select id, takes from scenes`;
  const byProject = groupBy(rows, (r) => r.project_id);
  let gaps = 0;
  for (const project of projects) {
    const events = byProject.get(project.id) ?? [];
    const sequences = events.map((e) => e.sequence);
    if (
      sequences.some((s, i) => s !== i + 1) ||
      (sequences.at(-1) ?? 0) !== project.event_sequence
    ) {
      gaps++;
      problems.push(
        `project ${project.id}: event sequences ${sequences.join(",")}, event_sequence ${project.event_sequence}`,
      );
    }
    const plan = plans.find((p) => p.projectId === project.id);
    const steps = plan ? plan.steps.slice(0, plan.applied) : [];
    const runs = project.scenes > 1 ? 1 + steps.length : 1;
    const ofType = (type: string) => events.filter((e) => e.type === type).length;
    expectCount(
      `project ${project.id} project.started events`,
      ofType("project.started"),
      1 + steps.filter((s) => s.kind === "regenerate").length,
    );
    if (project.scenes > 1)
      expectCount(
        `project ${project.id} project.stitching events`,
        ofType("project.stitching"),
        runs,
      );
    expectCount(
      `project ${project.id} project.completed events`,
      ofType("project.completed"),
      runs,
    );
  }
  const sceneCompletions = groupBy(
    rows.filter((r) => r.type === "scene.completed"),
    (r) => r.scene_id,
  );
  for (const scene of takesPerScene)
    expectCount(
      `scene ${scene.id} scene.completed events (one per take)`,
      sceneCompletions.get(scene.id)?.length ?? 0,
      scene.takes,
    );
  const figures: (string | number)[][] = [
    ["project events", rows.length],
    ["  projects with a sequence gap", gaps],
  ];
  if (!subscribers) return { lost, figures };

  const deliveries = await sql<
    { endpoint_id: string; status: string; attempts: number; n: number }[]
  >`
    select endpoint_id, status, max(attempt)::int as attempts, count(*)::int as n
    from webhook_deliveries group by endpoint_id, status`;
  const endpoints = await sql<
    { id: string; enabled: boolean; disabled_at: Date | null; failing_since: Date | null }[]
  >`
    select id, enabled, disabled_at, failing_since from webhook_endpoints`;
  const disabledLogged = await sql<{ endpoint_id: string }[]>`
    select context->>'endpoint_id' as endpoint_id from error_log where context ? 'endpoint_id'`;
  const statusOf = (endpointId: string | null) =>
    deliveries
      .filter((d) => d.endpoint_id === endpointId)
      .map((d) => `${d.status} ${d.n}`)
      .join(", ") || "none";
  for (const subscriber of [subscribers.healthy, subscribers.flaky]) {
    let missing = 0;
    let mismatched = 0;
    for (const event of rows) {
      const got = subscriber.events.get(event.id);
      if (!got) missing++;
      else if (
        got.type !== event.type ||
        got.sequence !== event.sequence ||
        got.projectId !== event.project_id
      )
        mismatched++;
    }
    const unknown = [...subscriber.events.keys()].filter((id) => !rows.some((r) => r.id === id));
    lost += missing;
    if (missing)
      problems.push(
        `${subscriber.name} subscriber: ${missing} of ${rows.length} events never delivered`,
      );
    if (mismatched)
      problems.push(
        `${subscriber.name} subscriber: ${mismatched} events with another type, sequence or project than recorded`,
      );
    if (unknown.length)
      problems.push(
        `${subscriber.name} subscriber: ${unknown.length} events that are not project events (${unknown.slice(0, 3).join(", ")})`,
      );
    if (subscriber.invalid)
      problems.push(`${subscriber.name} subscriber: ${subscriber.invalid} requests did not verify`);
    const unfinished = deliveries.filter(
      (d) => d.endpoint_id === subscriber.endpointId && d.status !== "succeeded",
    );
    if (unfinished.length)
      problems.push(`${subscriber.name} subscriber: deliveries ${statusOf(subscriber.endpointId)}`);
    const redelivered = [...subscriber.events.values()].filter((e) => e.count > 1).length;
    figures.push(
      [
        `${subscriber.name} subscriber: events verified`,
        `${subscriber.events.size - unknown.length}/${rows.length}`,
      ],
      [
        `  requests / answered 500 / redelivered (same webhook-id)`,
        `${subscriber.requests} / ${subscriber.failed} / ${redelivered}`,
      ],
      ["  deliveries", statusOf(subscriber.endpointId)],
    );
  }
  const dead = endpoints.find((e) => e.id === subscribers.dead.endpointId);
  const logged = disabledLogged.some((r) => r.endpoint_id === subscribers.dead.endpointId);
  if (dead?.enabled !== false) problems.push("dead subscriber: its endpoint was never disabled");
  if (!logged) problems.push("dead subscriber: no error-log row says it was disabled");
  for (const e of endpoints)
    if (e.id !== subscribers.dead.endpointId && !e.enabled)
      problems.push(`endpoint ${e.id} was disabled`);
  figures.push(
    [
      "dead subscriber: disabled (error log)",
      dead?.disabled_at && dead.failing_since
        ? `yes, after ${((dead.disabled_at.getTime() - dead.failing_since.getTime()) / 1000).toFixed(1)} s of failures (${logged ? "logged" : "NOT logged"})`
        : "no",
    ],
    [
      "  requests / deliveries",
      `${subscribers.dead.requests} / ${statusOf(subscribers.dead.endpointId)}`,
    ],
  );
  return { lost, figures };
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
  while (ports.length < instances + 1) ports.push(await freePort(ports));
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
