import "server-only";
import type { SqlRunner } from "@/lib/db/client";
import { newId } from "@/lib/ids";
import { metrics } from "@/lib/observability/metrics";
import { DELIVERIES_CHANNEL } from "@/lib/subscriptions/vocabulary";
import type {
  Continuity,
  JobKind,
  JobStatus,
  ProjectStatus,
  SceneStatus,
  WebhookSource,
} from "./statuses";
import {
  type Decision,
  type Guarded,
  type JobState,
  jobKey,
  type PipelineState,
  type SceneState,
} from "./transition";

/**
 * The pipeline's hot-path SQL, written by hand and sent as prepared statements (see
 * SqlRunner). A pipeline event costs two statements and no transaction:
 *
 *   load  — the project, the job the event is about, and the scenes, in one snapshot;
 *   write — one statement (CTE) that records the event, bumps the project's version,
 *           applies every compare-and-set update and inserts the next jobs.
 *
 * Concurrency is optimistic: every write bumps `projects.version` and requires the version it
 * loaded, so a decision made on a state that changed meanwhile writes nothing — the guard
 * function raises, the whole statement rolls back, and the caller decides again on a fresh
 * load (`WriteConflict`). The per-row status guards stay as a second line (a job's
 * running → waiting is recorded without a version bump). Unique job keys make a second
 * enqueue of one step impossible, as before.
 */

/** Channels woken at commit: the live views (payload: project id) and the dispatchers (job id). */
export const PROJECT_CHANNEL = "framechain_project";
export const JOBS_CHANNEL = "framechain_jobs";

/** A job a write inserted already claimed for this thread: what its delivery needs. */
export type ClaimedNewJob = {
  id: string;
  kind: JobKind;
  projectId: string;
  sceneId: string | null;
  attempt: number;
  payload: Record<string, unknown>;
};

/**
 * Claim in the write, where this thread's process delivers what it queues (set by
 * lib/jobs/schedule.ts): the write inserts its new jobs already claimed — `running`, leased,
 * their first delivery counted, no NOTIFY — and hands them to `deliver` once it has
 * committed, so a stage needs no claim statement and no wake-up hop. `reserve` bounds the
 * deliveries handed out and not finished yet; past that bound, and where no hand-off is set
 * (a web process whose jobs another process delivers), jobs are queued with a NOTIFY. A
 * process that dies between the write and the delivery leaves its jobs leased: the sweep
 * reclaims them when the lease ends, as it does a delivery cut off half-way.
 */
export type JobHandOff = {
  leaseSeconds(): number;
  reserve(count: number): boolean;
  release(count: number): void;
  deliver(jobs: ClaimedNewJob[]): void;
};
// On globalThis: Next bundles instrumentation and route handlers apart, each with its own
// copy of this module, and the hand-off is set from the one and used by the other.
const slot = globalThis as unknown as { __framechainJobHandOff?: JobHandOff | null };

export function setJobHandOff(next: JobHandOff | null) {
  slot.__framechainJobHandOff = next;
}

/** A write found its state changed since it was loaded: decide again. */
export class WriteConflict extends Error {
  constructor(what: string) {
    super(`${what} changed underneath this write; nothing was written`);
    this.name = "WriteConflict";
  }
}

export type Loaded = { state: PipelineState; version: number; jobTaskId: string | null };

/** What a state is decided with besides the rows: the time and the limits in force. */
export type Settings = Pick<PipelineState, "now" | "maxAttempts" | "maxParallel">;

type Row = {
  id: string;
  name: string;
  status: ProjectStatus;
  run: number;
  start_image_url: string | null;
  continuity: Continuity;
  version: number;
  job_id: string | null;
  job_kind: JobKind | null;
  job_project_id: string | null;
  job_scene_id: string | null;
  job_status: JobStatus | null;
  job_attempt: number | null;
  job_payload: Record<string, unknown> | null;
  job_task_id: string | null;
  scene_id: string | null;
  number: number | null;
  prompt: string | null;
  duration: number | null;
  scene_status: SceneStatus | null;
  attempts: number | null;
  progress: number | null;
  video_url: string | null;
  thumbnail_url: string | null;
  last_frame_url: string | null;
  takes: number | null;
};

