import { randomUUID } from "node:crypto";
import { z } from "zod";
import { httpUrl } from "@/lib/http/urls";
import { hmacSha256 } from "@/lib/services/signing";
import type { Knobs } from "./knobs";
import { FLAKY_REJECTIONS, promptMarkers, SLOW_FACTOR } from "./markers";
import { type CallbackBody, callbackSequence, taskIdOfMediaUrl, terminalBody } from "./payloads";
import {
  countUp,
  createState,
  type Delivery,
  findByIdempotencyKey,
  type PayloadShape,
  type RequestRecord,
  recordNotification,
  resetState,
  type ServiceName,
  type SimService,
  type SimTask,
  STAGE_OF,
  type Stage,
  type State,
  saveTask,
  sleep,
  stopCallbacks,
  type TaskOutcome,
} from "./state";

/**
 * The one stand-in for the video, last-frame, stitch and notification services
 * (CONTRACT.md §3): it validates requests as a real service would, answers with a task
 * (the same one for the same Idempotency-Key), and sends the signed callbacks — late,
 * twice, shuffled, early, never, failed or after 503s, as its knobs and the prompt markers
 * say. The simulator serves it inside the app (`/api/simulator/*`), the integration tests
 * and the bench/soak on a loopback port (simulator/serve.ts).
 */

export type DeliveryPolicy = {
  attempts: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
};

export type StandInOptions = {
  /** The knobs in force now (read per request, so they can change at run time). */
  knobs: () => Knobs;
  /** Where the media URLs in callbacks point: `<mediaBase>/media/<task>/<kind>`. */
  mediaBase: () => string;
  /** The stage's webhook secret to sign callbacks with; none: unsigned (dev). */
  secret: (stage: Stage) => string | undefined;
  /** Where a task's callbacks go, given the URL it was handed (default: that URL). */
  callbackTarget?: (stage: Stage, handed: string) => string;
  log?: (level: "info" | "warn" | "error", event: string, fields: Record<string, unknown>) => void;
  delivery?: Partial<DeliveryPolicy>;
  /** The status of an accepted submission (real services answer 200 or 202). */
  acceptedStatus?: 200 | 202;
  /** Retry-After of a 503 answer, in seconds. */
  retryAfterSeconds?: number;
  /** Bound of every collection (tasks, records). */
  limit?: number;
  /** Called with every accepted task (the simulator keeps what its media need on disk). */
  onTask?: (task: SimTask) => void;
};

const DEFAULT_DELIVERY: DeliveryPolicy = {
  attempts: 5,
  firstBackoffMs: 200,
  maxBackoffMs: 10_000,
  timeoutMs: 10_000,
};

/** The requests of CONTRACT.md §3, validated as a real service would (400 with the issues). */
const id = z.string().min(1).max(200);

