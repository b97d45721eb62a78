import type { ProjectView } from "@/lib/projects/serialize";
import { mediaSrc } from "./media-src";
import { RelativeTime } from "./relative-time";

/**
 * Every final video the project has had, newest first (CONTRACT §7: a re-shoot or a take
 * selection stitches a new one and the earlier ones stay listed). Shown once there is more
 * than one, or while the current one is not on show (a re-shoot is running).
 */
export function FinalVideoHistory({
  project,
}: {
  project: Pick<ProjectView, "status" | "final_video_url" | "final_videos">;
}) {
  const showingCurrent = project.status === "completed" && Boolean(project.final_video_url);
  const versions = project.final_videos
    .map((video, i) => ({ ...video, version: i + 1 }))
    .filter((v): v is typeof v & { url: string } => Boolean(v.url))
    .reverse();
  if (versions.length === 0 || (showingCurrent && versions.length < 2)) return null;
  // The newest entry with the project's URL is the one on show.
  const current = showingCurrent
    ? versions.find((v) => v.url === project.final_video_url)?.version
    : undefined;
  return (
    <section aria-labelledby="final-history-heading" className="space-y-2" data-final-history>
      <h2 id="final-history-heading" className="text-base font-semibold">
        {showingCurrent ? "Every final video" : "Earlier final videos"}
      </h2>
      <ol className="max-w-3xl divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
        {versions.map((v) => (
          <li
            key={v.version}
            data-final-version={v.version}
            aria-current={v.version === current ? "true" : undefined}
            className="flex flex-wrap items-center justify-between gap-x-3 gap-y-1 px-3 py-2"
          >
            <a
              href={mediaSrc(v.url)}
              target="_blank"
              rel="noreferrer noopener"
              className="text-sky-700 underline dark:text-sky-400"
            >
              Version {v.version}
            </a>
            <span className="flex items-center gap-2 text-xs text-slate-600 dark:text-slate-300">
              {v.version === current && (
                <span className="rounded bg-sky-100 px-1.5 py-0.5 font-medium text-sky-800 dark:bg-sky-950 dark:text-sky-300">
                  Current
                </span>
              )}
              <RelativeTime iso={v.created_at} />
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
