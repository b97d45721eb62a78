"use client";

import { useState } from "react";
import type { ProjectStatus } from "@/lib/db/schema";
import type { ProjectView, SceneView } from "@/lib/projects/serialize";
import { Icon } from "./icons";
import { mediaSrc } from "./media-src";

/**
 * A scene's takes, when it has more than one: each with its number, prompt and picture, the
 * one in use marked; on a completed project the others offer "Use this take", which posts to
 * `…/scenes/{number}/select-take` and stitches again without generating (CONTRACT §7).
 */
export function SceneTakes({
  projectId,
  projectStatus,
  scene,
  onChanged,
}: {
  projectId: string;
  projectStatus: ProjectStatus;
  scene: Pick<SceneView, "number" | "takes" | "selected_take">;
  onChanged: (project: ProjectView) => void;
}) {
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (scene.takes.length < 2) return null;

  const selected = scene.selected_take ?? scene.takes.at(-1)?.take ?? null;
  const canSelect = projectStatus === "completed";

  const use = async (take: number) => {
    setBusy(take);
    setError(null);
    try {
      const response = await fetch(
        `/api/v1/projects/${projectId}/scenes/${scene.number}/select-take`,
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ take }),
        },
      );
      const body = (await response.json().catch(() => ({}))) as ProjectView & { error?: string };
      if (response.ok) onChanged(body);
      else
        setError(
          body.error
            ? `Could not use take ${take}: ${body.error}.`
            : `The server answered ${response.status}`,
        );
    } catch {
      setError("Could not reach the server. Try again.");
    }
    setBusy(null);
  };

  return (
    <section aria-label={`Scene ${scene.number} takes`} data-takes={scene.number}>
      <h4 className="mb-1 text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-300">
        Takes ({scene.takes.length})
      </h4>
      <ol className="space-y-1.5">
        {scene.takes.map((take) => {
          const current = take.take === selected;
          const picture = mediaSrc(take.thumbnail_url ?? take.last_frame_url);
          return (
            <li
              key={take.take}
              data-take={take.take}
              data-selected={current || undefined}
              aria-current={current ? "true" : undefined}
              className={`flex items-start gap-2 rounded-md border p-1.5 text-xs ${
                current
                  ? "border-sky-600 bg-sky-50 dark:border-sky-500 dark:bg-sky-950"
                  : "border-slate-200 dark:border-slate-700"
              }`}
            >
              <a
                href={mediaSrc(take.video_url) ?? undefined}
                target="_blank"
                rel="noreferrer noopener"
                className="shrink-0 rounded focus-visible:outline-2 focus-visible:outline-sky-500"
              >
                {picture ? (
                  // biome-ignore lint/performance/noImgElement: external media from the video services
                  <img
                    src={picture}
                    alt={`Scene ${scene.number} take ${take.take} video`}
                    className="h-9 w-16 rounded object-cover ring-1 ring-slate-300 dark:ring-slate-600"
                    loading="lazy"
                  />
                ) : (
                  <span className="flex h-9 w-16 items-center justify-center rounded bg-slate-100 text-slate-400 dark:bg-slate-800">
                    <Icon name="film" />
                    <span className="sr-only">
                      Scene {scene.number} take {take.take} video
                    </span>
                  </span>
                )}
              </a>
              <div className="min-w-0 flex-1 space-y-0.5">
                <p className="flex flex-wrap items-center gap-x-2 font-medium">
                  Take {take.take}
                  <span className="font-normal text-slate-500 tabular-nums dark:text-slate-400">
                    {take.duration} s
                  </span>
                  {current && (
                    <span className="inline-flex items-center gap-0.5 text-sky-800 dark:text-sky-300">
                      <Icon name="check" className="size-3" /> In use
                    </span>
                  )}
                </p>
                <p className="line-clamp-2 text-slate-700 dark:text-slate-200" title={take.prompt}>
                  {take.prompt}
                </p>
                {!current && canSelect && (
                  <button
                    type="button"
                    data-use-take={take.take}
                    disabled={busy !== null}
                    onClick={() => use(take.take)}
                    className="mt-0.5 rounded border border-slate-300 bg-white px-2 py-0.5 font-medium hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-50 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
                  >
                    {busy === take.take ? "Working…" : "Use this take"}
                    <span className="sr-only">
                      {" "}
                      (take {take.take}) for scene {scene.number}
                    </span>
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ol>
      {error && (
        <p
          role="alert"
          className="mt-1 flex items-start gap-1 text-xs text-red-700 dark:text-red-400"
        >
          <Icon name="alert" className="mt-0.5 size-3.5" /> <span>{error}</span>
        </p>
      )}
    </section>
  );
}
