import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { StandInOptions } from "./stand-in";
import type { SimTask } from "./state";

/**
 * What the simulator's media are drawn from, kept on disk beside the PGlite data
 * (`.data/simulator-media/<task id>.json`) so that a completed project's thumbnails, last
 * frames and videos still show the same scene cards after a restart. The rest of a task
 * (timers, idempotency, callbacks) stays in memory: a restart may forget those.
 * With an in-memory database (`memory://`, tests) nothing is written.
 */
export type MediaRecord = Pick<
  SimTask,
  "id" | "service" | "sceneNumber" | "take" | "prompt" | "duration" | "videoUrls"
>;

/** Task ids the simulator hands out (`task_<ms>_<hex>` or a UUID): nothing else becomes a file name. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;
const MAX_CACHED = 500;
const recalled = new Map<string, MediaRecord>();

/** Beside the PGlite data directory; none for an in-memory database. */
export function mediaDir(dataDir: string): string | null {
  if (dataDir.startsWith("memory://")) return null;
  return path.join(path.dirname(path.resolve(dataDir)), "simulator-media");
}

function cache(taskId: string, record: MediaRecord) {
  recalled.delete(taskId);
  recalled.set(taskId, record);
  if (recalled.size > MAX_CACHED) recalled.delete(recalled.keys().next().value!);
}

/** Called for every accepted task; a failed write only costs the cards after a restart. */
export function rememberMedia(task: SimTask, dir: string | null, log: StandInOptions["log"]): void {
  if (!dir || !SAFE_ID.test(task.id)) return;
  const record: MediaRecord = {
    id: task.id,
    service: task.service,
    sceneNumber: task.sceneNumber,
    take: task.take,
    prompt: task.prompt,
    duration: task.duration,
    videoUrls: task.videoUrls,
  };
  try {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${task.id}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(record));
    renameSync(`${file}.tmp`, file); // never a half-written file
    cache(task.id, record);
  } catch (error) {
    log?.("warn", "simulator.media_not_saved", {
      task_id: task.id,
      message: (error as Error).message,
    });
  }
}

/** A task's media record from disk (after a restart), or null when there is none. */
export function recallMedia(taskId: string, dir: string | null): MediaRecord | null {
  if (!dir || !SAFE_ID.test(taskId)) return null;
  const cached = recalled.get(taskId);
  if (cached) return cached;
  let record: MediaRecord | null = null;
  try {
    const parsed = JSON.parse(readFileSync(path.join(dir, `${taskId}.json`), "utf8"));
    if (parsed && parsed.id === taskId && Array.isArray(parsed.videoUrls)) record = parsed;
  } catch {
    // not ours, or never written
  }
  // Only hits are cached: a task whose file appears later (another process) is found then.
  if (record) cache(taskId, record);
  return record;
}
