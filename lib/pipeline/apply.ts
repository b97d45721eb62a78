import "server-only";
import { getSql, type SqlRunner } from "@/lib/db/client";
import { env } from "@/lib/env";
import { type JobStatus, SOURCE_OF_KIND, type StageKind, type WebhookSource } from "./statuses";
import {
  type EventRecord,
  type Loaded,
  loadByJob,
  loadByProject,
  recordedOutcome,
  recordIgnored,
  WriteConflict,
  writeDecision,
} from "./store";
import { type PipelineEvent, type TakeState, type Triggered, transition } from "./transition";

/** The time and the limits an event is decided with. */
const settings = () => ({
  now: new Date(),
  maxAttempts: env.MAX_STAGE_ATTEMPTS,
  maxParallel: env.MAX_PARALLEL_SCENES,
});

/**
 * Applies pipeline events: load (one statement) → transition() decides → write (one
 * statement). A write that finds the state changed since its load decides again on a fresh
 * load (optimistic concurrency, see store.ts); each conflict means another event made
 * progress, so the loop ends, and it is bounded all the same.
 */
const MAX_DECISIONS = 25;

export class ConcurrentChangeError extends Error {
  constructor(what: string) {
    super(`${what} kept changing underneath this event; nothing was written`);
    this.name = "ConcurrentChangeError";
  }
}

export type StageEvent = Extract<PipelineEvent, { type: `stage_${string}` }>;

/** A service's report about one of its tasks, as the pipeline needs it. */
export type StageReport = {
  kind: StageKind;
  /** Our job id, when the callback URL's signed `ref` names it. */
  jobId: string | null;
  taskId: string;
  /** Ids the report carries; when present they must agree with the task's record. */
  projectId: string | null;
  sceneId: string | null;
  event: StageEvent;
};

/** How the report is recorded: a new inbound event (deduplicated), or a parked one being applied. */
export type ReportRecord = {
  source: WebhookSource;
  dedupKey: string;
  status: string;
  payload: unknown;
};

export type StageOutcome =
  | {
      outcome: "applied";
      flags: Triggered;
      log: string;
      queuedJobIds: string[];
      projectId: string;
      jobId: string;
      sceneId: string | null;
    }
  | { outcome: "ignored"; reason: string; projectId: string; jobId: string; sceneId: string | null }
  | { outcome: "duplicate"; parked: boolean }
  | { outcome: "parked"; eventId: number }
  | {
      outcome: "mismatch";
      reason: string;
      projectId: string;
      jobId: string;
      sceneId: string | null;
    };

/** Applies a service's report to the stage it belongs to, recording it in the same statement. */
export async function applyStageReport(
  report: StageReport,
  record: ReportRecord,
): Promise<StageOutcome> {
  const run = await getSql();
  const outcome = await decideStageReport(run, report, {
    insert: { ...record, taskId: report.taskId },
  });
  if (outcome) return outcome;
  const parked = await park(run, report, record);
  if (parked.outcome !== "parked") return parked;
  // The submission may have been recorded while this report was being parked: look once more
  // (the handshake made this park wait for a record in flight, so this look sees it).
  return (await decideStageReport(run, report, { unpark: parked.eventId })) ?? parked;
}

/**
 * Parked callbacks of a task that is known now, applied in arrival order (normally right
 * after its submission is recorded). Returns the jobs they queued.
 */
export async function applyParkedReports(kind: StageKind, taskId: string): Promise<string[]> {
  const run = await getSql();
  const parked = await run.query<{ id: string; event: ParkedEvent }>(
    `select id, event from webhook_events
     where source = $1 and task_id = $2 and outcome = 'parked' order by id`,
    [SOURCE_OF_KIND[kind], taskId],
  );
  const queued: string[] = [];
  for (const row of parked) {
    const saved = row.event;
    const report: StageReport = { kind, jobId: null, taskId, ...saved };
    const outcome = await decideStageReport(run, report, { unpark: Number(row.id) });
    if (outcome?.outcome === "applied") queued.push(...outcome.queuedJobIds);
  }
  return queued;
}

