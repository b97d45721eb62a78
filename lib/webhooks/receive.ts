import "server-only";
import { getDb } from "@/lib/db/client";
import { webhookEvents } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { isDatabaseUnavailable } from "@/lib/http/errors";
import { unstorableTextIn } from "@/lib/http/text";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { recordError, recordUnexpected } from "@/lib/observability/error-log";
import { log } from "@/lib/observability/log";
import { metrics } from "@/lib/observability/metrics";
import { countRefusal } from "@/lib/observability/refusals";
import {
  applyStageReport,
  ConcurrentChangeError,
  type StageEvent,
  type StageOutcome,
} from "@/lib/pipeline/apply";
import type { WebhookOutcome } from "@/lib/pipeline/statuses";
import type { Triggered } from "@/lib/pipeline/transition";
import { checkRateLimit, clientIp, rateLimitHeaders } from "@/lib/ratelimit";
import { readBodyCapped } from "./body";
import { type Callback, parseCallback } from "./payloads";
import { STAGES, type Stage } from "./stages";
import { verifyCallback } from "./verify";

/**
 * The one request path of all three callbacks (DESIGN.md): rate limit (before anything is
 * read, so every request spends its sender's budget) → raw body capped → signature →
 * schema → the pipeline applies it and records it, in two statements → response.
 * Outbound calls happen only after the response, off this thread where a worker runs them.
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

/**
 * Every callback answer: never cached, and never gzipped. `next start` gzips a route's answer
 * for any client that accepts it (fetch and most HTTP clients do), and a route's body is
 * streamed, so its size is unknown and the 1 KB threshold never applies: a 60-byte answer
 * cost a gzip stream (zlib on the thread pool) and one more write, and reached the sender
 * 3-6 ms late (the bench's orchestration run). Next drops a route's Content-Length;
 * `no-transform` is what its compression honours.
 */
const ANSWER_HEADERS = { "cache-control": "no-store, no-transform" };

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
  return Response.json(reply.body, {
    status: reply.status,
    headers: { ...ANSWER_HEADERS, ...reply.headers },
  });
}

async function handleCallback(stage: Stage, request: Request): Promise<Reply> {
  const address = clientIp(request);
  // Every request counts against its sender's budget — oversized, unsigned or valid — and an
  // exceeded budget is refused before the body is read or anything is written.
  const limit = await checkRateLimit(stage, address);
  if (!limit.allowed) {
    const headers = rateLimitHeaders(limit);
    return refuse(
      stage,
      address,
      429,
      "rate limit exceeded",
      { error: "Too many requests" },
      headers,
    );
  }
  const body = await readBodyCapped(request, env.WEBHOOK_MAX_BODY_BYTES);
  if (!body) {
    return refuse(stage, address, 413, `body larger than ${env.WEBHOOK_MAX_BODY_BYTES} bytes`, {
      error: "Payload too large",
    });
  }

  const verified = verifyCallback(stage, {
    headers: request.headers,
    body,
    url: new URL(request.url),
  });
  if (!verified.ok) {
    const message = verified.status === 503 ? "Endpoint not configured" : "Invalid signature";
    return refuse(stage, address, verified.status, verified.reason, { error: message });
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return reject(stage, 400, "body is not JSON", {
      error: "Body is not valid JSON",
      issues: [{ path: "", message: "invalid JSON (or not UTF-8)" }],
    });
  }
  // What the database cannot store is a permanent problem of the body: 400, never "retry later".
  const cannotStore = unstorableTextIn(json);
  if (cannotStore) {
    return reject(stage, 400, `unstorable body: ${cannotStore.path} ${cannotStore.message}`, {
      error: "Invalid payload",
      issues: [cannotStore],
    });
  }
  const parsed = parseCallback(stage, json);
  if (!parsed.ok) {
    const summary = parsed.issues.map((i) => `${i.path || "(root)"} ${i.message}`).join("; ");
    return reject(
      stage,
      400,
      `schema: ${summary}`.slice(0, 500),
      { error: "Invalid payload", issues: parsed.issues },
      { payload: json },
    );
  }
  // Only an id the Standard Webhooks signature covers is an identity; any other header is the
  // sender's word and never makes a new event.
  const signedId = verified.scheme === "standard" ? verified.webhookId : null;
  const reply = await applyCallback(stage, parsed.callback, verified.ref, signedId, json);
  return { ...reply, taskId: parsed.callback.taskId };
}

