import type { SimTask } from "./state";

/**
 * The callback bodies a simulated task sends, in order: for video, `progressSteps`
 * `processing` callbacks with rising progress, then the terminal one (`completed` or
 * `failed`). Each task speaks one of the two shapes of CONTRACT.md §2 (examples in
 * shared/contracts/): the documented one or the one the real services send.
 * Ids are only ever our own, as the requests carried them.
 */
export type CallbackBody = Record<string, unknown>;

/**
 * The media a task "produces" live at `<media base>/media/<task id>/<kind>.<svg|mp4>`: the
 * simulator serves them (simulator/media.ts); other stand-ins only hand the URLs out.
 */
export const MEDIA_FORMAT = {
  video: "mp4",
  thumbnail: "svg",
  "last-frame": "svg",
  final: "mp4",
  poster: "svg",
} as const;
export type MediaKind = keyof typeof MEDIA_FORMAT;

export function mediaUrl(mediaBase: string, taskId: string, kind: MediaKind): string {
  return `${mediaBase}/media/${encodeURIComponent(taskId)}/${kind}.${MEDIA_FORMAT[kind]}`;
}

export const MEDIA_PATH = /\/media\/([^/]+)\/[a-z-]+\.(svg|mp4)$/;

/** The task id in a media URL a stand-in handed out, if the URL is one. */
export function taskIdOfMediaUrl(url: string | undefined): string | null {
  try {
    const match = MEDIA_PATH.exec(new URL(url ?? "").pathname);
    return match ? decodeURIComponent(match[1]!) : null;
  } catch {
    return null;
  }
}

export function callbackSequence(
  task: SimTask,
  progressSteps: number,
  mediaBase: string,
): CallbackBody[] {
  const progress = task.service === "video" ? progressBodies(task, progressSteps) : [];
  return [...progress, terminalBody(task, mediaBase)];
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

export function terminalBody(task: SimTask, mediaBase: string): CallbackBody {
  if (task.outcome === "failed") return failedBody(task);
  const media = (kind: MediaKind) => mediaUrl(mediaBase, task.id, kind);
  const processingTime = Math.round(task.delayMs / 100) / 10;
  switch (task.service) {
    case "video":
      return task.shape === "documented"
        ? documented(task, "completed", {
            video_url: media("video"),
            thumbnail_url: media("thumbnail"),
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
              video_url: media("video"),
              thumbnail_url: media("thumbnail"),
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
            last_frame_url: media("last-frame"),
            width: 1280,
            height: 720,
            format: "svg",
            metadata: { extraction_time: processingTime },
          })
        : {
            task_id: task.id,
            status: "completed",
            image_url: media("last-frame"),
            metadata: { processing_time: processingTime },
          };
    case "stitch":
      return task.shape === "documented"
        ? documented(task, "completed", {
            final_video_url: media("final"),
            thumbnail_url: media("poster"),
            total_scenes: task.videoUrls.length,
            format: "svg",
            resolution: "1280x720",
            metadata: { processing_time: processingTime },
          })
        : {
            task_id: task.id,
            status: "completed",
            video_result_url: media("final"),
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
