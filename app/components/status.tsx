import type { ProjectStatus, SceneStatus, WebhookOutcome } from "@/lib/db/schema";
import { Icon, type IconName } from "./icons";

/** How each status reads: words and an icon first, colour only as a second cue. */
type Look = { label: string; icon: IconName; tone: Tone; spin?: boolean };
type Tone = "neutral" | "info" | "progress" | "success" | "danger" | "warning";

export const PROJECT_STATUS_LOOK: Record<ProjectStatus, Look> = {
  draft: { label: "Draft", icon: "pencil", tone: "neutral" },
  generating: { label: "Generating", icon: "spinner", tone: "info", spin: true },
  stitching: { label: "Stitching", icon: "layers", tone: "progress" },
  completed: { label: "Completed", icon: "checkCircle", tone: "success" },
  failed: { label: "Failed", icon: "xCircle", tone: "danger" },
  // A user's own decision, not a fault: neutral, never the colours of a failure.
  cancelled: { label: "Cancelled", icon: "slashCircle", tone: "neutral" },
};

/**
 * What a scene shows. The contract's statuses, plus two the page derives for a cancelled
 * project (the pipeline marks the scene in flight `failed` with "Cancelled by user" and
 * leaves the rest `pending`): the one that was stopped, and those never reached.
 */
export type SceneDisplayStatus = SceneStatus | "cancelled" | "skipped";

export const SCENE_STATUS_LOOK: Record<SceneDisplayStatus, Look> = {
  pending: { label: "Waiting", icon: "clock", tone: "neutral" },
  generating_video: { label: "Generating video", icon: "film", tone: "info" },
  extracting_frame: { label: "Extracting last frame", icon: "image", tone: "progress" },
  completed: { label: "Done", icon: "checkCircle", tone: "success" },
  failed: { label: "Failed", icon: "xCircle", tone: "danger" },
  cancelled: { label: "Cancelled", icon: "slashCircle", tone: "neutral" },
  skipped: { label: "Skipped", icon: "minusCircle", tone: "neutral" },
};

/** A scene's status as shown: in a cancelled project, unfinished scenes read cancelled or skipped. */
export function sceneDisplayStatus(
  scene: { status: SceneStatus; attempts: number },
  projectStatus: ProjectStatus,
): SceneDisplayStatus {
  if (projectStatus !== "cancelled" || scene.status === "completed") return scene.status;
  return scene.status === "pending" && scene.attempts === 0 ? "skipped" : "cancelled";
}

export const OUTCOME_LOOK: Record<WebhookOutcome, Look> = {
  applied: { label: "Applied", icon: "check", tone: "success" },
  duplicate: { label: "Duplicate", icon: "copy", tone: "neutral" },
  ignored: { label: "Ignored", icon: "minusCircle", tone: "warning" },
  parked: { label: "Parked", icon: "pause", tone: "info" },
  rejected: { label: "Rejected", icon: "xCircle", tone: "danger" },
};

export const TONE_CLASSES: Record<Tone, string> = {
  neutral:
    "bg-slate-100 text-slate-700 ring-slate-300 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-600",
  info: "bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-800",
  progress:
    "bg-violet-50 text-violet-800 ring-violet-300 dark:bg-violet-950 dark:text-violet-200 dark:ring-violet-800",
  success:
    "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
  danger: "bg-red-50 text-red-800 ring-red-300 dark:bg-red-950 dark:text-red-200 dark:ring-red-800",
  warning:
    "bg-amber-50 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800",
};

export const BAR_CLASSES: Record<Tone, string> = {
  neutral: "bg-slate-400",
  info: "bg-sky-500",
  progress: "bg-violet-500",
  success: "bg-emerald-500",
  danger: "bg-red-500",
  warning: "bg-amber-500",
};

export function Badge({ look, className = "" }: { look: Look; className?: string }) {
  return (
    <span
      className={`inline-flex items-center gap-1 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONE_CLASSES[look.tone]} ${className}`}
    >
      <Icon
        name={look.icon}
        className={`size-3.5 ${look.spin ? "motion-safe:animate-spin" : ""}`}
      />
      {look.label}
    </span>
  );
}

export function ProjectStatusBadge({ status }: { status: ProjectStatus }) {
  return <Badge look={PROJECT_STATUS_LOOK[status]} />;
}

export function SceneStatusBadge({ status }: { status: SceneDisplayStatus }) {
  return <Badge look={SCENE_STATUS_LOOK[status]} />;
}

export function OutcomeBadge({ outcome }: { outcome: WebhookOutcome }) {
  return <Badge look={OUTCOME_LOOK[outcome]} />;
}
