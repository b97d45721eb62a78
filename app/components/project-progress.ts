import type { ProjectStatus } from "@/lib/db/schema";
import type { BAR_CLASSES } from "./status";

type Counts = { status: ProjectStatus; scenes_completed: number; scenes_total: number };

/** The share of a project that is done, for its progress bar (stitching counts as the last step). */
export function projectPercent(p: Counts): number {
  if (p.status === "completed") return 100;
  if (p.scenes_total === 0) return 0;
  // Scenes are most of the work; stitching is the final tenth.
  const scenes = (p.scenes_completed / p.scenes_total) * 90;
  return p.status === "stitching" ? 95 : scenes;
}

export function projectBarTone(status: ProjectStatus): keyof typeof BAR_CLASSES {
  if (status === "completed") return "success";
  if (status === "failed") return "danger";
  if (status === "cancelled") return "neutral";
  if (status === "stitching") return "progress";
  return status === "draft" ? "neutral" : "info";
}

/** "Scene 2 of 3: video" — the API's `stage`, capitalised for display. */
export function stageText(stage: string): string {
  return stage.charAt(0).toUpperCase() + stage.slice(1);
}

export function scenesDoneText(p: Counts): string {
  return `${p.scenes_completed} of ${p.scenes_total} scene${p.scenes_total === 1 ? "" : "s"} done`;
}
