import "server-only";
import { getSql } from "@/lib/db/client";
import type { Job } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { recordError } from "@/lib/observability/error-log";
import { log } from "@/lib/observability/log";
import { applyJobFailure, applyParkedReports } from "@/lib/pipeline/apply";
import { SOURCE_OF_KIND, type StageKind } from "@/lib/pipeline/statuses";
import type { ClaimedNewJob } from "@/lib/pipeline/store";
import { callService } from "@/lib/services/http";
import { buildServiceRequest, taskIdFrom } from "@/lib/services/requests";
import { backoffMs } from "./backoff";
import { batchedPerTurn } from "./per-turn";
import { leaseSeconds, scheduleDispatch } from "./schedule";

/** What the dispatcher needs of a claimed job. */
export type ClaimedJob = Pick<
  Job,
  "id" | "kind" | "projectId" | "sceneId" | "attempt" | "deliveries" | "payload" | "externalTaskId"
>;

/**
 * Claims due jobs and delivers them until a claim comes back short of a full batch (then
 * nothing else was due: a job queued later wakes the dispatcher again, so there is no
 * second, empty claim). Returns how many deliveries it made.
 */
export async function dispatchDueJobs({ batch = 20, maxRounds = 50 } = {}): Promise<number> {
  let delivered = 0;
  for (let round = 0; round < maxRounds; round++) {
    const claimed = await claimDueJobs(batch);
    if (claimed.length === 0) break;
    await deliverAll(claimed);
    delivered += claimed.length;
    if (claimed.length < batch) break;
  }
  return delivered;
}

/**
 * Claims the jobs a NOTIFY named, by id, and delivers them: a primary-key look-up instead of
 * the scan for due jobs. One another dispatcher claimed first (every listener hears every
 * NOTIFY) is skipped. Returns how many it delivered.
 */
export async function dispatchNotifiedJobs(ids: string[]): Promise<number> {
  const run = await getSql();
  const rows = await run.query<JobRow>(CLAIM_BY_ID, [ids.join(","), leaseSeconds()]);
  const claimed = rows.map(claimedJob);
  await deliverAll(claimed);
  return claimed.length;
}

/** Delivers jobs a write claimed for this thread (lib/pipeline/store.ts `JobHandOff`): their first delivery. */
export async function deliverClaimed(jobs: ClaimedNewJob[]) {
  await deliverAll(jobs.map((job) => ({ ...job, deliveries: 1, externalTaskId: null })));
}

async function deliverAll(claimed: ClaimedJob[]) {
  const results = await Promise.allSettled(claimed.map((job) => deliver(job)));
  for (const [i, result] of results.entries()) {
    // A delivery that could not record its outcome (e.g. the database went away) keeps its
    // job `running` until the lease ends, then it is claimed again: logged, not lost.
    if (result.status === "rejected") {
      log("error", "dispatch.delivery_failed", {
        job_id: claimed[i]?.id,
        message: (result.reason as Error)?.message ?? String(result.reason),
      });
    }
  }
}

type JobRow = {
  id: string;
  kind: Job["kind"];
  project_id: string;
  scene_id: string | null;
  attempt: number;
  deliveries: number;
  payload: Record<string, unknown>;
  external_task_id: string | null;
};

/**
 * One statement: queued jobs whose time has come, and running jobs whose lease ran out
 * (their dispatcher died), claimed with SKIP LOCKED — safe with any number of dispatchers.
 */
const CLAIM = `update jobs set status = 'running', deliveries = deliveries + 1,
  deadline_at = now() + make_interval(secs => $2::float8), updated_at = now()
where id in (
  select id from jobs
  where (status = 'queued' and run_at <= now()) or (status = 'running' and deadline_at < now())
  order by run_at limit $1::int
  for update skip locked)
returning id, kind, project_id, scene_id, attempt, deliveries, payload, external_task_id`;

/** The same claim for named jobs (ids comma-separated: one text parameter on either driver). */
const CLAIM_BY_ID = `update jobs set status = 'running', deliveries = deliveries + 1,
  deadline_at = now() + make_interval(secs => $2::float8), updated_at = now()
where id in (
  select id from jobs
  where id = any (string_to_array($1::text, ',')) and status = 'queued' and run_at <= now()
  for update skip locked)
returning id, kind, project_id, scene_id, attempt, deliveries, payload, external_task_id`;

export async function claimDueJobs(limit: number): Promise<ClaimedJob[]> {
  const run = await getSql();
  const rows = await run.query<JobRow>(CLAIM, [limit, leaseSeconds()]);
  return rows.map(claimedJob);
}

