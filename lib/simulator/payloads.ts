import { mediaUrl } from "./media";
import type { SimTask } from "./state";

/**
 * The callback bodies a simulated task sends, in order: for video, `progressSteps`
 * `processing` callbacks with rising progress, then the terminal one (`completed` or
 * `failed`). Each task speaks one of the two shapes of CONTRACT.md §2 (examples in
 * shared/contracts/): the documented one or the one the real services send.
 * Ids are only ever our own, as the requests carried them.
 */
export type CallbackBody = Record<string, unknown>;

export function callbackSequence(task: SimTask, progressSteps: number): CallbackBody[] {
  const progress = task.service === "video" ? progressBodies(task, progressSteps) : [];
  return [...progress, terminalBody(task)];
}

/** Rising progress strictly between 0 and 100, e.g. 33 and 67 for two steps. */
export function progressValues(steps: number): number[] {
  return Array.from({ length: steps }, (_, i) => Math.round(((i + 1) * 100) / (steps + 1)));
}

function progressBodies(task: SimTask, steps: number): CallbackBody[] {
  return progressValues(steps).map((progress) =>
    task.shape === "documented"
      ? documented(task, "processing", { progress })
      : {
          task_id: task.id,
          ...projectOf(task),
          status: "processing",
          progress,
          metadata: task.metadata ?? undefined,
        },
  );
}

export function terminalBody(task: SimTask): CallbackBody {
  if (task.outcome === "failed") return failedBody(task);
  const processingTime = Math.round(task.delayMs / 100) / 10;
  switch (task.service) {
    case "video":
      return task.shape === "documented"
        ? documented(task, "completed", {
            video_url: mediaUrl(task.id, "video"),
            thumbnail_url: mediaUrl(task.id, "thumbnail"),
            duration: task.duration,
            fps: 24,
            width: 1280,
            height: 720,
            quality_score: 8.5,
            metadata: { model: "framechain-simulator", processing_time: processingTime },
          })
        : {
            task_id: task.id,
            ...projectOf(task),
            status: "completed",
            result: {
              video_url: mediaUrl(task.id, "video"),
              thumbnail_url: mediaUrl(task.id, "thumbnail"),
              ...(task.sceneId ? { scene_id: task.sceneId } : {}),
              duration: task.duration,
              fps: 24,
              quality_score: 0.91,
            },
            completed_at: now(),
            processing_time: processingTime,
            metadata: task.metadata ?? undefined,
          };
    case "last-frame":
      return task.shape === "documented"
        ? documented(task, "completed", {
            last_frame_url: mediaUrl(task.id, "last-frame"),
            width: 1280,
            height: 720,
            format: "svg",
            metadata: { extraction_time: processingTime },
          })
        : {
            task_id: task.id,
            status: "completed",
            image_url: mediaUrl(task.id, "last-frame"),
            metadata: { processing_time: processingTime },
          };
    case "stitch":
      return task.shape === "documented"
        ? documented(task, "completed", {
            final_video_url: mediaUrl(task.id, "final"),
            thumbnail_url: mediaUrl(task.id, "poster"),
            total_scenes: task.videoUrls.length,
            format: "svg",
            resolution: "1280x720",
            metadata: { processing_time: processingTime },
          })
        : {
            task_id: task.id,
            status: "completed",
            video_result_url: mediaUrl(task.id, "final"),
            metadata: { total_videos: task.videoUrls.length, processing_time: processingTime },
          };
  }
}

function failedBody(task: SimTask): CallbackBody {
  const error = task.error ?? "Simulated failure";
  return task.shape === "documented"
    ? documented(task, "failed", { error })
    : {
        task_id: task.id,
        ...projectOf(task),
        status: "failed",
        error,
        traceback: "Traceback (most recent call last): simulated",
        failed_at: now(),
        metadata: task.metadata ?? undefined,
      };
}

/** The documented shape: scene_id/project_id only when the request told us ours. */
function documented(task: SimTask, status: string, fields: CallbackBody): CallbackBody {
  const ids = { ...(task.sceneId ? { scene_id: task.sceneId } : {}), ...projectOf(task) };
  return { task_id: task.id, status, ...ids, ...fields, timestamp: now() };
}

function projectOf(task: SimTask): CallbackBody {
  return task.projectId ? { project_id: task.projectId } : {};
}

function now(): string {
  return new Date().toISOString();
}
