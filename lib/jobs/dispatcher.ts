import "server-only";
import { and, asc, eq, inArray, isNull, lt, lte, or, sql } from "drizzle-orm";
import { getDb, type Tx } from "@/lib/db/client";
import { type Job, jobs, webhookEvents } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { recordError } from "@/lib/observability/error-log";
import { log } from "@/lib/observability/log";
import { decideAndApply, loadState, touchProject } from "@/lib/pipeline/apply";
import { callService } from "@/lib/services/http";
import { buildServiceRequest, taskIdFrom } from "@/lib/services/requests";
import { applyCallback, lockTask } from "@/lib/webhooks/apply-callback";
import { parseCallback } from "@/lib/webhooks/payloads";
import { type Stage, stageOfJobKind } from "@/lib/webhooks/stages";
import { backoffMs } from "./backoff";
import { scheduleDispatch } from "./schedule";

/** How long a claimed job may stay `running` before another dispatcher reclaims it (crash recovery). */
const leaseMs = () => env.SERVICE_TIMEOUT_MS + 30_000;

/**
 * Claims due jobs (`FOR UPDATE SKIP LOCKED`: safe with many instances) and delivers
 * them, until none are due. Returns how many deliveries it made.
 */
export async function dispatchDueJobs({ batch = 20, maxRounds = 50 } = {}): Promise<number> {
  let delivered = 0;
  for (let round = 0; round < maxRounds; round++) {
    const claimed = await claimDueJobs(batch);
    if (claimed.length === 0) break;
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
    delivered += claimed.length;
  }
  return delivered;
}