const STATE_COLUMNS = `p.id, p.name, p.status, p.run, p.start_image_url, p.continuity, p.version,
  s.id as scene_id, s.number, s.prompt, s.duration, s.status as scene_status, s.attempts,
  s.progress, s.video_url, s.thumbnail_url, s.last_frame_url, s.takes`;

/** By our job id (the signed `ref`) when it names a job, else by the task id the service returned. */
const LOAD_BY_JOB = `with j as (
  select * from jobs where id = coalesce(
    (select id from jobs where id = $1),
    (select id from jobs where external_task_id = $2 and kind = $3 order by created_at desc limit 1)))
select ${STATE_COLUMNS}, j.id as job_id, j.kind as job_kind, j.project_id as job_project_id,
  j.scene_id as job_scene_id, j.status as job_status, j.attempt as job_attempt,
  j.payload as job_payload, j.external_task_id as job_task_id
from j join projects p on p.id = j.project_id
left join scenes s on s.project_id = p.id
order by s.number`;

const LOAD_BY_PROJECT = `select ${STATE_COLUMNS}
from projects p left join scenes s on s.project_id = p.id
where p.id = $1
order by s.number`;

export async function loadByJob(
  run: SqlRunner,
  find: { jobId: string | null; taskId: string | null; kind: JobKind | null },
  settings: Settings,
): Promise<Loaded | null> {
  const rows = await run.query<Row>(LOAD_BY_JOB, [find.jobId, find.taskId, find.kind]);
  return toLoaded(rows, settings);
}

export async function loadByProject(
  run: SqlRunner,
  projectId: string,
  settings: Settings,
): Promise<Loaded | null> {
  const rows = await run.query<Row>(LOAD_BY_PROJECT, [projectId]);
  return toLoaded(rows, settings);
}

function toLoaded(rows: Row[], settings: Settings): Loaded | null {
  const first = rows[0];
  if (!first) return null;
  const scenes: SceneState[] = [];
  for (const r of rows) {
    if (r.scene_id === null) continue;
    scenes.push({
      id: r.scene_id,
      number: r.number!,
      prompt: r.prompt!,
      duration: Number(r.duration),
      status: r.scene_status!,
      attempts: r.attempts!,
      progress: r.progress!,
      videoUrl: r.video_url,
      thumbnailUrl: r.thumbnail_url,
      lastFrameUrl: r.last_frame_url,
      takes: r.takes ?? 0,
    });
  }
  const job: JobState | undefined = first.job_id
    ? {
        id: first.job_id,
        kind: first.job_kind!,
        projectId: first.job_project_id!,
        sceneId: first.job_scene_id,
        status: first.job_status!,
        attempt: first.job_attempt!,
        payload: first.job_payload ?? {},
      }
    : undefined;
  return {
    state: {
      project: {
        id: first.id,
        name: first.name,
        status: first.status,
        run: first.run,
        startImageUrl: first.start_image_url,
        continuity: first.continuity,
      },
      scenes,
      job,
      ...settings,
    },
    version: Number(first.version),
    jobTaskId: first.job_task_id,
  };
}

/** The inbound event a write records with its final outcome, in the same statement. */
export type EventRecord =
  | {
      /** A callback seen for the first time: inserted; a duplicate (source, dedup_key) writes nothing. */
      insert: {
        source: WebhookSource;
        dedupKey: string;
        taskId: string;
        status: string;
        payload: unknown;
      };
    }
  | { /** A parked callback, now applied: written only if it is still parked. */ unpark: number };

/** `queuedJobIds`: jobs queued for a dispatcher to claim (none when the write claimed them itself). */
export type WriteResult = { recorded: boolean; queuedJobIds: string[] };

type Applied = Extract<Decision, { outcome: "applied" }>;

