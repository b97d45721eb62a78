"use client";

import Link from "next/link";
import { useCallback, useRef, useState } from "react";
import type { ProjectSummaryView } from "@/lib/projects/serialize";
import { Icon } from "./icons";
import { LiveIndicator } from "./live-indicator";
import { mediaSrc } from "./media-src";
import { NewProjectLink } from "./new-project-link";
import { ProgressBar } from "./progress-bar";
import { projectBarTone, projectPercent, scenesDoneText, stageText } from "./project-progress";
import { RelativeTime } from "./relative-time";
import { ProjectStatusBadge } from "./status";
import { useEventStream } from "./use-event-stream";

/** The API's page-size ceiling: past it, a status filter is the better tool. */
const MAX_SHOWN = 200;

/**
 * The projects list, kept current: the all-projects stream says which projects changed,
 * and the list refetches itself (one request at a time, however many callbacks arrive).
 */
export function ProjectList({
  initial,
  statusQuery,
  limit,
}: {
  initial: ProjectSummaryView[];
  statusQuery: string;
  limit: number;
}) {
  const [items, setItems] = useState(initial);
  // "Show more" raises how many of the newest the list holds; refetches keep that many.
  const [shown, setShown] = useState(limit);
  const shownRef = useRef(shown);
  shownRef.current = shown;
  const inFlight = useRef(false);
  const again = useRef(false);

  const refetch = useCallback(async () => {
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    try {
      do {
        again.current = false;
        const params = new URLSearchParams({ limit: String(shownRef.current) });
        if (statusQuery) params.set("status", statusQuery);
        const response = await fetch(`/api/v1/projects?${params}`, { cache: "no-store" });
        if (response.ok)
          setItems(((await response.json()) as { items: ProjectSummaryView[] }).items);
      } while (again.current);
    } catch {
      // offline for a moment: the stream's reconnect triggers another refetch
    } finally {
      inFlight.current = false;
    }
  }, [statusQuery]);

  const stream = useEventStream(
    "/api/v1/projects/events",
    { changed: () => void refetch() },
    () => void refetch(),
  );

  return (
    <div>
      <div className="mb-2 flex justify-end">
        <LiveIndicator state={stream} />
      </div>
      {items.length === 0 ? (
        <div className="rounded-lg border border-dashed border-slate-300 p-8 text-center dark:border-slate-700">
          <p className="text-slate-600 dark:text-slate-300">
            {statusQuery ? "No projects with this status." : "No projects yet."}
          </p>
          <NewProjectLink className="mt-3" />
        </div>
      ) : (
        <ul
          aria-label="Projects"
          className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
        >
          {items.map((p) => (
            <ProjectRow key={p.id} project={p} />
          ))}
        </ul>
      )}
      {items.length >= shown &&
        (shown < MAX_SHOWN ? (
          <button
            type="button"
            onClick={() => {
              setShown(shown + limit);
              shownRef.current = shown + limit;
              void refetch();
            }}
            className="mt-3 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
          >
            Show older projects
          </button>
        ) : (
          <p className="mt-3 text-sm text-slate-500 dark:text-slate-400">
            Showing the newest {shown} projects. Filter by status to narrow the list.
          </p>
        ))}
    </div>
  );
}

function ProjectRow({ project: p }: { project: ProjectSummaryView }) {
  const percent = projectPercent(p);
  return (
    <li
      data-project-id={p.id}
      data-status={p.status}
      className="group relative grid grid-cols-[4.5rem_minmax(0,1fr)] gap-x-4 gap-y-2 p-4 hover:bg-slate-50 sm:grid-cols-[5.5rem_minmax(0,1fr)_14rem_9rem] sm:items-center dark:hover:bg-slate-800/50"
    >
      <div className="row-span-3 aspect-video self-start overflow-hidden rounded bg-slate-100 ring-1 ring-slate-200 sm:row-span-1 sm:self-center dark:bg-slate-800 dark:ring-slate-700">
        {p.thumbnail_url ? (
          // biome-ignore lint/performance/noImgElement: external media from the stitch service
          <img
            src={mediaSrc(p.thumbnail_url)}
            alt=""
            className="size-full object-cover"
            loading="lazy"
          />
        ) : (
          <div className="flex size-full items-center justify-center text-slate-400 dark:text-slate-500">
            <Icon name="film" className="size-5" />
          </div>
        )}
      </div>
      <div className="min-w-0">
        {/* The link's box covers the row, so the whole row is one target and one tab stop. */}
        <Link
          href={`/projects/${p.id}`}
          className="font-medium text-slate-900 after:absolute after:inset-0 after:content-[''] hover:underline focus-visible:outline-none dark:text-slate-100 [&:focus-visible]:after:rounded-lg [&:focus-visible]:after:ring-2 [&:focus-visible]:after:ring-sky-500 [&:focus-visible]:after:ring-inset"
        >
          <span className="block truncate">{p.name}</span>
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-2">
          <ProjectStatusBadge status={p.status} />
          {p.stage !== p.status && (
            <span className="text-xs text-slate-600 dark:text-slate-300">{stageText(p.stage)}</span>
          )}
        </div>
      </div>
      <div className="min-w-0">
        <ProgressBar
          value={percent}
          label={`Progress of ${p.name}`}
          valueText={`${scenesDoneText(p)}; ${p.stage}`}
          tone={projectBarTone(p.status)}
        />
        <p className="mt-1 text-xs text-slate-600 tabular-nums dark:text-slate-300">
          {scenesDoneText(p)}
        </p>
      </div>
      <p className="text-xs text-slate-500 sm:text-right dark:text-slate-400">
        Updated <RelativeTime iso={p.updated_at} />
      </p>
    </li>
  );
}