/** Queued jobs whose time has come, and running jobs whose lease ran out (their dispatcher died). */
export async function claimDueJobs(limit: number): Promise<Job[]> {
  const db = await getDb();
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      or(
        and(eq(jobs.status, "queued"), lte(jobs.runAt, sql`now()`)),
        and(eq(jobs.status, "running"), lt(jobs.deadlineAt, sql`now()`)),
      ),
    )
    .orderBy(asc(jobs.runAt))
    .limit(limit)
    .for("update", { skipLocked: true });
  // One statement: claim and return the rows.
  return db
    .update(jobs)
    .set({
      status: "running",
      deliveries: sql`${jobs.deliveries} + 1`,
      deadlineAt: sql`now() + make_interval(secs => ${leaseMs() / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(inArray(jobs.id, due))
    .returning();
}

async function deliver(job: Job): Promise<void> {
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

async function rescheduleJob(job: Job, error: string, delayMs: number) {
  const db = await getDb();
  await db
    .update(jobs)
    .set({
      status: "queued",
      runAt: new Date(Date.now() + delayMs),
      lastError: error,
      updatedAt: new Date(),
    })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, "running")));
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
 * The service accepted the job: remember its task id, start the callback deadline, and
 * apply any callback for that task that arrived before this record (it was parked).
 */
export async function recordSubmission(
  job: Job,
  taskId: string,
  response: Record<string, unknown>,
) {
  const db = await getDb();
  const stage = stageOfJobKind(job.kind);
  const queued = await db.transaction(async (tx) => {
    if (stage) await lockTask(tx, stage, taskId);
    await touchProject(tx, job.projectId); // then the project lock, as every pipeline writer does
    const deadline = new Date(Date.now() + env.STAGE_TIMEOUT_SECONDS * 1000);
    const moved = await tx
      .update(jobs)
      .set({
        status: "waiting",
        externalTaskId: taskId,
        deadlineAt: deadline,
        response,
        lastError: null,
        updatedAt: new Date(),
      })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, "running")))
      .returning({ id: jobs.id });
    if (moved.length === 0) {
      // A callback (matched by its ref) or a cancel got there first; keep the task id for the record.
      await tx
        .update(jobs)
        .set({ externalTaskId: taskId, response })
        .where(and(eq(jobs.id, job.id), isNull(jobs.externalTaskId)));
    }
    return applyParkedCallbacks(tx, job, taskId);
  });
  log("info", "job.submitted", { job_id: job.id, kind: job.kind, task_id: taskId });
  if (queued.length) scheduleDispatch();
}

/** Callbacks that raced ahead of the record of their own task, applied in arrival order. */
export async function applyParkedCallbacks(tx: Tx, job: Job, taskId: string): Promise<string[]> {
  const stage = stageOfJobKind(job.kind);
  if (!stage) return [];
  const parked = await tx
    .select()
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.source, stage),
        eq(webhookEvents.taskId, taskId),
        eq(webhookEvents.outcome, "parked"),
      ),
    )
    .orderBy(asc(webhookEvents.id))
    .for("update");
  const queued: string[] = [];
  for (const event of parked) {
    const parsed = parseCallback(stage, event.payload);
    const [current] = await tx.select().from(jobs).where(eq(jobs.id, job.id));
    if (!parsed.ok || !current) continue;
    const result = await applyCallback(tx, current, parsed.callback);
    await tx
      .update(webhookEvents)
      .set({
        outcome: result.outcome,
        reason:
          result.outcome === "ignored" ? result.reason : "applied after its task was recorded",
        jobId: job.id,
        projectId: job.projectId,
        sceneId: job.sceneId,
        appliedAt: new Date(),
      })
      .where(eq(webhookEvents.id, event.id));
    if (result.outcome === "applied") queued.push(...result.queuedJobIds);
  }
  return queued;
}

/**
 * The job could not be done: a final answer from the service, retries exhausted, or no
 * callback before the deadline. For a stage, the pipeline decides: next attempt or failure.
 */
export async function failJob(
  job: Job,
  error: string,
  context: { final: boolean; httpStatus?: number | null; expect?: "running" | "waiting" },
) {
  const db = await getDb();
  if (job.kind === "notify") {
    await db
      .update(jobs)
      .set({ status: "dead", lastError: error, updatedAt: new Date() })
      .where(and(eq(jobs.id, job.id), eq(jobs.status, "running")));
    await recordError({
      type: "service",
      severity: "error",
      message: `Notification for project ${job.projectId} could not be delivered: ${error}`,
      projectId: job.projectId,
      context: { job_id: job.id, kind: job.kind, http_status: context.httpStatus ?? null },
    });
    return;
  }
  const queued = await db.transaction(async (tx) => {
    const state = await loadState(tx, job.projectId, job.id);
    if (!state?.job || state.job.status !== (context.expect ?? "running")) return [];
    const { decision, queuedJobIds } = await decideAndApply(tx, state, {
      type: "stage_failed",
      error,
    });
    if (decision.outcome === "applied")
      log("warn", "stage.failed", { job_id: job.id, kind: job.kind, result: decision.log });
    return queuedJobIds;
  });
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
  if (queued.length) scheduleDispatch();
}

async function finishNotify(job: Job, note: string) {
  const db = await getDb();
  await db
    .update(jobs)
    .set({ status: "succeeded", response: { note }, updatedAt: new Date() })
    .where(and(eq(jobs.id, job.id), eq(jobs.status, "running")));
  log("info", "notify.done", {
    job_id: job.id,
    project_id: job.projectId,
    type: job.payload.type,
    note,
  });
}

/** Stages whose callback did not come before STAGE_TIMEOUT_SECONDS count as failed attempts. */
export async function expireOverdueStages(limit = 50): Promise<number> {
  const db = await getDb();
  const overdue = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.status, "waiting"), lt(jobs.deadlineAt, new Date())))
    .orderBy(asc(jobs.deadlineAt))
    .limit(limit);
  for (const job of overdue) {
    await failJob(
      job,
      `no callback within ${env.STAGE_TIMEOUT_SECONDS} s (task ${job.externalTaskId})`,
      {
        final: true,
        expect: "waiting",
      },
    );
  }
  return overdue.length;
}

/** One pass of the periodic sweep: deadlines first, then whatever is due. */
export async function sweep(): Promise<{ expired: number; delivered: number; unparked: number }> {
  const expired = await expireOverdueStages();
  const unparked = await applyStrandedParkedCallbacks();
  const delivered = await dispatchDueJobs();
  return { expired, delivered, unparked };
}

/**
 * Safety net: parked callbacks whose task is known by now (normally recordSubmission
 * applies them at once; this catches one whose transaction died in between).
 */
export async function applyStrandedParkedCallbacks(limit = 50): Promise<number> {
  const db = await getDb();
  const stranded = rowsOf<{ source: string; task_id: string; job_id: string }>(
    await db.execute(sql`
      select distinct e.source, e.task_id, j.id as job_id
      from ${webhookEvents} e
      join ${jobs} j on j.external_task_id = e.task_id and j.kind = case e.source
        when 'video-complete' then 'generate_video'
        when 'last-frame-complete' then 'extract_last_frame'
        else 'stitch' end
      where e.outcome = 'parked'
      limit ${limit}`),
  );
  for (const row of stranded) {
    await db.transaction(async (tx) => {
      await lockTask(tx, row.source as Stage, row.task_id);
      const [job] = await tx.select().from(jobs).where(eq(jobs.id, row.job_id));
      if (job) await applyParkedCallbacks(tx, job, row.task_id);
    });
  }
  return stranded.length; // what they queued is due now: the sweep's dispatch picks it up
}

function rowsOf<T>(result: unknown): T[] {
  // postgres.js returns the rows array; PGlite returns { rows }.
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
