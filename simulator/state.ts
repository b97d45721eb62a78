/**
 * A stand-in's memory: tasks, idempotency keys, counters, and the records of every request
 * and callback. Each stand-in has its own; every collection is bounded (`limit`) so a long
 * dev server or soak run cannot grow it without limit.
 */

export type SimService = "video" | "last-frame" | "stitch";
export type ServiceName = SimService | "notify";
export type PayloadShape = "documented" | "service";
export type TaskOutcome = "completed" | "failed" | "silent";

export type SimTask = {
  id: string;
  service: SimService;
  shape: PayloadShape;
  outcome: TaskOutcome;
  /** Why it fails, when it does. */
  error: string | null;
  idempotencyKey: string | null;
  /** Our job id (metadata.job_id, else the Idempotency-Key, else the callback URL's ref). */
  jobId: string | null;
  /** Our ids as the request carried them (never invented). */
  projectId: string | null;
  sceneId: string | null;
  sceneNumber: number | null;
  /** Which accepted video task of its scene this is (1 = first take), for the media cards. */
  take: number | null;
  prompt: string | null;
  duration: number | null;
  /** What the request asked to process (last-frame: one video, stitch: all of them). */
  videoUrls: string[];
  startImageUrl: string | null;
  /** The request's metadata, echoed back as real services do. */
  metadata: Record<string, unknown> | null;
  callbackUrl: string;
  delayMs: number;
  createdAt: number;
  /** The body the submission was answered with (replayed for the same Idempotency-Key). */
  answer: Record<string, unknown>;
};

/** Every request a stand-in received, as answered (the integration tests and the soak audit these). */
export type RequestRecord = {
  service: ServiceName;
  /** The path below where the stand-in is mounted, e.g. `/video/api/v1/tasks/submit`. */
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  idempotencyKey: string;
  status: number;
  /** The task answered with (a replay: the original one); null for 4xx/5xx and notifications. */
  taskId: string | null;
  receivedAt: number;
  answeredAt: number;
};

/** Every callback a stand-in sent. */
export type Delivery = {
  stage: Stage;
  taskId: string;
  /** To the callback URL we were given, or (early ones) to the bare endpoint signed by header. */
  via: "callback-url" | "signed-body";
  duplicate: boolean;
  early: boolean;
  attempts: number;
  /** Final HTTP status, or null when it never got through. */
  status: number | null;
  answer: Record<string, unknown> | null;
  sentAt: number;
  answeredAt: number | null;
};

export type Stage = "video-complete" | "last-frame-complete" | "stitch-complete";
export const STAGE_OF: Record<SimService, Stage> = {
  video: "video-complete",
  "last-frame": "last-frame-complete",
  stitch: "stitch-complete",
};

const MAX_NOTIFICATIONS = 200;

function emptyCounts() {
  const counts = () => ({ received: 0, accepted: 0, replayed: 0, invalid: 0, unavailable: 0 });
  return { video: counts(), "last-frame": counts(), stitch: counts(), notify: counts() };
}

function emptyCallbackCounts() {
  return { sent: 0, delivered: 0, rejected: 0, retried: 0, gave_up: 0, duplicated: 0 };
}

export function createState(limit: number) {
  return {
    limit,
    /** Bumped by reset(): pending deliveries of an older generation give up. */
    generation: 0,
    tasks: new Map<string, SimTask>(),
    /** `${service}:${Idempotency-Key}` → task id */
    idempotency: new Map<string, string>(),
    /** Accepted video tasks per scene id (for `[fail-once]` and the take number). */
    sceneAttempts: new Map<string, number>(),
    /** Submissions seen per job (for `[flaky]`). */
    flakyAttempts: new Map<string, number>(),
    timers: new Set<ReturnType<typeof setTimeout>>(),
    /** Callbacks scheduled or being delivered. */
    inFlight: 0,
    counts: emptyCounts(),
    callbacks: emptyCallbackCounts(),
    requests: [] as RequestRecord[],
    deliveries: [] as Delivery[],
    /** Tasks left out of the request log (it was cleared after them). */
    unlogged: new Set<string>(),
    notifications: [] as Record<string, unknown>[],
  };
}
export type State = ReturnType<typeof createState>;

/** Map.set that evicts the oldest entries beyond `max` (Maps keep insertion order). */
export function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number) {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}

export function boundedPush<T>(list: T[], item: T, max: number) {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

export function saveTask(s: State, task: SimTask) {
  boundedSet(s.tasks, task.id, task, s.limit);
  if (task.idempotencyKey)
    boundedSet(s.idempotency, `${task.service}:${task.idempotencyKey}`, task.id, s.limit);
}

export function findByIdempotencyKey(
  s: State,
  service: SimService,
  key: string,
): SimTask | undefined {
  const id = s.idempotency.get(`${service}:${key}`);
  return id ? s.tasks.get(id) : undefined;
}

/** Increments a bounded counter and returns its value before the increment. */
export function countUp(s: State, map: Map<string, number>, key: string): number {
  const before = map.get(key) ?? 0;
  boundedSet(map, key, before + 1, s.limit);
  return before;
}

export function recordNotification(s: State, body: Record<string, unknown>) {
  boundedPush(
    s.notifications,
    { ...body, received_at: new Date().toISOString() },
    MAX_NOTIFICATIONS,
  );
}

/** A timer the stand-in can cancel on reset. */
export function sleep(s: State, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.timers.delete(timer);
      resolve();
    }, ms);
    s.timers.add(timer);
  });
}

/** The request log of `GET /api/simulator/requests`. */
export function requestLog(s: State) {
  return {
    counts: s.counts,
    callbacks: s.callbacks,
    pending_timers: s.timers.size,
    submissions: [...s.tasks.values()]
      .filter((task) => !s.unlogged.has(task.id))
      .map((task) => ({
        service: task.service,
        task_id: task.id,
        job_id: task.jobId,
        idempotency_key: task.idempotencyKey,
        project_id: task.projectId,
        scene_id: task.sceneId,
        start_image_url: task.startImageUrl,
        video_urls: task.videoUrls,
        outcome: task.outcome,
        shape: task.shape,
        delay_ms: task.delayMs,
        at: new Date(task.createdAt).toISOString(),
      })),
    notifications: s.notifications,
  };
}

/** Forgets the request log and counters (tasks stay: their media must keep rendering). */
export function clearRequestLog(s: State) {
  s.counts = emptyCounts();
  s.callbacks = emptyCallbackCounts();
  s.unlogged = new Set(s.tasks.keys());
  s.notifications = [];
  s.requests.length = 0;
  s.deliveries.length = 0;
}

/** Pending callbacks cancelled: deliveries under way give up; the records stay. */
export function stopCallbacks(s: State) {
  for (const timer of s.timers) clearTimeout(timer);
  s.timers.clear();
  s.generation++;
}

/** Everything back to a fresh start, pending callbacks cancelled (tests). */
export function resetState(s: State) {
  stopCallbacks(s);
  for (const map of [s.tasks, s.idempotency, s.sceneAttempts, s.flakyAttempts]) map.clear();
  clearRequestLog(s);
}
