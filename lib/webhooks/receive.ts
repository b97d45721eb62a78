import "server-only";
import { and, desc, eq, isNull } from "drizzle-orm";
import { NextResponse } from "next/server";
import { getDb, type Tx } from "@/lib/db/client";
import { type Job, jobs, type WebhookOutcome, webhookEvents } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { isDatabaseUnavailable } from "@/lib/http/errors";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { recordError } from "@/lib/observability/error-log";
import { log } from "@/lib/observability/log";
import { metrics } from "@/lib/observability/metrics";
import { ConcurrentChangeError } from "@/lib/pipeline/apply";
import type { Triggered } from "@/lib/pipeline/transition";
import { checkRateLimit, clientIp, rateLimitHeaders } from "@/lib/ratelimit";
import { applyCallback, idMismatch, lockTask } from "./apply-callback";
import { readBodyCapped } from "./body";
import { type Callback, parseCallback } from "./payloads";
import { type Stage, STAGES } from "./stages";
import { verifyCallback } from "./verify";

/**
 * The one request path of all three callbacks (DESIGN.md): raw body capped → signature and
 * rate limit (a refused budget wins, so nothing is written for it) → schema → one
 * transaction that records the event and applies it → response.
 * Outbound calls happen only after the response (scheduleDispatch → after()).
 */

type Outcome = WebhookOutcome | "error";
type Reply = {
  status: number;
  body: Record<string, unknown>;
  outcome: Outcome;
  headers?: Record<string, string>;
  taskId?: string;
  queued?: boolean;
};

/** The `…_triggered` flags each stage's documented senders expect, false unless set. */
const DEFAULT_FLAGS: Record<Stage, Triggered> = {
  "video-complete": { scene_updated: false, last_frame_triggered: false },
  "last-frame-complete": {
    scene_updated: false,
    next_scene_triggered: false,
    stitch_triggered: false,
  },
  "stitch-complete": { project_updated: false, user_notified: false },
};

export async function receiveCallback(stage: Stage, request: Request): Promise<Response> {
  const started = performance.now();
  let reply: Reply;
  try {
    reply = await handleCallback(stage, request);
  } catch (error) {
    reply = await unexpected(stage, error);
  }
  const seconds = (performance.now() - started) / 1000;
  metrics.callback(stage, reply.outcome, reply.status, seconds);
  log(reply.status >= 500 ? "error" : "info", "callback", {
    stage,
    task_id: reply.taskId,
    outcome: reply.outcome,
    status: reply.status,
    ms: Math.round(seconds * 1000),
  });
  if (reply.queued) scheduleDispatch();
  return NextResponse.json(reply.body, { status: reply.status, headers: reply.headers });
}

async function handleCallback(stage: Stage, request: Request): Promise<Reply> {
  const body = await readBodyCapped(request, env.WEBHOOK_MAX_BODY_BYTES);
  if (!body) {
    return reject(stage, 413, `Body larger than ${env.WEBHOOK_MAX_BODY_BYTES} bytes`, {
      error: "Payload too large",
    });
  }

  const url = new URL(request.url);
  const verified = verifyCallback(stage, { headers: request.headers, body, url });
  // Every request counts against its sender's budget, signed or not, and an exceeded budget
  // is refused before anything is written: a flood of bad signatures cannot fill the logs.
  const limit = await checkRateLimit(stage, clientIp(request));
  if (!limit.allowed) {
    return {
      status: 429,
      outcome: "rejected",
      body: { error: "Too many requests" },
      headers: rateLimitHeaders(limit),
    };
  }
  if (!verified.ok) {
    const message = verified.status === 503 ? "Endpoint not configured" : "Invalid signature";
    return reject(stage, verified.status, verified.reason, { error: message });
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return reject(stage, 400, "body is not JSON", {
      error: "Body is not valid JSON",
      issues: [{ path: "", message: "invalid JSON" }],
    });
  }
  const parsed = parseCallback(stage, json);
  if (!parsed.ok) {
    return reject(
      stage,
      400,
      `schema: ${parsed.issues.map((i) => `${i.path || "(root)"} ${i.message}`).join("; ")}`.slice(
        0,
        500,
      ),
      { error: "Invalid payload", issues: parsed.issues },
      { payload: json },
    );
  }
  const callback = parsed.callback;
  const reply = await applyReceived(stage, callback, verified.ref, verified.webhookId, json);
  return { ...reply, taskId: callback.taskId };
}

