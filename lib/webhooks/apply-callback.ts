import "server-only";
import { sql } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import type { Job } from "@/lib/db/schema";
import { decideAndApply, loadState } from "@/lib/pipeline/apply";
import type { PipelineEvent, Triggered } from "@/lib/pipeline/transition";
import type { Callback } from "./payloads";
import type { Stage } from "./stages";

export type CallbackOutcome =
  | { outcome: "applied"; flags: Triggered; queuedJobIds: string[]; log: string; projectId: string }
  | { outcome: "ignored"; reason: string; projectId: string };

export function callbackEvent(callback: Callback): PipelineEvent {
  if (callback.kind === "completed") return { type: "stage_completed", result: callback.result };
  if (callback.kind === "failed")
    return { type: "stage_failed", error: callback.error ?? "failed" };
  return { type: "stage_progress", progress: callback.progress ?? 0 };
}

/** Ids a callback carries must agree with the job it matched (else 409). Null when they do. */
export function idMismatch(job: Job, callback: Callback): string | null {
  if (callback.projectId && callback.projectId !== job.projectId) {
    return `project_id ${callback.projectId} does not match task ${callback.taskId} (project ${job.projectId})`;
  }
  if (callback.sceneId && job.sceneId && callback.sceneId !== job.sceneId) {
    return `scene_id ${callback.sceneId} does not match task ${callback.taskId} (scene ${job.sceneId})`;
  }
  if (job.externalTaskId && job.externalTaskId !== callback.taskId) {
    return `task_id ${callback.taskId} does not match the task recorded for this callback URL (${job.externalTaskId})`;
  }
  return null;
}

/** Applies one callback to the job it belongs to, inside the caller's transaction. */
export async function applyCallback(
  tx: Tx,
  job: Job,
  callback: Callback,
): Promise<CallbackOutcome> {
  const state = await loadState(tx, job.projectId, job.id);
  if (!state?.job)
    return { outcome: "ignored", reason: "project no longer exists", projectId: job.projectId };
  const { decision, queuedJobIds } = await decideAndApply(tx, state, callbackEvent(callback));
  if (decision.outcome !== "applied") {
    return { outcome: "ignored", reason: decision.reason, projectId: job.projectId };
  }
  return {
    outcome: "applied",
    flags: decision.flags,
    queuedJobIds,
    log: decision.log,
    projectId: job.projectId,
  };
}

/**
 * Serialises "park a callback for an unknown task" against "record that task" (the
 * dispatcher's recordSubmission). Always taken before the project lock, never after.
 */
export async function lockTask(tx: Tx, stage: Stage, taskId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`${stage}:${taskId}`}))`);
}
