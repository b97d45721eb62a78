import { sql } from "drizzle-orm";
import {
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** The single source of the data model. `npm run db:generate` turns changes into a migration. */

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

export const JOB_KINDS = ["generate_video", "extract_last_frame", "stitch", "notify"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

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

export const WEBHOOK_SOURCES = [
  "video-complete",
  "last-frame-complete",
  "stitch-complete",
] as const;
export type WebhookSource = (typeof WEBHOOK_SOURCES)[number];

/** applied | duplicate | ignored | parked (task not known yet) | rejected (400/401/409/...) */
export const WEBHOOK_OUTCOMES = ["applied", "duplicate", "ignored", "parked", "rejected"] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

export const ERROR_TYPES = ["webhook", "service", "pipeline", "ratelimit", "system"] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];
export const ERROR_SEVERITIES = ["info", "warning", "error", "critical"] as const;
export type ErrorSeverity = (typeof ERROR_SEVERITIES)[number];

const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
};

export const projects = pgTable(
  "projects",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    status: text("status").$type<ProjectStatus>().notNull().default("draft"),
    startImageUrl: text("start_image_url"),
    finalVideoUrl: text("final_video_url"),
    thumbnailUrl: text("thumbnail_url"),
    duration: real("duration"),
    error: text("error"),
    /** Incremented by each retry; part of every job key so a retry gets fresh attempts. */
    run: integer("run").notNull().default(1),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [
    index("projects_created_at_idx").on(t.createdAt.desc(), t.id.desc()),
    index("projects_status_idx").on(t.status),
    // The live views' fallback poll looks for recently changed projects.
    index("projects_updated_at_idx").on(t.updatedAt),
  ],
);

export const scenes = pgTable(
  "scenes",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    prompt: text("prompt").notNull(),
    duration: real("duration").notNull(),
    status: text("status").$type<SceneStatus>().notNull().default("pending"),
    /** Most attempts any of its stages needed in this run (1 once its first request is queued; reset by retry). */
    attempts: integer("attempts").notNull().default(0),
    progress: integer("progress").notNull().default(0),
    videoUrl: text("video_url"),
    thumbnailUrl: text("thumbnail_url"),
    lastFrameUrl: text("last_frame_url"),
    startImageUrl: text("start_image_url"),
    error: text("error"),
    ...timestamps,
  },
  (t) => [uniqueIndex("scenes_project_number_uq").on(t.projectId, t.number)],
);

export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    kind: text("kind").$type<JobKind>().notNull(),
    /** kind:target:run:attempt — makes a second enqueue of the same step impossible. */
    key: text("key").notNull(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sceneId: text("scene_id").references(() => scenes.id, { onDelete: "cascade" }),
    status: text("status").$type<JobStatus>().notNull().default("queued"),
    /** Stage attempt (1..MAX_STAGE_ATTEMPTS) within the project's run. */
    attempt: integer("attempt").notNull().default(1),
    /** HTTP deliveries tried for this job (transient failures are retried with backoff). */
    deliveries: integer("deliveries").notNull().default(0),
    runAt: timestamp("run_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** While running: lease end (a crashed dispatcher's job is reclaimed after it). While waiting: callback deadline. */
    deadlineAt: timestamp("deadline_at", { withTimezone: true, mode: "date" }),
    externalTaskId: text("external_task_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    request: jsonb("request").$type<Record<string, unknown>>(),
    response: jsonb("response").$type<Record<string, unknown>>(),
    lastError: text("last_error"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("jobs_key_uq").on(t.key),
    index("jobs_due_idx").on(t.status, t.runAt),
    index("jobs_deadline_idx").on(t.status, t.deadlineAt),
    index("jobs_external_task_idx").on(t.externalTaskId),
    index("jobs_project_idx").on(t.projectId),
  ],
);

export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    source: text("source").$type<WebhookSource>().notNull(),
    /** webhook-id when given, else task:status. Null for rejected requests (never deduplicated). */
    dedupKey: text("dedup_key"),
    taskId: text("task_id"),
    jobId: text("job_id"),
    projectId: text("project_id"),
    sceneId: text("scene_id"),
    status: text("status"),
    outcome: text("outcome").$type<WebhookOutcome>().notNull(),
    reason: text("reason"),
    httpStatus: integer("http_status").notNull(),
    payload: jsonb("payload"),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
    appliedAt: timestamp("applied_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("webhook_events_dedup_uq").on(t.source, t.dedupKey),
    index("webhook_events_parked_idx").on(t.source, t.taskId).where(sql`${t.outcome} = 'parked'`),
    index("webhook_events_project_idx").on(t.projectId, t.id.desc()),
    // Newest-first listing walks the primary key backwards: no index of its own.
  ],
);

export const errorLog = pgTable(
  "error_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    type: text("type").$type<ErrorType>().notNull(),
    severity: text("severity").$type<ErrorSeverity>().notNull(),
    message: text("message").notNull(),
    context: jsonb("context").$type<Record<string, unknown>>().notNull().default({}),
    projectId: text("project_id"),
    dismissedAt: timestamp("dismissed_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  // Newest-first listing walks the primary key backwards: no index of its own.
  (t) => [index("error_log_project_idx").on(t.projectId, t.id.desc())],
);

export type Project = typeof projects.$inferSelect;
export type Scene = typeof scenes.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type WebhookEvent = typeof webhookEvents.$inferSelect;
export type ErrorLogEntry = typeof errorLog.$inferSelect;