/** Column name and SQL type of each patchable field, in the order they are written. */
const PROJECT_FIELDS = {
  status: ["status", "text"],
  run: ["run", "int"],
  finalVideoUrl: ["final_video_url", "text"],
  thumbnailUrl: ["thumbnail_url", "text"],
  duration: ["duration", "real"],
  error: ["error", "text"],
  completedAt: ["completed_at", "timestamptz"],
} as const;
const SCENE_FIELDS = {
  status: ["status", "text"],
  prompt: ["prompt", "text"],
  duration: ["duration", "real"],
  takes: ["takes", "int"],
  selectedTake: ["selected_take", "int"],
  attempts: ["attempts", "int"],
  progress: ["progress", "int"],
  videoUrl: ["video_url", "text"],
  thumbnailUrl: ["thumbnail_url", "text"],
  lastFrameUrl: ["last_frame_url", "text"],
  startImageUrl: ["start_image_url", "text"],
  error: ["error", "text"],
} as const;
const JOB_FIELDS = {
  status: ["status", "text"],
  lastError: ["last_error", "text"],
} as const;

/**
 * Writes an applied decision in one statement. The SQL text depends only on the decision's
 * shape (which fields, how many scenes and jobs), so each shape is prepared once per
 * connection. Throws WriteConflict when the state changed since `loaded`.
 */