function claimedJob(r: JobRow): ClaimedJob {
  return {
    id: r.id,
    kind: r.kind,
    projectId: r.project_id,
    sceneId: r.scene_id,
    attempt: r.attempt,
    deliveries: r.deliveries,
    payload: r.payload ?? {},
    externalTaskId: r.external_task_id,
  };
}

async function deliver(job: ClaimedJob): Promise<void> {
  const built = buildServiceRequest(job);
  if ("skip" in built) return finishNotify(job, built.skip);
  if ("error" in built) return failJob(job, built.error, { final: true });
  const result = await callService(built.request);
  if (result.ok) {
    if (job.kind === "notify") return finishNotify(job, `delivered (${result.status})`);
    const taskId = taskIdFrom(result.json);
    if (!taskId)
      return failJob(
        job,
        `${built.request.service} service accepted the request but returned no task_id`,
        { final: true },
      );
    return recordSubmission(job, taskId, {
      status: result.status,
      task_id: taskId,
      answer: result.json?.status ?? null,
    });
  }
  if (result.retryable && job.deliveries <= env.SERVICE_MAX_RETRIES) {
    return rescheduleJob(
      job,
      result.error,
      backoffMs(job.deliveries, {
        baseMs: env.SERVICE_RETRY_BASE_MS,
        retryAfterMs: result.retryAfterMs,
      }),
    );
  }
  return failJob(job, result.error, { final: true, httpStatus: result.status });
}

async function rescheduleJob(job: ClaimedJob, error: string, delayMs: number) {
  const run = await getSql();
  await run.query(
    `update jobs set status = 'queued', run_at = now() + make_interval(secs => $2::float8),
      last_error = $3, updated_at = now()
    where id = $1 and status = 'running'`,
    [job.id, delayMs / 1000, error],
  );
  log("info", "job.retry_scheduled", {
    job_id: job.id,
    kind: job.kind,
    delivery: job.deliveries,
    delay_ms: delayMs,
    error,
  });
  // The sweep would find it too; a timer just keeps short backoffs short.
  setTimeout(scheduleDispatch, delayMs + 5).unref?.();
}

/**
 * One statement: the service accepted these jobs — remember each one's task id, start its
 * callback deadline (unless a callback matched by its ref, or a cancel, got there first: then
 * only the task id is kept for the record), and say whether callbacks for its task were
 * parked. Only then are they applied. "Parked" comes from the task's handshake row (schema:
 * task_handshakes), written with ON CONFLICT: it waits for a park in flight and sees one that
 * committed after this statement's snapshot, which a plain look at webhook_events would miss
 * — so a park and this record never both miss each other, and no timer is needed.
 * Submissions that finish in one turn are recorded together (`batchedPerTurn`), never two of
 * one task in one statement (ON CONFLICT cannot touch a row twice). The ids are also looked up
 * as an array, for the primary key: the planner takes a function's rows for 100, and on a
 * small `jobs` table a join alone hashed a sequential scan of the whole table into every record.
 */
const RECORD_SUBMISSIONS = `with s as (
  select * from jsonb_to_recordset($1::jsonb) as s(job_id text, task text, answer jsonb, src text)),
j as (
  update jobs set
    status = case when status = 'running' then 'waiting' else status end,
    deadline_at = case when status = 'running'
      then now() + make_interval(secs => $2::float8) else deadline_at end,
    last_error = case when status = 'running' then null else last_error end,
    external_task_id = coalesce(external_task_id, s.task),
    response = coalesce(response, s.answer),
    updated_at = now()
  from s where jobs.id = any (array(select job_id from s)) and jobs.id = s.job_id
  returning jobs.id),
h as (insert into task_handshakes (source, task_id, submitted)
  select s.src, s.task, true from s join j on j.id = s.job_id
  on conflict (source, task_id) do update set submitted = true returning source, task_id, parked)
select s.job_id, coalesce(h.parked, false) as parked
from s left join h on h.source = s.src and h.task_id = s.task`;

type Submission = {
  job_id: string;
  task: string;
  answer: Record<string, unknown>;
  src: string;
};

const recordSubmitted = batchedPerTurn(
  async (submissions: Submission[]): Promise<boolean[]> => {
    const run = await getSql();
    const rows = await run.query<{ job_id: string; parked: boolean }>(RECORD_SUBMISSIONS, [
      JSON.stringify(submissions),
      env.STAGE_TIMEOUT_SECONDS,
    ]);
    const parked = new Map(rows.map((row) => [row.job_id, row.parked]));
    return submissions.map((s) => parked.get(s.job_id) ?? false);
  },
  { max: 100, key: (s) => `${s.src} ${s.task}` },
);

