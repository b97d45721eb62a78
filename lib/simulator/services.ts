import { randomUUID } from "node:crypto";
import { NextResponse } from "next/server";
import { z } from "zod";
import { AppError, readJson } from "@/lib/http/errors";
import { httpUrl } from "@/lib/http/urls";
import { log } from "@/lib/observability/log";
import { chance, type Knobs, knobs } from "./config";
import { scheduleCallbacks, sendTerminalNow } from "./delivery";
import { FLAKY_REJECTIONS, promptMarkers, SLOW_FACTOR } from "./markers";
import { taskOfMediaUrl } from "./media";
import {
  countUp,
  findByIdempotencyKey,
  type PayloadShape,
  recordNotification,
  type SimService,
  type SimTask,
  saveTask,
  store,
  type TaskOutcome,
} from "./state";

/** The requests of CONTRACT.md §3, validated as a real service would (400 with the issues). */
const id = z.string().min(1).max(200);

export const videoSubmission = z.object({
  project_id: id,
  task_type: z.literal("generate_video"),
  task_data: z.object({
    scene_id: id,
    scene_number: z.number().int().min(1),
    prompt: z.string().min(1).max(10_000),
    start_image_url: httpUrl.nullish(),
    duration: z.number().positive().max(600),
  }),
  priority: z.number().int().optional(),
  callback_url: httpUrl,
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export const lastFrameSubmission = z.object({ video_url: httpUrl, webhook_url: httpUrl });

export const stitchSubmission = z.object({
  video_urls: z.array(httpUrl).min(1).max(1000),
  webhook_url: httpUrl,
});

export const notification = z.object({
  type: z.enum(["project_completed", "project_failed"]),
  project_id: id,
  project_name: z.string().max(1000).nullish(),
  video_url: httpUrl.nullish(),
  error: z.string().nullish(),
  timestamp: z.string().max(100),
});

/** What a submission asks for, service by service, before the common acceptance path. */
type Draft = Omit<
  SimTask,
  "id" | "shape" | "outcome" | "error" | "idempotencyKey" | "delayMs" | "createdAt" | "answer"
> & {
  failure: string | null;
  silent: boolean;
  flaky: boolean;
  slow: boolean;
};

// POST …/video/api/v1/tasks/submit
export async function submitVideo(request: Request): Promise<Response> {
  const body = await parse(request, "video", videoSubmission);
  const markers = promptMarkers(body.task_data.prompt);
  const sceneId = body.task_data.scene_id;
  return accept(request, "video", "queued", (k) => {
    // `[fail-once]` counts attempts per scene only when the task is really accepted (see accept)
    const firstAttempt = (store().sceneAttempts.get(sceneId) ?? 0) === 0;
    return {
      service: "video",
      jobId:
        metaString(body.metadata, "job_id") ??
        request.headers.get("idempotency-key") ??
        refOf(body.callback_url),
      projectId: body.project_id,
      sceneId,
      sceneNumber: body.task_data.scene_number,
      prompt: body.task_data.prompt,
      duration: body.task_data.duration,
      videoUrls: [],
      startImageUrl: body.task_data.start_image_url ?? null,
      metadata: body.metadata ?? null,
      callbackUrl: body.callback_url,
      failure: markers.fail
        ? "Simulated failure: the prompt asks for [fail]"
        : markers.failOnce && firstAttempt
          ? "Simulated failure: the prompt asks for [fail-once]"
          : chance(k.failure_rate)
            ? "Simulated failure (SIMULATOR_FAILURE_RATE)"
            : null,
      silent: markers.silent,
      flaky: markers.flaky,
      slow: markers.slow,
    };
  });
}

// POST …/last-frame/api/v1/process
export async function submitLastFrame(request: Request): Promise<Response> {
  const body = await parse(request, "last-frame", lastFrameSubmission);
  const source = videoTaskOf(body.video_url);
  return accept(request, "last-frame", "pending", (k) => ({
    ...fromVideo(source, "last-frame", body.webhook_url, request),
    videoUrls: [body.video_url],
    failure: chance(k.failure_rate) ? "Simulated failure (SIMULATOR_FAILURE_RATE)" : null,
  }));
}

// POST …/stitch/api/v1/stitch
export async function submitStitch(request: Request): Promise<Response> {
  const body = await parse(request, "stitch", stitchSubmission);
  const source = body.video_urls.map(videoTaskOf).find(Boolean);
  return accept(request, "stitch", "pending", (k) => ({
    ...fromVideo(source, "stitch", body.webhook_url, request),
    sceneId: null,
    videoUrls: body.video_urls,
    failure: chance(k.failure_rate) ? "Simulated failure (SIMULATOR_FAILURE_RATE)" : null,
  }));
}

// POST …/notify
export async function receiveNotification(request: Request): Promise<Response> {
  const body = await parse(request, "notify", notification);
  store().counts.notify.accepted++;
  recordNotification(body);
  log("info", "simulator.notify", { type: body.type, project_id: body.project_id });
  return NextResponse.json({ received: true });
}

async function parse<T extends z.ZodType>(
  request: Request,
  service: SimService | "notify",
  schema: T,
): Promise<z.output<T>> {
  store().counts[service].received++;
  try {
    return await readJson(request, schema);
  } catch (error) {
    store().counts[service].invalid++;
    log("info", "simulator.invalid_request", {
      service,
      issues: error instanceof AppError ? error.details?.issues : undefined,
    });
    throw error;
  }
}

/**
 * The path every submission shares: Idempotency-Key replay, 503s (`[flaky]`,
 * SIMULATOR_UNAVAILABLE_RATE), the task's fate, then its callbacks — scheduled after
 * the delay, or (SIMULATOR_EARLY_CALLBACK_RATE) the terminal one sent before answering.
 */
async function accept(
  request: Request,
  service: SimService,
  initialStatus: "queued" | "pending",
  draft: (k: Knobs) => Draft,
): Promise<Response> {
  const counts = store().counts[service];
  const key = request.headers.get("idempotency-key")?.slice(0, 200) || null;
  const replay = key ? findByIdempotencyKey(service, key) : undefined;
  if (replay) {
    counts.replayed++;
    log("info", "simulator.replay", { service, task_id: replay.id, idempotency_key: key });
    return NextResponse.json(replay.answer, {
      status: 202,
      headers: { "idempotent-replayed": "true" },
    });
  }

  const k = knobs();
  const { failure, silent, flaky, slow, ...fields } = draft(k);
  const flakyKey = `${service}:${key ?? fields.jobId ?? ""}`;
  if (
    (flaky && countUp(store().flakyAttempts, flakyKey) < FLAKY_REJECTIONS) ||
    chance(k.unavailable_rate)
  ) {
    counts.unavailable++;
    log("info", "simulator.unavailable", { service, job_id: fields.jobId, flaky });
    return NextResponse.json(
      { error: "Service temporarily unavailable" },
      { status: 503, headers: { "retry-after": "1" } },
    );
  }

  const shape = pickShape(k);
  const outcome: TaskOutcome =
    silent || chance(k.silence_rate) ? "silent" : failure ? "failed" : "completed";
  const taskId =
    shape === "service" ? randomUUID() : `task_${Date.now()}_${randomUUID().slice(0, 8)}`;
  const task: SimTask = {
    ...fields,
    id: taskId,
    shape,
    outcome,
    error: outcome === "failed" ? failure : null,
    idempotencyKey: key,
    delayMs: k.delay_ms * (slow ? SLOW_FACTOR : 1),
    createdAt: Date.now(),
    answer: { task_id: taskId, status: initialStatus, created_at: new Date().toISOString() },
  };
  saveTask(task);
  if (service === "video" && task.sceneId) countUp(store().sceneAttempts, task.sceneId);
  counts.accepted++;
  log("info", "simulator.accepted", {
    service,
    task_id: task.id,
    job_id: task.jobId,
    outcome,
    shape,
    delay_ms: task.delayMs,
  });

  if (outcome !== "silent" && chance(k.early_callback_rate)) await sendTerminalNow(task);
  else scheduleCallbacks(task);
  return NextResponse.json(task.answer, { status: 202 });
}

function pickShape(k: Knobs): PayloadShape {
  if (k.payload_shape !== "mixed") return k.payload_shape;
  return Math.random() < 0.5 ? "documented" : "service";
}

/** The simulated video task behind a URL we produced, if it is one. */
function videoTaskOf(url: string): SimTask | undefined {
  const task = taskOfMediaUrl(url);
  return task?.service === "video" ? task : undefined;
}

/** A last-frame or stitch task inherits our ids from the video task whose output it processes. */
function fromVideo(
  source: SimTask | undefined,
  service: SimService,
  callbackUrl: string,
  request: Request,
) {
  return {
    service,
    jobId: request.headers.get("idempotency-key") ?? refOf(callbackUrl),
    projectId: source?.projectId ?? null,
    sceneId: source?.sceneId ?? null,
    sceneNumber: source?.sceneNumber ?? null,
    prompt: null,
    duration: source?.duration ?? null,
    startImageUrl: null,
    metadata: null,
    callbackUrl,
    silent: false,
    flaky: false,
    slow: false,
  } satisfies Partial<Draft>;
}

function refOf(url: string): string | null {
  return new URL(url).searchParams.get("ref");
}

function metaString(meta: Record<string, unknown> | undefined, key: string): string | null {
  const value = meta?.[key];
  return typeof value === "string" ? value : null;
}
