"use client";

import { useCallback, useState } from "react";
import type { ProjectSnapshot } from "@/lib/projects/events";
import type { ProjectView } from "@/lib/projects/serialize";
import { ActivityLog } from "./activity-log";
import { FinalVideoHistory } from "./final-video-history";
import { Icon } from "./icons";
import { LiveIndicator } from "./live-indicator";
import { mediaSrc } from "./media-src";
import { DetailHeader } from "./page-header";
import { ProgressBar } from "./progress-bar";
import { ProjectActions } from "./project-actions";
import { ProjectEmittedEvents } from "./project-emitted-events";
import { projectBarTone, projectPercent, scenesDoneText, stageText } from "./project-progress";
import { RelativeTime } from "./relative-time";
import { SceneCard } from "./scene-card";
import { RESHOOT_ALLOWED, SceneReshoot } from "./scene-reshoot";
import { SceneTakes } from "./scene-takes";
import { PROJECT_STATUS_LOOK, ProjectStatusBadge, sceneDisplayStatus } from "./status";
import { useEventStream } from "./use-event-stream";

/**
 * The project page after the first server render: every `project` event of the stream
 * replaces the snapshot, so the filmstrip, the buttons and the logs change in place.
 */
export function ProjectLive({
  initial,
  maxAttempts,
}: {
  initial: ProjectSnapshot;
  maxAttempts: number;
}) {
  const [snapshot, setSnapshot] = useState(initial);
  const { project } = snapshot;

  const onSnapshot = useCallback((data: unknown) => setSnapshot(data as ProjectSnapshot), []);
  const stream = useEventStream(`/api/v1/projects/${project.id}/events`, { project: onSnapshot });
  // An action's answer is the new project: show it at once, the stream brings the logs.
  const onChanged = useCallback(
    (next: ProjectView) =>
      // Unless the stream has already brought something newer.
      setSnapshot((current) =>
        Date.parse(next.updated_at) >= Date.parse(current.project.updated_at)
          ? { ...current, project: next }
          : current,
      ),
    [],
  );

  const percent = projectPercent(project);
  // "Cancelled. 1 of 3 scenes done." — the stage only when it says more than the status.
  const announcement = [
    PROJECT_STATUS_LOOK[project.status].label,
    project.stage !== project.status ? stageText(project.stage) : null,
    scenesDoneText(project),
  ]
    .filter(Boolean)
    .join(". ")
    .concat(".");
  const cancelled = project.status === "cancelled";
  const lastScene = project.scenes.at(-1)?.number ?? 0;

  return (
    <div className="space-y-8" data-project-status={project.status}>
      <DetailHeader
        back={{ href: "/projects", label: "Projects" }}
        title={project.name}
        id={project.id}
        facts={
          <>
            <span>
              Created <RelativeTime iso={project.created_at} />
            </span>
            <span>
              Updated <RelativeTime iso={project.updated_at} />
            </span>
            <LiveIndicator state={stream} />
          </>
        }
        actions={<ProjectActions project={project} onChanged={onChanged} />}
      />

      <section
        aria-labelledby="progress-heading"
        className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
      >
        <h2 id="progress-heading" className="sr-only">
          Progress
        </h2>
        <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
          <div className="flex flex-wrap items-center gap-2">
            <ProjectStatusBadge status={project.status} />
            {project.stage !== project.status && (
              <span className="text-sm font-medium" data-stage>
                {stageText(project.stage)}
              </span>
            )}
          </div>
          <span className="text-sm text-slate-600 tabular-nums dark:text-slate-300">
            {scenesDoneText(project)}
          </span>
        </div>
        <ProgressBar
          value={percent}
          label="Project progress"
          valueText={`${scenesDoneText(project)}; ${project.stage}`}
          tone={projectBarTone(project.status)}
        />
        {/* Screen readers hear each change of stage, not every repaint. */}
        <p aria-live="polite" aria-atomic="true" className="sr-only">
          {announcement}
        </p>
        {cancelled && (
          <p
            data-cancelled-note
            className="mt-3 flex items-start gap-2 rounded-md border border-slate-300 bg-slate-50 p-3 text-sm text-slate-700 dark:border-slate-700 dark:bg-slate-800 dark:text-slate-200"
          >
            <Icon name="slashCircle" className="mt-0.5 size-4" />
            <span>{cancelledText(project)}</span>
          </p>
        )}
        {project.error && !cancelled && (
          <p className="mt-3 flex items-start gap-2 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
            <Icon name="alert" className="mt-0.5 size-4" />
            <span>
              <span className="font-medium">Error: </span>
              {project.error}
            </span>
          </p>
        )}
      </section>

      {project.status === "completed" && project.final_video_url && (
        <section aria-labelledby="final-heading" className="space-y-3">
          <h2 id="final-heading" className="text-lg font-semibold">
            Final video
          </h2>
          <div className="max-w-3xl overflow-hidden rounded-lg border border-slate-200 bg-black shadow-sm dark:border-slate-800">
            {/* biome-ignore lint/a11y/useMediaCaption: generated videos come without captions */}
            <video
              data-final-video
              controls
              preload="metadata"
              poster={mediaSrc(project.thumbnail_url) ?? undefined}
              src={mediaSrc(project.final_video_url)}
              className="aspect-video w-full"
            />
          </div>
          <a
            href={mediaSrc(project.final_video_url)}
            target="_blank"
            rel="noreferrer noopener"
            className="inline-flex items-center gap-1 text-sm text-sky-700 underline dark:text-sky-400"
          >
            Open the video file
          </a>
          {project.duration !== null && (
            <span className="ml-3 text-sm text-slate-600 dark:text-slate-300">
              {project.duration} s
            </span>
          )}
        </section>
      )}

      <FinalVideoHistory project={project} />

      <section aria-labelledby="scenes-heading" className="space-y-3">
        <h2 id="scenes-heading" className="text-lg font-semibold">
          Scenes
        </h2>
        {/* A filmstrip: scrolls sideways on wide screens, stacks on a phone. */}
        <ol
          aria-label="Filmstrip"
          // biome-ignore lint/a11y/noNoninteractiveTabindex: the strip scrolls sideways; the keyboard must reach it
          tabIndex={0}
          className="grid gap-3 rounded-lg focus-visible:outline-2 focus-visible:outline-offset-4 focus-visible:outline-sky-500 sm:flex sm:snap-x sm:overflow-x-auto sm:pb-3"
        >
          {project.scenes.map((scene) => (
            <li key={scene.id} className="sm:w-64 sm:shrink-0 sm:snap-start">
              <SceneCard scene={scene} projectStatus={project.status} maxAttempts={maxAttempts}>
                {RESHOOT_ALLOWED.includes(project.status) && (
                  <SceneReshoot
                    projectId={project.id}
                    continuity={project.continuity}
                    projectStatus={project.status}
                    scene={scene}
                    lastScene={lastScene}
                    onChanged={onChanged}
                  />
                )}
                <SceneTakes
                  projectId={project.id}
                  projectStatus={project.status}
                  scene={scene}
                  onChanged={onChanged}
                />
              </SceneCard>
            </li>
          ))}
        </ol>
      </section>

      <ActivityLog events={snapshot.webhook_events} errors={snapshot.errors} />

      <ProjectEmittedEvents events={snapshot.emitted_events ?? []} />
    </div>
  );
}

/** What a cancel left behind, in words: which scenes finished, which were stopped or skipped. */
function cancelledText(project: ProjectView): string {
  const total = project.scenes.length;
  const done = project.scenes.filter((s) => s.status === "completed").length;
  const skipped = project.scenes.filter(
    (s) => sceneDisplayStatus(s, project.status) === "skipped",
  ).length;
  if (total > 0 && done === total)
    return "Cancelled before the final video was stitched: every scene had finished.";
  const parts = [`Cancelled after ${done} of ${total} scene${total === 1 ? "" : "s"}`];
  if (skipped > 0) parts.push(`${skipped} not started ${skipped === 1 ? "was" : "were"} skipped`);
  return `${parts.join("; ")}.`;
}
