import "server-only";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Tx } from "@/lib/db/client";
import { type Job, jobs, projects, scenes } from "@/lib/db/schema";
import { env } from "@/lib/env";
import { newId } from "@/lib/ids";
import {
  type Decision,
  type Guarded,
  jobKey,
  type PipelineEvent,
  type PipelineState,
  transition,
} from "./transition";

/** Channel the SSE streams listen on; the payload is the project id. */
export const PROJECT_CHANNEL = "framechain_project";

export class ConcurrentChangeError extends Error {
  constructor(what: string) {
    super(`${what} changed underneath this transaction; the change was rolled back`);
    this.name = "ConcurrentChangeError";
  }
}

/**
 * Loads a project's state with its row locked. Every transaction that changes pipeline
 * state locks the project row first, so one project's events apply one at a time and
 * always in the same lock order (project → scenes → jobs): no deadlocks, no lost updates.
 */
export async function loadState(
  tx: Tx,
  projectId: string,
  jobId?: string,
): Promise<PipelineState | null> {
  const [project] = await tx
    .select()
    .from(projects)
    .where(eq(projects.id, projectId))
    .for("update");
  if (!project) return null;
  const sceneRows = await tx
    .select()
    .from(scenes)
    .where(eq(scenes.projectId, projectId))
    .orderBy(asc(scenes.number));
  let job: Job | undefined;
  if (jobId) [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId));
  return {
    project,
    scenes: sceneRows,
    job: job && { ...job, payload: job.payload ?? {} },
    maxAttempts: env.MAX_STAGE_ATTEMPTS,
  };
}

export type Applied = { decision: Decision; queuedJobIds: string[] };

/** Decides with the pure transition and writes the result inside the caller's transaction. */
export async function decideAndApply(
  tx: Tx,
  state: PipelineState,
  event: PipelineEvent,
): Promise<Applied> {
  const decision = transition(state, event);
  if (decision.outcome !== "applied") return { decision, queuedJobIds: [] };
  const projectId = state.project.id;
  const now = new Date();

  if (decision.project) {
    await guardedUpdate(tx, projects, decision.project, "project", now);
    await notifyProjectChanged(tx, projectId);
  } else {
    await touchProject(tx, projectId, now);
  }
  for (const change of decision.scenes) await guardedUpdate(tx, scenes, change, "scene", now);
  if (decision.job) await guardedUpdate(tx, jobs, decision.job, "job", now);
  if (decision.cancelActiveJobs) {
    await tx
      .update(jobs)
      .set({ status: "cancelled", updatedAt: now })
      .where(
        and(eq(jobs.projectId, projectId), inArray(jobs.status, ["queued", "running", "waiting"])),
      );
  }

  const run = decision.project?.patch.run ?? state.project.run;
  const queuedJobIds: string[] = [];
  if (decision.enqueue.length) {
    const rows = decision.enqueue.map((spec) => ({
      id: newId("job"),
      kind: spec.kind,
      key: jobKey(projectId, run, spec),
      projectId,
      sceneId: spec.sceneId,
      attempt: spec.attempt,
      payload: spec.payload,
      runAt: now,
    }));
    // No ON CONFLICT: queuing a step twice is a bug, and the unique key turns it into a rollback.
    await tx.insert(jobs).values(rows);
    queuedJobIds.push(...rows.map((r) => r.id));
  }
  return { decision, queuedJobIds };
}

/**
 * Locks the project row, marks it changed and wakes its live views at commit — one
 * statement, for transactions that change a project's scenes or jobs but not its row.
 */
export async function touchProject(tx: Tx, projectId: string, now = new Date()) {
  await tx
    .update(projects)
    .set({ updatedAt: now })
    .where(eq(projects.id, projectId))
    .returning({ notified: sql`pg_notify(${PROJECT_CHANNEL}, ${projects.id})` });
}

/** Wakes the live views of a project once the transaction commits (LISTEN/NOTIFY). */
export async function notifyProjectChanged(tx: Tx, projectId: string) {
  await tx.execute(sql`select pg_notify(${PROJECT_CHANNEL}, ${projectId})`);
}

async function guardedUpdate(
  tx: Tx,
  table: typeof projects | typeof scenes | typeof jobs,
  change: Guarded<Record<string, unknown>>,
  what: string,
  now: Date,
) {
  const updated = await tx
    .update(table)
    .set({ ...change.patch, updatedAt: now } as never)
    .where(
      and(
        eq(table.id, change.id),
        eq(table.status as typeof projects.status, change.expect as never),
      ),
    )
    .returning({ id: table.id });
  if (updated.length !== 1) throw new ConcurrentChangeError(`${what} ${change.id}`);
}
