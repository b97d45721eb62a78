import type { ReactNode } from "react";
import type { ProjectStatus } from "@/lib/db/schema";
import type { SceneView } from "@/lib/projects/serialize";
import { Icon } from "./icons";
import { mediaSrc } from "./media-src";
import { ProgressBar } from "./progress-bar";
import { type SceneDisplayStatus, SceneStatusBadge, sceneDisplayStatus } from "./status";

type StepState = "done" | "current" | "failed" | "stopped" | "todo";
const STEPS = ["Video", "Last frame", "Done"] as const;

/** Where a scene stands on video → last frame → done. */
function stepStates(scene: SceneView, shown: SceneDisplayStatus): StepState[] {
  switch (shown) {
    case "skipped":
      return ["todo", "todo", "todo"];
    case "cancelled":
      // Stopped at the stage whose output it lacks.
      return scene.video_url ? ["done", "stopped", "todo"] : ["stopped", "todo", "todo"];
    case "pending":
      return ["todo", "todo", "todo"];
    case "generating_video":
      return ["current", "todo", "todo"];
    case "extracting_frame":
      return ["done", "current", "todo"];
    case "completed":
      return ["done", "done", "done"];
    case "failed":
      // A failed scene failed at the stage whose output it lacks.
      return scene.video_url ? ["done", "failed", "todo"] : ["failed", "todo", "todo"];
  }
}

const STEP_LOOK: Record<StepState, { text: string; dot: string }> = {
  done: { text: "done", dot: "bg-emerald-500 text-white" },
  current: {
    text: "in progress",
    dot: "bg-sky-600 text-white ring-4 ring-sky-200 dark:ring-sky-900",
  },
  failed: { text: "failed", dot: "bg-red-600 text-white" },
  stopped: { text: "cancelled", dot: "bg-slate-500 text-white" },
  todo: {
    text: "not started",
    dot: "bg-slate-200 text-slate-500 dark:bg-slate-700 dark:text-slate-300",
  },
};

