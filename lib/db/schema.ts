import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import {
  CONTINUITY_MODES,
  type Continuity,
  ERROR_SEVERITIES,
  ERROR_TYPES,
  type ErrorSeverity,
  type ErrorType,
  JOB_KINDS,
  JOB_STATUSES,
  type JobKind,
  type JobStatus,
  PROJECT_STATUSES,
  type ProjectStatus,
  SCENE_STATUSES,
  type SceneStatus,
  WEBHOOK_OUTCOMES,
  WEBHOOK_SOURCES,
  type WebhookOutcome,
  type WebhookSource,
} from "../pipeline/statuses";
import {
  DELIVERY_STATUSES,
  type DeliveryStatus,
  EVENT_TYPES,
  type EventType,
} from "../subscriptions/vocabulary";

/** The single source of the data model. `npm run db:generate` turns changes into a migration. */

// Relative, not "@/": drizzle-kit loads this file without the path alias.
export * from "../pipeline/statuses";

/** `column IN ('a', 'b', …)` for a CHECK constraint: the database refuses what the domain does not know. */
const oneOf = (column: AnyPgColumn, values: readonly string[]) =>
  sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(", "))})`;

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
    /**
     * Bumped by every write to the project's pipeline state. Writers check it (optimistic
     * concurrency): a decision made on a state that changed meanwhile is decided again.
     */
    version: integer("version").notNull().default(0),
    /** The `sequence` of the project's latest event (project_events), increasing per project. */
    eventSequence: integer("event_sequence").notNull().default(0),
    continuity: text("continuity").$type<Continuity>().notNull().default("chain"),
    completedAt: timestamp("completed_at", { withTimezone: true, mode: "date" }),
    ...timestamps,
  },
  (t) => [
    index("projects_created_at_idx").on(t.createdAt.desc(), t.id.desc()),
    index("projects_status_idx").on(t.status),
    // No index on updated_at: every pipeline write touches it, and an indexed column makes
    // each of those updates non-HOT. The live views' fallback poll scans instead (see events.ts).
    check("projects_status_ck", oneOf(t.status, PROJECT_STATUSES)),
    check("projects_continuity_ck", oneOf(t.continuity, CONTINUITY_MODES)),
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
    /** Generations of this scene that completed (scene_takes rows); the next one is takes + 1. */
    takes: integer("takes").notNull().default(0),
    /** The take whose video (and last frame) the scene shows and the stitch uses. */
    selectedTake: integer("selected_take"),
    progress: integer("progress").notNull().default(0),
    videoUrl: text("video_url"),
    thumbnailUrl: text("thumbnail_url"),
    lastFrameUrl: text("last_frame_url"),
    startImageUrl: text("start_image_url"),
    error: text("error"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("scenes_project_number_uq").on(t.projectId, t.number),
    check("scenes_status_ck", oneOf(t.status, SCENE_STATUSES)),
  ],
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
    // One index for "a step is queued once" and for a project's jobs (cancel, views): the key
    // names its project already, so unique per project is unique. Every index of `jobs` gets an
    // entry per insert and per (never HOT) status change, three per stage.
    uniqueIndex("jobs_project_key_uq").on(t.projectId, t.key),
    // Partial indexes: the claim and the deadline sweep walk only live entries, not the
    // thousands of finished jobs a busy table accumulates.
    index("jobs_due_idx").on(t.runAt).where(sql`${t.status} = 'queued'`),
    index("jobs_lease_idx").on(t.deadlineAt).where(sql`${t.status} = 'running'`),
    index("jobs_deadline_idx").on(t.deadlineAt).where(sql`${t.status} = 'waiting'`),
    // Partial: a job has no task id until its submission is recorded, and a null entry per
    // insert and per (never HOT) status update is index work no lookup uses.
    index("jobs_external_task_idx")
      .on(t.externalTaskId)
      .where(sql`${t.externalTaskId} is not null`),
    check("jobs_kind_ck", oneOf(t.kind, JOB_KINDS)),
    check("jobs_status_ck", oneOf(t.status, JOB_STATUSES)),
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
    /** A parked callback's normalised pipeline event, applied once its task is recorded. */
    event: jsonb("event").$type<Record<string, unknown>>(),
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
    check("webhook_events_source_ck", oneOf(t.source, WEBHOOK_SOURCES)),
    check("webhook_events_outcome_ck", oneOf(t.outcome, WEBHOOK_OUTCOMES)),
  ],
);

/**
 * Where parking a callback and recording its task's submission meet (lib/pipeline/store.ts):
 * both write this row by its key with ON CONFLICT, which waits for and sees the other's row
 * even when it committed after the statement's snapshot — so whichever of the two comes
 * second knows the other happened, and no timed second look is needed. Rows are short-lived:
 * the sweep deletes them once the submission is recorded. UNLOGGED (migration 0010): no WAL;
 * a crash loses them, and then the sweep's net applies what was parked.
 */
export const taskHandshakes = pgTable(
  "task_handshakes",
  {
    source: text("source").$type<WebhookSource>().notNull(),
    taskId: text("task_id").notNull(),
    parked: boolean("parked").notNull().default(false),
    submitted: boolean("submitted").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.source, t.taskId] })],
);

/**
 * What happened to a project, one row per change (CONTRACT §6), written in the same statement
 * as the change. The id is the event's stable `webhook-id` for subscribers.
 */
/** Every completed generation of a scene, kept: users compare takes and pick one (CONTRACT §7). */
export const sceneTakes = pgTable(
  "scene_takes",
  {
    sceneId: text("scene_id")
      .notNull()
      .references(() => scenes.id, { onDelete: "cascade" }),
    take: integer("take").notNull(),
    prompt: text("prompt").notNull(),
    duration: real("duration").notNull(),
    videoUrl: text("video_url").notNull(),
    thumbnailUrl: text("thumbnail_url"),
    lastFrameUrl: text("last_frame_url"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sceneId, t.take] })],
);

/** Every final video a project had, newest last (a re-shoot or a new take stitches again). */
export const finalVideos = pgTable(
  "final_videos",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("final_videos_project_idx").on(t.projectId, t.id)],
);

export const projectEvents = pgTable(
  "project_events",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    sequence: integer("sequence").notNull(),
    type: text("type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("project_events_project_sequence_uq").on(t.projectId, t.sequence)],
);

/**
 * Users' endpoints subscribed to project events (CONTRACT §6). `events` null = every type.
 * The secret signs; during a rotation's overlap the previous one signs too, until it expires.
 */
export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  events: text("events").array().$type<EventType[]>(),
  description: text("description"),
  enabled: boolean("enabled").notNull().default(true),
  secret: text("secret").notNull(),
  previousSecret: text("previous_secret"),
  previousSecretExpiresAt: timestamp("previous_secret_expires_at", {
    withTimezone: true,
    mode: "date",
  }),
  /** First failed attempt since the last success: past SUBSCRIPTION_DISABLE_AFTER_HOURS, disabled. */
  failingSince: timestamp("failing_since", { withTimezone: true, mode: "date" }),
  lastSuccessAt: timestamp("last_success_at", { withTimezone: true, mode: "date" }),
  disabledReason: text("disabled_reason"),
  disabledAt: timestamp("disabled_at", { withTimezone: true, mode: "date" }),
  ...timestamps,
});

/**
 * One event to one endpoint: queued in the same statement as the event (fan-out in
 * lib/pipeline/store.ts), claimed like a job (SKIP LOCKED, lease), retried on the schedule.
 * A project event's body is read from project_events (event_id); a test ping carries its own.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** The webhook-id: the project_events id, or a test ping's own; the same for every attempt and resend. */
    eventId: text("event_id").notNull(),
    eventType: text("event_type").$type<EventType>().notNull(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    projectId: text("project_id"),
    /** A test ping's `data` (project events are read from project_events). */
    data: jsonb("data").$type<Record<string, unknown>>(),
    /** The delivery this one sends again (resend), if any. */
    resendOf: integer("resend_of"),
    status: text("status").$type<DeliveryStatus>().notNull().default("queued"),
    /** Attempts made (a claim counts one). */
    attempt: integer("attempt").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date" })
      .notNull()
      .defaultNow(),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true, mode: "date" }),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true, mode: "date" }),
    responseStatus: integer("response_status"),
    durationMs: integer("duration_ms"),
    /** The answer's first 64 KiB. */
    responseBody: text("response_body"),
    error: text("error"),
    ...timestamps,
  },
  (t) => [
    index("webhook_deliveries_due_idx")
      .on(t.endpointId, t.nextAttemptAt)
      .where(sql`${t.status} = 'queued'`),
    index("webhook_deliveries_lease_idx")
      .on(t.endpointId, t.leaseExpiresAt)
      .where(sql`${t.status} = 'running'`),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id.desc()),
    index("webhook_deliveries_event_idx").on(t.eventId),
    check("webhook_deliveries_status_ck", oneOf(t.status, DELIVERY_STATUSES)),
    check("webhook_deliveries_type_ck", oneOf(t.eventType, EVENT_TYPES)),
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
    /** Occurrences this row stands for: refused requests are logged in aggregate (refusals.ts). */
    count: integer("count").notNull().default(1),
    /** source|address|status|reason|minute of an aggregate row; null for a single error. */
    aggregateKey: text("aggregate_key"),
    dismissedAt: timestamp("dismissed_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  // Newest-first listing walks the primary key backwards: no index of its own.
  (t) => [
    index("error_log_project_idx").on(t.projectId, t.id.desc()),
    uniqueIndex("error_log_aggregate_uq").on(t.aggregateKey),
    check("error_log_type_ck", oneOf(t.type, ERROR_TYPES)),
    check("error_log_severity_ck", oneOf(t.severity, ERROR_SEVERITIES)),
  ],
);

export type Project = typeof projects.$inferSelect;
export type Scene = typeof scenes.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type WebhookEvent = typeof webhookEvents.$inferSelect;
export type ErrorLogEntry = typeof errorLog.$inferSelect;
export type ProjectEvent = typeof projectEvents.$inferSelect;
export type SceneTake = typeof sceneTakes.$inferSelect;
export type FinalVideo = typeof finalVideos.$inferSelect;
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