/** Correlates the callback with its job and applies it in one transaction. */
export async function applyReceived(
  stage: Stage,
  callback: Callback,
  ref: string | null,
  webhookId: string | null,
  payload: unknown,
): Promise<Reply> {
  const db = await getDb();
  const kind = STAGES[stage].jobKind;
  let job = await findJob(db, kind, callback.taskId, ref);
  if (job && job.kind !== kind) {
    return reject(
      stage,
      409,
      `ref ${ref} belongs to a ${job.kind} job, not ${stage}`,
      { error: "Callback does not belong to this endpoint" },
      { payload, callback },
    );
  }
  if (job) {
    const mismatch = idMismatch(job, callback);
    if (mismatch)
      return reject(
        stage,
        409,
        mismatch,
        { error: "Ids disagree with the task's record", detail: mismatch },
        { payload, callback, job },
      );
  }

  const dedupKey =
    webhookId ??
    (callback.kind === "progress"
      ? `${callback.taskId}:${callback.status}:${callback.progress ?? ""}`
      : `${callback.taskId}:${callback.status}`);

  const result = await db.transaction(async (tx): Promise<Reply> => {
    if (!job) {
      // The task may be recorded right now: this lock orders us against recordSubmission().
      await lockTask(tx, stage, callback.taskId);
      job = await findJob(tx, kind, callback.taskId, null);
    }
    const [event] = await tx
      .insert(webhookEvents)
      .values({
        source: stage,
        dedupKey,
        taskId: callback.taskId,
        jobId: job?.id ?? null,
        projectId: job?.projectId ?? null,
        sceneId: job?.sceneId ?? null,
        status: callback.status,
        outcome: job ? "applied" : "parked",
        httpStatus: job ? 200 : 202,
        payload: payload as Record<string, unknown>,
      })
      .onConflictDoNothing()
      .returning({ id: webhookEvents.id });

    if (!event) {
      const [existing] = await tx
        .select({ outcome: webhookEvents.outcome })
        .from(webhookEvents)
        .where(and(eq(webhookEvents.source, stage), eq(webhookEvents.dedupKey, dedupKey)));
      if (existing?.outcome === "parked") return parkedReply();
      return { status: 200, outcome: "duplicate", body: { received: true, duplicate: true } };
    }
    if (!job) return parkedReply();

    const applied = await applyCallback(tx, job, callback); // takes the project lock first
    if (!job.externalTaskId) {
      // Matched by its ref before the submission was recorded: keep the task id. Only now,
      // under the project lock — writing the job row first would invert the lock order of
      // recordSubmission() (project → job) and deadlock with it.
      await tx
        .update(jobs)
        .set({ externalTaskId: callback.taskId })
        .where(and(eq(jobs.id, job.id), isNull(jobs.externalTaskId)));
    }
    const ignored = applied.outcome === "ignored";
    await tx
      .update(webhookEvents)
      .set({
        outcome: applied.outcome,
        reason: ignored ? applied.reason : applied.log,
        appliedAt: ignored ? null : new Date(),
      })
      .where(eq(webhookEvents.id, event.id));
    if (applied.outcome === "ignored") {
      return { status: 200, outcome: "ignored", body: { received: true, ignored: applied.reason } };
    }
    const body: Record<string, unknown> = {
      received: true,
      status: callback.status,
      ...DEFAULT_FLAGS[stage],
      ...applied.flags,
    };
    if (callback.kind === "progress" && callback.progress !== null)
      body.progress = callback.progress;
    return { status: 200, outcome: "applied", body, queued: applied.queuedJobIds.length > 0 };
  });
  return result;
}

function parkedReply(): Reply {
  return {
    status: 202,
    outcome: "parked",
    body: {
      received: true,
      parked: true,
      reason: "task not known yet; kept and applied once its submission is recorded",
    },
  };
}

/** By the signed `ref` (our job id) when present, else by the task id the service returned. */
async function findJob(
  db: Tx | Awaited<ReturnType<typeof getDb>>,
  kind: Job["kind"],
  taskId: string,
  ref: string | null,
) {
  if (ref) {
    const [byRef] = await db.select().from(jobs).where(eq(jobs.id, ref));
    if (byRef) return byRef;
  }
  const [byTask] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.externalTaskId, taskId), eq(jobs.kind, kind)))
    .orderBy(desc(jobs.createdAt))
    .limit(1);
  return byTask ?? null;
}

/** A refused callback: logged as a rejected event and in the error log; nothing else changes. */
async function reject(
  stage: Stage,
  status: number,
  reason: string,
  body: Record<string, unknown>,
  details: { payload?: unknown; callback?: Callback; job?: Job } = {},
): Promise<Reply> {
  const { payload, callback, job } = details;
  try {
    const db = await getDb();
    await db.insert(webhookEvents).values({
      source: stage,
      dedupKey: null,
      taskId: callback?.taskId ?? null,
      jobId: job?.id ?? null,
      projectId: job?.projectId ?? null,
      sceneId: job?.sceneId ?? null,
      status: callback?.status ?? null,
      outcome: "rejected",
      reason,
      httpStatus: status,
      // Unauthenticated bodies are never stored.
      payload:
        status === 401 || status === 413
          ? null
          : ((payload ?? null) as Record<string, unknown> | null),
    });
  } catch {
    // Recording a rejection must not turn it into a different answer.
  }
  await recordError({
    type: "webhook",
    severity: status === 503 ? "critical" : "warning",
    message: `${stage} callback rejected (${status}): ${reason}`,
    projectId: job?.projectId ?? null,
    context: {
      stage,
      http_status: status,
      task_id: callback?.taskId ?? null,
      job_id: job?.id ?? null,
    },
  });
  return { status, outcome: "rejected", body, taskId: callback?.taskId };
}

/** Never a 500 for the sender: an outage or our own bug is a 503 "retry later", and is logged. */
async function unexpected(stage: Stage, error: unknown): Promise<Reply> {
  const outage = isDatabaseUnavailable(error);
  const conflict = error instanceof ConcurrentChangeError;
  if (!outage) {
    await recordError({
      type: "webhook",
      severity: conflict ? "warning" : "critical",
      message: `${stage} callback could not be applied: ${(error as Error)?.message ?? String(error)}`,
      context: { stage },
      cause: error,
    });
  } else {
    log("error", "callback.database_unavailable", { stage, message: (error as Error)?.message });
  }
  return {
    status: 503,
    outcome: "error",
    body: {
      error: outage
        ? "Database unavailable, retry later"
        : "Temporarily unable to apply the callback, retry later",
    },
    headers: { "Retry-After": "5" },
  };
}