export async function writeDecision(
  run: SqlRunner,
  loaded: Loaded,
  decision: Applied,
  options: { event?: EventRecord; jobTaskId?: string } = {},
): Promise<WriteResult> {
  const params: unknown[] = [];
  const $ = (value: unknown, type: string) => {
    params.push(value instanceof Date ? value.toISOString() : value);
    return `$${params.length}::${type}`;
  };
  const { state } = loaded;
  const projectId = state.project.id;
  const ctes: string[] = [];
  const guards: string[] = [];
  const after = (name: string) => `exists (select 1 from ${name})`;

  const event = options.event;
  if (event && "insert" in event) {
    const e = event.insert;
    const job = state.job;
    ctes.push(`ev as (insert into webhook_events
      (source, dedup_key, task_id, job_id, project_id, scene_id, status, outcome, reason, http_status, payload, applied_at)
      values (${$(e.source, "text")}, ${$(e.dedupKey, "text")}, ${$(e.taskId, "text")}, ${$(job?.id ?? null, "text")},
        ${$(projectId, "text")}, ${$(job?.sceneId ?? null, "text")}, ${$(e.status, "text")}, 'applied',
        ${$(decision.log, "text")}, 200, ${$(JSON.stringify(e.payload ?? null), "jsonb")}, now())
      on conflict (source, dedup_key) do nothing returning id)`);
  } else if (event) {
    const job = state.job;
    ctes.push(`ev as (update webhook_events set outcome = 'applied',
      reason = ${$(`${decision.log} (applied after its task was recorded)`, "text")},
      job_id = ${$(job?.id ?? null, "text")}, project_id = ${$(projectId, "text")},
      scene_id = ${$(job?.sceneId ?? null, "text")}, applied_at = now()
      where id = ${$(event.unpark, "bigint")} and outcome = 'parked' returning id)`);
  }

  const projectSet = setList(decision.project?.patch ?? {}, PROJECT_FIELDS, $);
  const emitted = decision.events.length;
  const sequence = emitted ? `, event_sequence = event_sequence + ${emitted}` : "";
  ctes.push(`p as (update projects set version = version + 1, updated_at = now()${projectSet}${sequence}
    where id = ${$(projectId, "text")} and version = ${$(loaded.version, "int")}
    ${decision.project ? `and status = ${$(decision.project.expect, "text")}` : ""}
    ${event ? `and ${after("ev")}` : ""}
    returning pg_notify('${PROJECT_CHANNEL}', id) as notified, event_sequence)`);
  guards.push(`${after("p")}`);
  if (emitted) {
    // Numbered from the project row this statement just updated (and so holds): no gaps, no
    // two events with one number.
    const values = decision.events.map(
      (e, i) =>
        `(${$(newId("evt"), "text")}, ${i + 1}, ${$(e.type, "text")}, ${$(JSON.stringify(e.data), "jsonb")})`,
    );
    ctes.push(`pe as (insert into project_events (id, project_id, sequence, type, data)
      select v.id, ${$(projectId, "text")}, (select event_sequence from p) - ${emitted} + v.ord, v.type, v.data
      from (values ${values.join(", ")}) as v (id, ord, type, data)
      where ${after("p")}
      returning id, type)`);
    guards.push(`(select count(*) from pe) = ${emitted}`);
    // Outgoing webhooks (CONTRACT §6): one delivery per event and enabled endpoint subscribed
    // to its type, queued by this same statement (no extra round trip); the NOTIFY wakes the
    // delivery loop (lib/jobs/deliveries.ts) at commit.
    ctes.push(`wd as (insert into webhook_deliveries (event_id, event_type, endpoint_id, project_id)
      select pe.id, pe.type, w.id, ${$(projectId, "text")}
      from pe join webhook_endpoints w on w.enabled and (w.events is null or pe.type = any (w.events))
      returning pg_notify('${DELIVERIES_CHANNEL}', ''))`);
  }

  decision.scenes.forEach((change, i) => {
    ctes.push(guardedUpdate(`s${i}`, "scenes", change, SCENE_FIELDS, $, after("p")));
    guards.push(`(select count(*) from s${i}) = 1`);
  });
  if (decision.job) {
    const taskId = options.jobTaskId
      ? `, external_task_id = coalesce(external_task_id, ${$(options.jobTaskId, "text")})`
      : "";
    ctes.push(guardedUpdate("j", "jobs", decision.job, JOB_FIELDS, $, after("p"), taskId));
    guards.push(`(select count(*) from j) = 1`);
  }
  if (decision.cancelActiveJobs) {
    // Not the job this decision updates itself: one statement must not update a row twice.
    const own = decision.job ? `and id <> ${$(decision.job.id, "text")}` : "";
    ctes.push(`c as (update jobs set status = 'cancelled', updated_at = now()
      where project_id = ${$(projectId, "text")} and status in ('queued', 'running', 'waiting')
      ${own} and ${after("p")} returning 1)`);
  }
  if (decision.takes?.length) {
    const values = decision.takes.map(
      (t) =>
        `(${$(t.sceneId, "text")}, ${$(t.take, "int")}, ${$(t.prompt, "text")}, ${$(t.duration, "real")},
        ${$(t.videoUrl, "text")}, ${$(t.thumbnailUrl, "text")}, ${$(t.lastFrameUrl, "text")})`,
    );
    ctes.push(`tk as (insert into scene_takes
      (scene_id, take, prompt, duration, video_url, thumbnail_url, last_frame_url)
      select * from (values ${values.join(", ")}) as v where ${after("p")} returning 1)`);
    guards.push(`(select count(*) from tk) = ${decision.takes.length}`);
  }
  if (decision.finalVideo) {
    ctes.push(`fv as (insert into final_videos (project_id, url)
      select ${$(projectId, "text")}, ${$(decision.finalVideo, "text")} where ${after("p")} returning 1)`);
    guards.push("(select count(*) from fv) = 1");
  }
  const newJobs: ClaimedNewJob[] = [];
  const handOff = slot.__framechainJobHandOff;
  const claimedBy =
    decision.enqueue.length && handOff?.reserve(decision.enqueue.length) ? handOff : null;
  if (decision.enqueue.length) {
    const run_ = decision.project?.patch.run ?? state.project.run;
    const values = decision.enqueue.map((spec) => {
      const id = newId("job");
      newJobs.push({
        id,
        kind: spec.kind,
        projectId,
        sceneId: spec.sceneId,
        attempt: spec.attempt,
        payload: spec.payload,
      });
      return `(${$(id, "text")}, ${$(spec.kind, "text")}, ${$(jobKey(projectId, run_, spec), "text")},
        ${$(spec.sceneId, "text")}, ${$(spec.attempt, "int")}, ${$(JSON.stringify(spec.payload), "jsonb")})`;
    });
    const claim = claimedBy
      ? {
          columns: ", status, deliveries, deadline_at",
          values: `, 'running', 1, now() + make_interval(secs => ${$(claimedBy.leaseSeconds(), "float8")})`,
          returning: "1",
        }
      : { columns: "", values: "", returning: `pg_notify('${JOBS_CHANNEL}', id)` };
    // No ON CONFLICT: queuing a step twice is a bug, and the unique key turns it into a rollback.
    ctes.push(`n as (insert into jobs (id, kind, key, project_id, scene_id, attempt, payload, run_at${claim.columns})
      select v.id, v.kind, v.key, ${$(projectId, "text")}, v.scene_id, v.attempt, v.payload, now()${claim.values}
      from (values ${values.join(", ")}) as v (id, kind, key, scene_id, attempt, payload)
      where ${after("p")}
      returning ${claim.returning})`);
    guards.push(`(select count(*) from n) = ${decision.enqueue.length}`);
  }

  const recorded = event ? `(select count(*) from ev)::int` : "1";
  const mustApply = event ? `not ${after("ev")} or ` : "";
  const text = `with ${ctes.join(",\n")}
select ${recorded} as recorded,
  framechain_guard(${mustApply}(${guards.join(" and ")}), ${$(`project ${projectId}`, "text")}) as guarded`;

  let rows: { recorded: number }[];
  try {
    rows = await run.query<{ recorded: number }>(text, params);
  } catch (error) {
    claimedBy?.release(newJobs.length);
    if ((error as { code?: string }).code === "FC409")
      throw new WriteConflict(`project ${projectId}`);
    throw error;
  }
  const wasRecorded = Number(rows[0]?.recorded ?? 0) > 0;
  if (wasRecorded)
    for (const job of newJobs) metrics.jobCreated(job.kind, claimedBy ? "handed_off" : "queued");
  if (!wasRecorded || !claimedBy) {
    claimedBy?.release(newJobs.length);
    return { recorded: wasRecorded, queuedJobIds: wasRecorded ? newJobs.map((j) => j.id) : [] };
  }
  claimedBy.deliver(newJobs);
  return { recorded: true, queuedJobIds: [] };
}