type ParkedEvent = Pick<StageReport, "projectId" | "sceneId" | "event">;

/** Null when the task is not known (yet). */
async function decideStageReport(
  run: SqlRunner,
  report: StageReport,
  record: EventRecord,
): Promise<StageOutcome | null> {
  const find = { jobId: report.jobId, taskId: report.taskId, kind: report.kind };
  for (let round = 0; round < MAX_DECISIONS; round++) {
    const loaded = await loadByJob(run, find, settings());
    if (!loaded?.state.job) return null;
    const job = loaded.state.job;
    const where = { projectId: job.projectId, jobId: job.id, sceneId: job.sceneId };
    const mismatch = reportMismatch(loaded, report);
    if (mismatch) return { outcome: "mismatch", reason: mismatch, ...where };

    const decision = transition(loaded.state, report.event);
    if (decision.outcome !== "applied") {
      if (await recordIgnored(run, record, { reason: decision.reason, ...where }))
        return { outcome: "ignored", reason: decision.reason, ...where };
      return duplicate(run, record);
    }
    try {
      const written = await writeDecision(run, loaded, decision, {
        event: record,
        // Matched by its ref before the submission was recorded: keep the task id.
        jobTaskId: loaded.jobTaskId ? undefined : report.taskId,
      });
      if (!written.recorded) return duplicate(run, record);
      return {
        outcome: "applied",
        flags: decision.flags,
        log: decision.log,
        queuedJobIds: written.queuedJobIds,
        ...where,
      };
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error;
    }
  }
  throw new ConcurrentChangeError(`task ${report.taskId}`);
}

async function duplicate(run: SqlRunner, record: EventRecord): Promise<StageOutcome> {
  if ("unpark" in record) return { outcome: "duplicate", parked: false };
  const first = await recordedOutcome(run, record.insert.source, record.insert.dedupKey);
  return { outcome: "duplicate", parked: first === "parked" };
}

/**
 * A report whose task is not known yet (it raced ahead of the record of its submission):
 * kept, with its normalised event, and applied when the submission is recorded. Parking and
 * that record meet on one task_handshakes row, so of the two the later one applies it: a
 * record that commits after the park sees the row and applies the parked reports; one that
 * committed first (or that the park waited for) is seen by the look right after parking.
 * The sweep stays the net for a process that died in between.
 */
async function park(
  run: SqlRunner,
  report: StageReport,
  record: ReportRecord,
): Promise<StageOutcome> {
  const saved: ParkedEvent = {
    projectId: report.projectId,
    sceneId: report.sceneId,
    event: report.event,
  };
  // The handshake row (schema: task_handshakes) is written in the same statement: a record of
  // the submission in flight makes this wait for it (then the look below sees the task), one
  // that comes later finds the row and applies what was parked.
  const [row] = await run.query<{ id: string }>(
    `with ev as (insert into webhook_events
      (source, dedup_key, task_id, status, outcome, reason, http_status, payload, event)
    values ($1, $2, $3, $4, 'parked', 'task not known yet', 202, $5::jsonb, $6::jsonb)
    on conflict (source, dedup_key) do nothing returning id),
    h as (insert into task_handshakes (source, task_id, parked)
      select $1, $3, true where exists (select 1 from ev)
      on conflict (source, task_id) do update set parked = true returning 1)
    select id, (select count(*) from h) as handshakes from ev`,
    [
      record.source,
      record.dedupKey,
      report.taskId,
      record.status,
      JSON.stringify(record.payload ?? null),
      JSON.stringify(saved),
    ],
  );
  if (!row) return duplicate(run, { insert: { ...record, taskId: report.taskId } });
  return { outcome: "parked", eventId: Number(row.id) };
}

