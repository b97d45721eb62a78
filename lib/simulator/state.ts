/**
 * The simulator's memory: tasks, idempotency keys, counters and the request log. It
 * lives on globalThis so that dev-mode module reloads keep it, and every collection is
 * bounded so a long soak run cannot grow it without limit.
 */

import { rememberMedia } from "./media-store";

export type SimService = "video" | "last-frame" | "stitch";
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

export type Submission = {
  service: SimService;
  task_id: string;
  job_id: string | null;
  idempotency_key: string | null;
  project_id: string | null;
  scene_id: string | null;
  start_image_url: string | null;
  video_urls: string[];
  outcome: TaskOutcome;
  shape: PayloadShape;
  delay_ms: number;
  at: string;
};

export type ServiceCounts = {
  received: number;
  accepted: number;
  replayed: number;
  invalid: number;
  unavailable: number;
};

export type CallbackCounts = {
  sent: number;
  delivered: number;
  rejected: number;
  retried: number;
  gave_up: number;
  duplicated: number;
};

const MAX_TASKS = 5000;
const MAX_SUBMISSIONS = 2000;
const MAX_NOTIFICATIONS = 200;
const MAX_COUNTERS = 10_000;

function emptyCounts(): Record<SimService | "notify", ServiceCounts> {
  const counts = () => ({ received: 0, accepted: 0, replayed: 0, invalid: 0, unavailable: 0 });
  return { video: counts(), "last-frame": counts(), stitch: counts(), notify: counts() };
}

function emptyCallbackCounts(): CallbackCounts {
  return { sent: 0, delivered: 0, rejected: 0, retried: 0, gave_up: 0, duplicated: 0 };
}

function createStore() {
  return {
    /** Bumped by reset(): pending deliveries of an older generation give up. */
    generation: 0,
    tasks: new Map<string, SimTask>(),
    /** `${service}:${Idempotency-Key}` → task id */
    idempotency: new Map<string, string>(),
    /** Accepted video tasks per scene id (for `[fail-once]`). */
    sceneAttempts: new Map<string, number>(),
    /** Submissions seen per job (for `[flaky]`). */
    flakyAttempts: new Map<string, number>(),
    timers: new Set<ReturnType<typeof setTimeout>>(),
    counts: emptyCounts(),
    callbacks: emptyCallbackCounts(),
    submissions: [] as Submission[],
    notifications: [] as Record<string, unknown>[],
    overrides: {} as Record<string, unknown>,
  };
}

type Store = ReturnType<typeof createStore>;
const globalStore = globalThis as unknown as { __framechainSimulator?: Store };

export function store(): Store {
  globalStore.__framechainSimulator ??= createStore();
  return globalStore.__framechainSimulator;
}

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

export function saveTask(task: SimTask) {
  const s = store();
  boundedSet(s.tasks, task.id, task, MAX_TASKS);
  rememberMedia(task); // its media must still render after a restart
  if (task.idempotencyKey)
    boundedSet(s.idempotency, `${task.service}:${task.idempotencyKey}`, task.id, MAX_TASKS);
  boundedPush(
    s.submissions,
    {
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
    },
    MAX_SUBMISSIONS,
  );
}

export function findTask(id: string): SimTask | undefined {
  return store().tasks.get(id);
}

export function findByIdempotencyKey(service: SimService, key: string): SimTask | undefined {
  const id = store().idempotency.get(`${service}:${key}`);
  return id ? store().tasks.get(id) : undefined;
}

/** Increments a bounded counter and returns its value before the increment. */
export function countUp(map: Map<string, number>, key: string): number {
  const before = map.get(key) ?? 0;
  boundedSet(map, key, before + 1, MAX_COUNTERS);
  return before;
}

export function recordNotification(body: Record<string, unknown>) {
  boundedPush(
    store().notifications,
    { ...body, received_at: new Date().toISOString() },
    MAX_NOTIFICATIONS,
  );
}

/** A timer the simulator can cancel on reset. */
export function later(ms: number, fn: () => void) {
  const s = store();
  const timer = setTimeout(() => {
    s.timers.delete(timer);
    fn();
  }, ms);
  s.timers.add(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => later(ms, resolve));
}

/** The request log of `GET /api/simulator/requests`. */
export function requestLog() {
  const s = store();
  return {
    counts: s.counts,
    callbacks: s.callbacks,
    pending_timers: s.timers.size,
    submissions: s.submissions,
    notifications: s.notifications,
  };
}

/** Forgets the request log and counters (tasks stay: their media must keep rendering). */
export function clearRequestLog() {
  const s = store();
  s.counts = emptyCounts();
  s.callbacks = emptyCallbackCounts();
  s.submissions = [];
  s.notifications = [];
}

/** Everything back to a fresh start, pending callbacks cancelled (tests). */
export function resetSimulator() {
  const s = store();
  for (const timer of s.timers) clearTimeout(timer);
  const generation = s.generation + 1;
  globalStore.__framechainSimulator = { ...createStore(), generation };
}