/** Hands a verified, parsed callback to the pipeline and maps its outcome to the reply. */
export async function applyCallback(
  stage: Stage,
  callback: Callback,
  ref: string | null,
  signedId: string | null,
  payload: unknown,
): Promise<Reply> {
  const dedupKey =
    signedId ??
    (callback.kind === "progress"
      ? `${callback.taskId}:${callback.status}:${callback.progress ?? ""}`
      : `${callback.taskId}:${callback.status}`);
  const outcome = await applyStageReport(
    {
      kind: STAGES[stage].jobKind,
      jobId: ref,
      taskId: callback.taskId,
      projectId: callback.projectId,
      sceneId: callback.sceneId,
      event: stageEvent(callback),
    },
    { source: stage, dedupKey, status: callback.status, payload },
  );
  return replyFor(stage, callback, outcome, payload);
}

function stageEvent(callback: Callback): StageEvent {
  if (callback.kind === "completed") return { type: "stage_completed", result: callback.result };
  if (callback.kind === "failed")
    return { type: "stage_failed", error: callback.error ?? "failed" };
  return { type: "stage_progress", progress: callback.progress ?? 0 };
}

async function replyFor(
  stage: Stage,
  callback: Callback,
  result: StageOutcome,
  payload: unknown,
): Promise<Reply> {
  switch (result.outcome) {
    case "applied": {
      if (callback.kind === "failed") {
        // A failed attempt is an error worth reading where people look: the project page and /errors.
        await recordError({
          type: "pipeline",
          severity: "error",
          message: result.log,
          projectId: result.projectId,
          context: {
            stage,
            task_id: callback.taskId,
            job_id: result.jobId,
            scene_id: result.sceneId,
            error: callback.error,
          },
        });
      }
      const body: Record<string, unknown> = {
        received: true,
        status: callback.status,
        ...DEFAULT_FLAGS[stage],
        ...result.flags,
      };
      if (callback.kind === "progress" && callback.progress !== null)
        body.progress = callback.progress;
      return { status: 200, outcome: "applied", body, queued: result.queuedJobIds.length > 0 };
    }
    case "ignored":
      return { status: 200, outcome: "ignored", body: { received: true, ignored: result.reason } };
    case "duplicate":
      if (result.parked) return parkedReply();
      return { status: 200, outcome: "duplicate", body: { received: true, duplicate: true } };
    case "parked":
      return parkedReply();
    case "mismatch":
      return reject(
        stage,
        409,
        result.reason,
        { error: "Callback does not agree with the task's record", detail: result.reason },
        { payload, callback, projectId: result.projectId, jobId: result.jobId },
      );
  }
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

/**
 * A request refused before it was authenticated (over the rate limit, too large, a bad or
 * missing signature, an endpoint without its secret): counted in metrics and logged in
 * aggregate (refusals.ts). Nothing is written per request, so a flood fills no table.
 */
function refuse(
  stage: Stage,
  address: string,
  status: number,
  reason: string,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
): Reply {
  countRefusal({ endpoint: stage, address, status, reason });
  return { status, outcome: "rejected", body, headers };
}

/** A signed callback refused for its content: kept as a rejected event and in the error log. */
async function reject(
  stage: Stage,
  status: number,
  reason: string,
  body: Record<string, unknown>,
  details: { payload?: unknown; callback?: Callback; projectId?: string; jobId?: string } = {},
): Promise<Reply> {
  const { payload, callback, projectId, jobId } = details;
  try {
    const db = await getDb();
    await db.insert(webhookEvents).values({
      source: stage,
      dedupKey: null,
      taskId: callback?.taskId ?? null,
      jobId: jobId ?? null,
      projectId: projectId ?? null,
      status: callback?.status ?? null,
      outcome: "rejected",
      reason,
      httpStatus: status,
      payload: (payload ?? null) as Record<string, unknown> | null,
    });
  } catch {
    // Recording a rejection must not turn it into a different answer.
  }
  await recordError({
    type: "webhook",
    severity: "warning",
    message: `${stage} callback rejected (${status}): ${reason}`,
    projectId: projectId ?? null,
    context: {
      stage,
      http_status: status,
      task_id: callback?.taskId ?? null,
      job_id: jobId ?? null,
    },
  });
  return { status, outcome: "rejected", body, taskId: callback?.taskId };
}

/** Never a 500 for the sender: an outage or our own bug is a 503 "retry later", recorded once. */
async function unexpected(stage: Stage, error: unknown): Promise<Reply> {
  const outage = isDatabaseUnavailable(error);
  await recordUnexpected(error, {
    where: `${stage} callback`,
    unavailable: outage,
    // Another event kept changing the project: a warning-worthy race, not a crash.
    concurrent_change: error instanceof ConcurrentChangeError,
  });
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