export function SceneCard({
  scene,
  projectStatus,
  maxAttempts,
  children,
}: {
  scene: SceneView;
  projectStatus: ProjectStatus;
  maxAttempts: number;
  /** What the page adds under the scene: its re-shoot action and its takes. */
  children?: ReactNode;
}) {
  const shown = sceneDisplayStatus(scene, projectStatus);
  const states = stepStates(scene, shown);
  const working = shown === "generating_video" || shown === "extracting_frame";
  // A cancel is the user's decision: its note is neutral, not an error.
  const error = shown === "cancelled" || shown === "skipped" ? null : scene.error;
  const preview = mediaSrc(scene.thumbnail_url ?? scene.last_frame_url);
  return (
    <article
      aria-labelledby={`scene-${scene.id}-title`}
      data-scene={scene.number}
      data-status={scene.status}
      data-display-status={shown}
      className={`grid h-full grid-cols-[7rem_minmax(0,1fr)] overflow-hidden rounded-lg border bg-white sm:flex sm:flex-col shadow-sm dark:bg-slate-900 ${
        shown === "failed"
          ? "border-red-300 dark:border-red-800"
          : working
            ? "border-sky-300 dark:border-sky-800"
            : "border-slate-200 dark:border-slate-800"
      }`}
    >
      <div className="relative m-3 mr-0 aspect-video self-start overflow-hidden rounded bg-slate-100 sm:m-0 sm:self-auto sm:rounded-none dark:bg-slate-800">
        {preview ? (
          // Media URLs come from the services (absolute http(s), validated on the way in); no optimisation proxy.
          // biome-ignore lint/performance/noImgElement: external media from the video services
          <img
            src={preview}
            alt={`Scene ${scene.number} ${scene.thumbnail_url ? "thumbnail" : "last frame"}`}
            className="size-full object-cover"
            loading="lazy"
          />
        ) : (
          <div className="flex size-full items-center justify-center text-slate-400 dark:text-slate-500">
            <Icon name={working ? "film" : "image"} className="size-8" />
            <span className="sr-only">No image yet</span>
          </div>
        )}
      </div>
      <div className="flex flex-1 flex-col gap-3 p-3">
        <div className="flex items-start justify-between gap-2">
          <h3 id={`scene-${scene.id}-title`} className="font-medium">
            Scene {scene.number}
          </h3>
          <SceneStatusBadge status={shown} />
        </div>
        <ol className="flex items-center gap-1 text-xs" aria-label={`Scene ${scene.number} stages`}>
          {STEPS.map((step, i) => {
            const state = states[i]!;
            return (
              <li
                key={step}
                className="flex items-center gap-1"
                aria-current={state === "current" ? "step" : undefined}
              >
                {i > 0 && (
                  <span aria-hidden="true" className="h-px w-3 bg-slate-300 dark:bg-slate-600" />
                )}
                <span
                  aria-hidden="true"
                  className={`flex size-4 items-center justify-center rounded-full ${STEP_LOOK[state].dot}`}
                >
                  {state === "done" && <Icon name="check" className="size-3" />}
                  {state === "failed" && <Icon name="xCircle" className="size-3" />}
                  {state === "stopped" && <Icon name="slashCircle" className="size-3" />}
                </span>
                <span
                  className={
                    state === "current" ? "font-semibold" : "text-slate-600 dark:text-slate-300"
                  }
                >
                  {step}
                  <span className="sr-only">: {STEP_LOOK[state].text}</span>
                </span>
              </li>
            );
          })}
        </ol>
        {shown === "generating_video" && (
          <div>
            <ProgressBar
              size="sm"
              value={scene.progress}
              label={`Scene ${scene.number} video progress`}
              valueText={`${scene.progress} percent`}
            />
            <p className="mt-1 text-xs text-slate-600 tabular-nums dark:text-slate-300">
              {scene.progress}%
            </p>
          </div>
        )}
        <p className="line-clamp-3 text-sm text-slate-700 dark:text-slate-200" title={scene.prompt}>
          {scene.prompt}
        </p>
        <dl className="mt-auto grid grid-cols-2 gap-x-3 gap-y-1 text-xs text-slate-600 dark:text-slate-300">
          <dt>Duration</dt>
          <dd className="text-right tabular-nums">{scene.duration} s</dd>
          <dt>Attempt</dt>
          <dd className="text-right tabular-nums" data-attempts={scene.attempts}>
            {scene.attempts === 0 ? "—" : `${scene.attempts} of ${maxAttempts}`}
          </dd>
        </dl>
        {(scene.video_url || scene.last_frame_url) && (
          <div className="flex flex-wrap items-center gap-3 text-xs">
            {scene.video_url && (
              <a
                href={mediaSrc(scene.video_url)}
                target="_blank"
                rel="noreferrer noopener"
                className="text-sky-700 underline dark:text-sky-400"
              >
                Scene video
              </a>
            )}
            {scene.last_frame_url && (
              <a
                href={mediaSrc(scene.last_frame_url)}
                target="_blank"
                rel="noreferrer noopener"
                className="inline-flex items-center gap-1.5 text-sky-700 underline dark:text-sky-400"
              >
                {/* biome-ignore lint/performance/noImgElement: external media from the last-frame service */}
                <img
                  src={mediaSrc(scene.last_frame_url)}
                  alt=""
                  className="h-6 w-10 rounded object-cover ring-1 ring-slate-300 dark:ring-slate-600"
                  loading="lazy"
                />
                Last frame
              </a>
            )}
          </div>
        )}
        {error && (
          <p className="flex items-start gap-1 rounded bg-red-50 p-2 text-xs text-red-800 dark:bg-red-950 dark:text-red-200">
            <Icon name="alert" className="mt-0.5 size-3.5" />
            <span>
              <span className="sr-only">Error: </span>
              {error}
            </span>
          </p>
        )}
        {shown === "cancelled" && (
          <p className="text-xs text-slate-600 dark:text-slate-300">
            Stopped when the project was cancelled.
          </p>
        )}
        {shown === "skipped" && (
          <p className="text-xs text-slate-600 dark:text-slate-300">
            Not generated: the project was cancelled first.
          </p>
        )}
        {children}
      </div>
    </article>
  );
}
