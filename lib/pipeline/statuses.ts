/**
 * The domain's vocabularies, owned by the pipeline core (pure: no imports). The drizzle
 * schema imports them for its column types and CHECK constraints.
 */

export const PROJECT_STATUSES = [
  "draft",
  "generating",
  "stitching",
  "completed",
  "failed",
  "cancelled",
] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export const SCENE_STATUSES = [
  "pending",
  "generating_video",
  "extracting_frame",
  "completed",
  "failed",
] as const;
export type SceneStatus = (typeof SCENE_STATUSES)[number];

/**
 * chain: each scene starts from the previous scene's last frame, one after another.
 * independent: every scene from the project's start image, several at once, no last frame.
 */
export const CONTINUITY_MODES = ["chain", "independent"] as const;
export type Continuity = (typeof CONTINUITY_MODES)[number];

/** What a re-shoot generates again: the scene only, or it and every later scene. */
export const REGENERATE_SCOPES = ["scene", "following"] as const;
export type RegenerateScope = (typeof REGENERATE_SCOPES)[number];

export const JOB_KINDS = ["generate_video", "extract_last_frame", "stitch", "notify"] as const;
export type JobKind = (typeof JOB_KINDS)[number];
/** The job kinds a service answers with a callback. */
export type StageKind = Exclude<JobKind, "notify">;

/**
 * queued → running (request in flight) → waiting (service accepted, callback due by deadline_at)
 * → succeeded | failed; or cancelled. Notify jobs go running → succeeded directly.
 * `dead` = the request itself could not be delivered after every retry.
 */
export const JOB_STATUSES = [
  "queued",
  "running",
  "waiting",
  "succeeded",
  "failed",
  "cancelled",
  "dead",
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE_JOB_STATUSES = ["queued", "running", "waiting"] as const satisfies JobStatus[];

export const WEBHOOK_SOURCES = [
  "video-complete",
  "last-frame-complete",
  "stitch-complete",
] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** The callback source that completes each stage kind. */
export const SOURCE_OF_KIND: Record<StageKind, WebhookSource> = {
  generate_video: "video-complete",
  extract_last_frame: "last-frame-complete",
  stitch: "stitch-complete",
};

/** applied | duplicate | ignored | parked (task not known yet) | rejected (400/401/409/...) */
export const WEBHOOK_OUTCOMES = ["applied", "duplicate", "ignored", "parked", "rejected"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

export const ERROR_TYPES = ["webhook", "service", "pipeline", "ratelimit", "system"] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];
export const ERROR_SEVERITIES = ["info", "warning", "error", "critical"] as const;
export type ErrorSeverity = (typeof ERROR_SEVERITIES)[number];