export async function recordSubmission(
  job: ClaimedJob,
  taskId: string,
  response: Record<string, unknown>,
) {
  const kind = job.kind as StageKind;
  const parked = await recordSubmitted({
    job_id: job.id,
    task: taskId,
    answer: response,
    src: SOURCE_OF_KIND[kind],
  });
  log("debug", "job.submitted", { job_id: job.id, kind: job.kind, task_id: taskId });
  if (parked) {
    const queued = await applyParkedReports(kind, taskId);
    if (queued.length) scheduleDispatch();
  }
}

/**
 * The job could not be done: a final answer from the service, retries exhausted, or no
 * callback before the deadline. For a stage, the pipeline decides: next attempt or failure.
 */
export async function failJob(
  job: ClaimedJob,
  error: string,
  context: { final: boolean; httpStatus?: number | null; expect?: "running" | "waiting" },
) {
  if (job.kind === "notify") {
    const run = await getSql();
    await run.query(
      `update jobs set status = 'dead', last_error = $2, updated_at = now()
      where id = $1 and status = 'running'`,
      [job.id, error],
    );
    await recordError({
      type: "service",
      severity: "error",
      message: `Notification for project ${job.projectId} could not be delivered: ${error}`,
      projectId: job.projectId,
      context: { job_id: job.id, kind: job.kind, http_status: context.httpStatus ?? null },
    });
    return;
  }
  const result = await applyJobFailure(job.id, error, context.expect ?? "running");
  if (result.outcome === "applied")
    log("warn", "stage.failed", { job_id: job.id, kind: job.kind, result: result.log });
  await recordError({
    type: context.expect === "waiting" ? "pipeline" : "service",
    severity: "error",
    message: error,
    projectId: job.projectId,
    context: {
      job_id: job.id,
      kind: job.kind,
      scene_id: job.sceneId,
      attempt: job.attempt,
      http_status: context.httpStatus ?? null,
    },
  });
  if (result.outcome === "applied" && result.queuedJobIds.length) scheduleDispatch();
}

async function finishNotify(job: ClaimedJob, note: string) {
  const run = await getSql();
  await run.query(
    `update jobs set status = 'succeeded', response = $2::jsonb, updated_at = now()
    where id = $1 and status = 'running'`,
    [job.id, JSON.stringify({ note })],
  );
  log("info", "notify.done", {
    job_id: job.id,
    project_id: job.projectId,
    type: job.payload.type,
    note,
  });
}

/** Stages whose callback did not come before STAGE_TIMEOUT_SECONDS count as failed attempts. */
export async function expireOverdueStages(limit = 50): Promise<number> {
  const run = await getSql();
  const overdue = await run.query<JobRow>(
    `select id, kind, project_id, scene_id, attempt, deliveries, payload, external_task_id
    from jobs where status = 'waiting' and deadline_at < now() order by deadline_at limit $1::int`,
    [limit],
  );
  for (const job of overdue.map(claimedJob)) {
    await failJob(
      job,
      `no callback within ${env.STAGE_TIMEOUT_SECONDS} s (task ${job.externalTaskId})`,
      { final: true, expect: "waiting" },
    );
  }
  return overdue.length;
}

/** One pass of the periodic sweep: deadlines first, then whatever is due. */
export async function sweep(): Promise<{ expired: number; delivered: number; unparked: number }> {
  const expired = await expireOverdueStages();
  const unparked = await applyStrandedParkedCallbacks();
  await forgetHandshakes();
  const delivered = await dispatchDueJobs();
  return { expired, delivered, unparked };
}

/**
 * A task's handshake row matters only while its submission is not recorded yet: once it is,
 * a callback parked later sees the task in its own look. Rows of tasks never recorded (a
 * stray callback) go after a day.
 */
async function forgetHandshakes() {
  const run = await getSql();
  await run.query(
    "delete from task_handshakes where submitted or created_at < now() - interval '1 day'",
  );
}

/**
 * Safety net: parked callbacks whose task is known by now (normally the record of the
 * submission, or the callback's own second look, applies them at once; this catches a
 * process that died between the two).
 */
export async function applyStrandedParkedCallbacks(limit = 50): Promise<number> {
  const run = await getSql();
  const stranded = await run.query<{ kind: StageKind; task_id: string }>(
    `select distinct j.kind, e.task_id
    from webhook_events e
    join jobs j on j.external_task_id = e.task_id and j.kind = case e.source
      when 'video-complete' then 'generate_video'
      when 'last-frame-complete' then 'extract_last_frame'
      else 'stitch' end
    where e.outcome = 'parked'
    limit $1::int`,
    [limit],
  );
  for (const row of stranded) await applyParkedReports(row.kind, row.task_id);
  return stranded.length; // what they queued is due now: the sweep's dispatch picks it up
}