const videoSubmission = z.object({
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
const lastFrameSubmission = z.object({ video_url: httpUrl, webhook_url: httpUrl });
const stitchSubmission = z.object({
  video_urls: z.array(httpUrl).min(1).max(1000),
  webhook_url: httpUrl,
});
const notification = z.object({
  type: z.enum(["project_completed", "project_failed"]),
  project_id: id,
  project_name: z.string().max(1000).nullish(),
  video_url: httpUrl.nullish(),
  error: z.string().nullish(),
  timestamp: z.string().max(100),
});

/** Which service a path is, wherever the services are mounted (`…/video/api/v1/tasks/submit`). */
const SERVICE_PATHS: [RegExp, ServiceName][] = [
  [/(^|\/)api\/v1\/tasks\/submit$/, "video"],
  [/(^|\/)api\/v1\/process$/, "last-frame"],
  [/(^|\/)api\/v1\/stitch$/, "stitch"],
  [/(^|\/)notify$/, "notify"],
];
export function serviceOfPath(path: string): ServiceName | null {
  return SERVICE_PATHS.find(([pattern]) => pattern.test(path))?.[1] ?? null;
}

export type ScriptedAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

/** What a submission asks for, service by service, before the common acceptance path. */
type Draft = Omit<
  SimTask,
  "id" | "shape" | "outcome" | "error" | "idempotencyKey" | "delayMs" | "createdAt" | "answer"
> & { failure: string | null; silent: boolean; flaky: boolean; slow: boolean };

type Answer = ScriptedAnswer & { taskId?: string };

export type StandIn = ReturnType<typeof createStandIn>;

export function createStandIn(options: StandInOptions) {
  const state: State = createState(options.limit ?? 5000);
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY, ...options.delivery };
  const log = options.log ?? (() => {});
  const scripted = new Map<ServiceName, ScriptedAnswer[]>();
  let deliveryDeadline = Number.POSITIVE_INFINITY;
  let taskCounter = 0;
  const chance = (p: number) => p > 0 && Math.random() < p;

  /** A service request → its answer; null when `path` is not one of the services. */
  async function handle(request: Request, path: string): Promise<Response | null> {
    if (!serviceOfPath(path)) return null;
    const answer = await respond({
      path,
      headers: Object.fromEntries(request.headers),
      raw: await request.text(),
    });
    return answer && Response.json(answer.body, { status: answer.status, headers: answer.headers });
  }

  /**
   * The same, on plain data (header names in lower case): the loopback server (serve.ts) answers
   * straight from Node's request, without building a WHATWG Request and Response per call.
   */
  async function respond(request: {
    path: string;
    headers: Record<string, string>;
    raw: string;
  }): Promise<{ status: number; headers?: Record<string, string>; body: unknown } | null> {
    const { path, headers, raw } = request;
    const service = serviceOfPath(path);
    if (!service) return null;
    const receivedAt = performance.now();
    let body: unknown;
    try {
      body = raw.trim() === "" ? {} : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const idempotencyKey = headers["idempotency-key"]?.slice(0, 200) ?? "";
    const delay = options.knobs().answer_delay_ms[service] ?? 0;
    if (delay > 0) await sleep(state, delay);
    const answer: Answer =
      scripted.get(service)?.shift() ?? (await answerTo(service, body, idempotencyKey));
    const record: RequestRecord = {
      service,
      path,
      headers,
      body: isObject(body) ? body : {},
      idempotencyKey,
      status: answer.status,
      taskId: answer.taskId ?? null,
      receivedAt,
      answeredAt: performance.now(),
    };
    push(state.requests, record);
    return {
      status: answer.status,
      headers: answer.headers,
      body: answer.body ?? { error: "scripted" },
    };
  }

  async function answerTo(service: ServiceName, body: unknown, key: string): Promise<Answer> {
    const counts = state.counts[service];
    counts.received++;
    if (body === undefined) {
      counts.invalid++;
      return invalid(service, "Body is not valid JSON", [{ path: "", message: "invalid JSON" }]);
    }
    const schema = {
      video: videoSubmission,
      "last-frame": lastFrameSubmission,
      stitch: stitchSubmission,
      notify: notification,
    }[service];
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      counts.invalid++;
      const issues = parsed.error.issues.map((i) => ({
        path: i.path.join("."),
        message: i.message,
      }));
      return invalid(service, "Invalid request", issues);
    }
    if (service === "notify") {
      const note = parsed.data as z.output<typeof notification>;
      counts.accepted++;
      recordNotification(state, note);
      log("info", "simulator.notify", { type: note.type, project_id: note.project_id });
      return { status: 200, body: { received: true } };
    }
    return accept(service, key || null, draftOf(service, parsed.data, key));
  }

  function invalid(service: ServiceName, error: string, issues: unknown[]): Answer {
    log("info", "simulator.invalid_request", { service, issues });
    return { status: 400, body: { error, issues } };
  }

  function draftOf(service: SimService, body: unknown, key: string) {
    return (k: Knobs): Draft => {
      const failure = chance(k.failure_rate) ? "Simulated failure (failure rate)" : null;
      if (service !== "video") {
        const b = body as { video_url?: string; video_urls?: string[]; webhook_url: string };
        const videoUrls = b.video_urls ?? [b.video_url!];
        const source = videoUrls.map(videoTaskOf).find(Boolean);
        return {
          service,
          jobId: key || refOf(b.webhook_url),
          projectId: source?.projectId ?? null,
          sceneId: service === "stitch" ? null : (source?.sceneId ?? null),
          sceneNumber: source?.sceneNumber ?? null,
          take: source?.take ?? null,
          prompt: null,
          duration: source?.duration ?? null,
          videoUrls,
          startImageUrl: null,
          metadata: null,
          callbackUrl: b.webhook_url,
          failure,
          silent: false,
          flaky: false,
          slow: false,
        };
      }
      const b = body as z.output<typeof videoSubmission>;
      const markers = promptMarkers(b.task_data.prompt);
      const sceneId = b.task_data.scene_id;
      // `[fail-once]` counts attempts per scene only when the task is really accepted (accept)
      const attempts = state.sceneAttempts.get(sceneId) ?? 0;
      const jobId = b.metadata?.job_id;
      return {
        service,
        jobId: typeof jobId === "string" ? jobId : key || refOf(b.callback_url),
        projectId: b.project_id,
        sceneId,
        sceneNumber: b.task_data.scene_number,
        take: attempts + 1,
        prompt: b.task_data.prompt,
        duration: b.task_data.duration,
        videoUrls: [],
        startImageUrl: b.task_data.start_image_url ?? null,
        metadata: b.metadata ?? null,
        callbackUrl: b.callback_url,
        failure: markers.fail
          ? "Simulated failure: the prompt asks for [fail]"
          : markers.failOnce && attempts === 0
            ? "Simulated failure: the prompt asks for [fail-once]"
            : failure,
        silent: markers.silent,
        flaky: markers.flaky,
        slow: markers.slow,
      };
    };
  }

  /**
   * The path every submission shares: Idempotency-Key replay, 503s (`[flaky]`, the
   * unavailable rate), the task's fate, then its callbacks — scheduled after the delay,
   * or (early callback rate) the terminal one sent before answering.
   */
  async function accept(
    service: SimService,
    key: string | null,
    draft: (k: Knobs) => Draft,
  ): Promise<Answer> {
    const counts = state.counts[service];
    const replay = key ? findByIdempotencyKey(state, service, key) : undefined;
    if (replay) {
      counts.replayed++;
      log("info", "simulator.replay", { service, task_id: replay.id, idempotency_key: key });
      return {
        status: options.acceptedStatus ?? 202,
        body: replay.answer,
        headers: { "idempotent-replayed": "true" },
        taskId: replay.id,
      };
    }

    const k = options.knobs();
    const { failure, silent, flaky, slow, ...fields } = draft(k);
    const flakyKey = `${service}:${key ?? fields.jobId ?? ""}`;
    if (
      (flaky && countUp(state, state.flakyAttempts, flakyKey) < FLAKY_REJECTIONS) ||
      chance(k.unavailable_rate)
    ) {
      counts.unavailable++;
      log("info", "simulator.unavailable", { service, job_id: fields.jobId, flaky });
      return {
        status: 503,
        body: { error: "Service temporarily unavailable" },
        headers: { "retry-after": String(options.retryAfterSeconds ?? 1) },
      };
    }

    const shape: PayloadShape =
      k.payload_shape !== "mixed"
        ? k.payload_shape
        : Math.random() < 0.5
          ? "documented"
          : "service";
    const outcome: TaskOutcome =
      silent || chance(k.silence_rate) ? "silent" : failure ? "failed" : "completed";
    // The real services' ids: a UUID, or `task_<digits>` (time, then a counter: unique
    // across restarts too, where the simulator's media records outlive its memory).
    const taskId =
      shape === "service"
        ? randomUUID()
        : `task_${Date.now()}${String(++taskCounter % 1e6).padStart(6, "0")}`;
    const task: SimTask = {
      ...fields,
      id: taskId,
      shape,
      outcome,
      error: outcome === "failed" ? failure : null,
      idempotencyKey: key,
      delayMs:
        (k.delay_ms + Math.round(Math.random() * k.delay_jitter_ms)) * (slow ? SLOW_FACTOR : 1),
      createdAt: Date.now(),
      answer: {
        task_id: taskId,
        status: service === "video" ? "queued" : "pending",
        created_at: new Date().toISOString(),
      },
    };
    saveTask(state, task);
    options.onTask?.(task);
    if (service === "video" && task.sceneId) countUp(state, state.sceneAttempts, task.sceneId);
    counts.accepted++;
    log("info", "simulator.accepted", {
      service,
      task_id: task.id,
      job_id: task.jobId,
      outcome,
      shape,
      delay_ms: task.delayMs,
    });

    if (!k.callbacks) {
      // the caller plays the services' side itself
    } else if (outcome === "silent") {
      log("info", "simulator.silent", { service, task_id: task.id, job_id: task.jobId });
    } else if (chance(k.early_callback_rate)) {
      log("info", "simulator.early_callback", { service, task_id: task.id, job_id: task.jobId });
      await send(task, terminalBody(task, options.mediaBase()), true);
    } else scheduleCallbacks(task, k);
    return { status: options.acceptedStatus ?? 202, body: task.answer, taskId };
  }

  /** The simulated video task behind a URL we produced, if it is one. */
  function videoTaskOf(url: string): SimTask | undefined {
    const task = state.tasks.get(taskIdOfMediaUrl(url) ?? "");
    return task?.service === "video" ? task : undefined;
  }

  /**
   * Schedules the task's callbacks over its delay: progress callbacks spread evenly, the
   * terminal one at the end. With shuffle on, the same bodies go out in another order.
   */
  function scheduleCallbacks(task: SimTask, k: Knobs) {
    const bodies = callbackSequence(task, k.progress_steps, options.mediaBase());
    const ordered = k.shuffle ? shuffled(bodies) : bodies;
    const start = Date.now();
    state.inFlight++;
    // One after the other, as a real service's worker would: the next waits for its slot
    // and for the previous one's answer, so the arrival order is the order chosen here.
    ordered
      .reduce(async (previous, body, i) => {
        await previous;
        const slot = start + Math.round((task.delayMs * (i + 1)) / ordered.length);
        await sleep(state, Math.max(0, slot - Date.now()));
        await send(task, body, false);
      }, Promise.resolve())
      // Never an unhandled rejection: a stand-in bug must not take the app's process down.
      .catch((error: unknown) =>
        log("error", "simulator.delivery_crashed", { task_id: task.id, error: String(error) }),
      )
      .finally(() => state.inFlight--);
  }

  /** One callback, and with the duplicate rate the same bytes once more after it was answered. */
  async function send(task: SimTask, body: CallbackBody, early: boolean) {
    const raw = JSON.stringify(body);
    const generation = state.generation;
    await deliver(task, raw, generation, { early, duplicate: false });
    if (chance(options.knobs().duplicate_rate) && state.generation === generation) {
      state.callbacks.duplicated++;
      await deliver(task, raw, generation, { early, duplicate: true });
    }
  }

  /** The headers of a signed callback; no signature when the stage has no secret (dev). */
  function signatureHeaders(stage: Stage, raw: string): Record<string, string> {
    const secret = options.secret(stage);
    return secret
      ? { "x-webhook-signature": `sha256=${hmacSha256(secret, raw).toString("hex")}` }
      : {};
  }

  /**
   * POSTs a callback as a real service does: signed with the stage's secret, to the URL we
   * were handed (an early one — signed — to the bare endpoint: the app cannot match its
   * task yet and must keep it), retried with backoff while the endpoint answers
   * 408/429/5xx or cannot be reached, given up on any other answer.
   */
  async function deliver(
    task: SimTask,
    raw: string,
    generation: number,
    how: { early: boolean; duplicate: boolean },
  ): Promise<void> {
    const counts = state.callbacks; // captured: a delivery from before a reset counts into the old log
    const stage = STAGE_OF[task.service];
    const signature = signatureHeaders(stage, raw);
    const target = new URL(options.callbackTarget?.(stage, task.callbackUrl) ?? task.callbackUrl);
    const bare = how.early && Object.keys(signature).length > 0;
    if (bare) target.search = "";
    const delivery: Delivery = {
      stage,
      taskId: task.id,
      via: bare ? "signed-body" : "callback-url",
      duplicate: how.duplicate,
      early: how.early,
      attempts: 0,
      status: null,
      answer: null,
      sentAt: performance.now(),
      answeredAt: null,
    };
    push(state.deliveries, delivery);
    counts.sent++;
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      if (state.generation !== generation) return; // reset: this delivery belongs to an older run
      delivery.attempts = attempt;
      let status: number | null = null;
      let retryAfterMs: number | undefined;
      let text = "";
      try {
        const response = await fetch(target, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "framechain-simulator",
            ...signature,
          },
          body: raw,
          redirect: "manual",
          signal: AbortSignal.timeout(policy.timeoutMs),
        });
        status = response.status;
        retryAfterMs = retryAfter(response.headers.get("retry-after"));
        text = await response.text();
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        text = cause?.code ?? (error as Error).message;
      }
      const retryable = status === null || status === 408 || status === 429 || status >= 500;
      log(retryable ? "warn" : "info", "simulator.callback", {
        service: task.service,
        task_id: task.id,
        job_id: task.jobId,
        attempt,
        status,
        error: status !== null && status < 300 ? undefined : text.slice(0, 200),
      });
      if (!retryable) {
        delivery.status = status;
        delivery.answeredAt = performance.now();
        delivery.answer = parseObject(text);
        if (status !== null && status < 300) counts.delivered++;
        else counts.rejected++;
        return;
      }
      const backoff = Math.min(policy.maxBackoffMs, policy.firstBackoffMs * 2 ** (attempt - 1));
      const wait = Math.min(
        policy.maxBackoffMs,
        retryAfterMs ?? backoff * (0.5 + Math.random() / 2),
      );
      if (attempt === policy.attempts || Date.now() + wait > deliveryDeadline) break;
      counts.retried++;
      await sleep(state, wait);
    }
    counts.gave_up++;
    log("warn", "simulator.callback_gave_up", {
      service: task.service,
      task_id: task.id,
      job_id: task.jobId,
    });
  }

  function push<T>(list: T[], item: T) {
    list.push(item);
    if (list.length > state.limit) list.splice(0, list.length - state.limit);
  }

  return {
    handle,
    respond,
    state,
    findTask: (taskId: string) => state.tasks.get(taskId),
    /** Every request received, as answered (bounded by `limit`). */
    requests: state.requests,
    /** Every callback sent (bounded by `limit`). */
    deliveries: state.deliveries,
    /** Callbacks scheduled or being delivered. */
    get pendingDeliveries() {
      return state.inFlight;
    },
    /** Answers the next requests to a service with these, whatever they ask (tests). */
    answerNext(service: ServiceName, ...answers: ScriptedAnswer[]) {
      scripted.set(service, [...(scripted.get(service) ?? []), ...answers]);
    },
    /** Deliveries still failing after this moment give up (bounded runs). */
    stopRetryingAt(epochMs: number) {
      deliveryDeadline = epochMs;
    },
    /** Cancels pending callbacks; the records stay. */
    stopCallbacks: () => stopCallbacks(state),
    reset() {
      resetState(state);
      scripted.clear();
    },
  };
}

/** A random order that differs from the original whenever there are two or more items. */
export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.length > 1 && out.every((item, i) => item === items[i]) ? out.reverse() : out;
}

function refOf(url: string): string | null {
  return new URL(url).searchParams.get("ref");
}

/** Retry-After in ms: seconds or an HTTP date. */
function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}