/** Ids a report carries must agree with the job it matched (else 409). Null when they do. */
function reportMismatch(loaded: Loaded, report: StageReport): string | null {
  const job = loaded.state.job!;
  if (job.kind !== report.kind) {
    return `ref ${job.id} belongs to a ${job.kind} job, not ${report.kind}`;
  }
  if (report.projectId && report.projectId !== job.projectId) {
    return `project_id ${report.projectId} does not match task ${report.taskId} (project ${job.projectId})`;
  }
  if (report.sceneId && job.sceneId && report.sceneId !== job.sceneId) {
    return `scene_id ${report.sceneId} does not match task ${report.taskId} (scene ${job.sceneId})`;
  }
  if (loaded.jobTaskId && loaded.jobTaskId !== report.taskId) {
    return `task_id ${report.taskId} does not match the task recorded for this callback URL (${loaded.jobTaskId})`;
  }
  return null;
}

export type ProjectEventOutcome =
  | { outcome: "applied"; queuedJobIds: string[]; log: string }
  | { outcome: "refused" | "ignored"; reason: string }
  | { outcome: "not_found" };

/** start / cancel / retry / regenerate / select_take of a project. */
export async function applyProjectEvent(
  projectId: string,
  event: Extract<
    PipelineEvent,
    { type: "start" | "cancel" | "retry" | "regenerate" | "select_take" }
  >,
): Promise<ProjectEventOutcome> {
  const run = await getSql();
  return decideAndWrite(run, () => loadByProject(run, projectId, settings()))(event);
}

/** A kept take of a project's scene, as select_take decides with it; null when there is none. */
export async function loadTake(
  projectId: string,
  sceneNumber: number,
  take: number,
): Promise<TakeState | null> {
  const run = await getSql();
  const [row] = await run.query<{
    take: number;
    video_url: string;
    thumbnail_url: string | null;
    last_frame_url: string | null;
  }>(
    `select t.take, t.video_url, t.thumbnail_url, t.last_frame_url
    from scene_takes t join scenes s on s.id = t.scene_id
    where s.project_id = $1 and s.number = $2::int and t.take = $3::int`,
    [projectId, sceneNumber, take],
  );
  return row
    ? {
        take: row.take,
        videoUrl: row.video_url,
        thumbnailUrl: row.thumbnail_url,
        lastFrameUrl: row.last_frame_url,
      }
    : null;
}

/**
 * A stage's own failure, found by the dispatcher (a final answer from the service, retries
 * exhausted) or the sweep (no callback before the deadline): applied only while the job is
 * still `expect`, so a callback that got there first wins.
 */
export async function applyJobFailure(
  jobId: string,
  error: string,
  expect: JobStatus,
): Promise<ProjectEventOutcome> {
  const run = await getSql();
  return decideAndWrite(
    run,
    () => loadByJob(run, { jobId, taskId: null, kind: null }, settings()),
    (loaded) =>
      loaded.state.job?.status === expect ? null : `job is ${loaded.state.job?.status ?? "gone"}`,
  )({ type: "stage_failed", error });
}

function decideAndWrite(
  run: SqlRunner,
  load: () => Promise<Loaded | null>,
  precondition: (loaded: Loaded) => string | null = () => null,
) {
  return async (event: PipelineEvent): Promise<ProjectEventOutcome> => {
    for (let round = 0; round < MAX_DECISIONS; round++) {
      const loaded = await load();
      if (!loaded) return { outcome: "not_found" };
      const unmet = precondition(loaded);
      if (unmet) return { outcome: "ignored", reason: unmet };
      const decision = transition(loaded.state, event);
      if (decision.outcome !== "applied") return decision;
      try {
        const { queuedJobIds } = await writeDecision(run, loaded, decision);
        return { outcome: "applied", queuedJobIds, log: decision.log };
      } catch (error) {
        if (!(error instanceof WriteConflict)) throw error;
      }
    }
    throw new ConcurrentChangeError(`a project's ${event.type}`);
  };
}