function guardedUpdate(
  name: string,
  table: "scenes" | "jobs",
  change: Guarded<Record<string, unknown>>,
  fields: Record<string, readonly [string, string]>,
  $: (value: unknown, type: string) => string,
  condition: string,
  extra = "",
): string {
  return `${name} as (update ${table} set updated_at = now()${setList(change.patch, fields, $)}${extra}
    where id = ${$(change.id, "text")} and status = ${$(change.expect, "text")} and ${condition}
    returning 1)`;
}

function setList(
  patch: Record<string, unknown>,
  fields: Record<string, readonly [string, string]>,
  $: (value: unknown, type: string) => string,
): string {
  let out = "";
  for (const [key, [column, type]] of Object.entries(fields)) {
    if (key in patch) out += `, ${column} = ${$(patch[key] ?? null, type)}`;
  }
  return out;
}

/** An inbound event that changed nothing, kept with its reason. Returns false for a duplicate. */
export async function recordIgnored(
  run: SqlRunner,
  event: EventRecord,
  context: {
    reason: string;
    jobId: string | null;
    projectId: string | null;
    sceneId: string | null;
  },
): Promise<boolean> {
  if ("unpark" in event) {
    const rows = await run.query(
      `update webhook_events set outcome = 'ignored', reason = $2, job_id = $3, project_id = $4,
        scene_id = $5 where id = $1 and outcome = 'parked' returning id`,
      [event.unpark, context.reason, context.jobId, context.projectId, context.sceneId],
    );
    return rows.length > 0;
  }
  const e = event.insert;
  const rows = await run.query(
    `insert into webhook_events
      (source, dedup_key, task_id, job_id, project_id, scene_id, status, outcome, reason, http_status, payload)
    values ($1, $2, $3, $4, $5, $6, $7, 'ignored', $8, 200, $9::jsonb)
    on conflict (source, dedup_key) do nothing returning id`,
    [
      e.source,
      e.dedupKey,
      e.taskId,
      context.jobId,
      context.projectId,
      context.sceneId,
      e.status,
      context.reason,
      JSON.stringify(e.payload ?? null),
    ],
  );
  return rows.length > 0;
}

/** The outcome a (source, dedup_key) was first recorded with: tells a duplicate of a parked callback. */
export async function recordedOutcome(
  run: SqlRunner,
  source: WebhookSource,
  dedupKey: string,
): Promise<string | null> {
  const [row] = await run.query<{ outcome: string }>(
    "select outcome from webhook_events where source = $1 and dedup_key = $2",
    [source, dedupKey],
  );
  return row?.outcome ?? null;
}
