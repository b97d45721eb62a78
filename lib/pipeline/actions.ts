import "server-only";
import { getDb } from "@/lib/db/client";
import { NextResponse } from "next/server";
import { AppError, handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import type { CreateProjectInput } from "@/lib/projects/input";
import { findProject, insertProject } from "@/lib/projects/queries";
import { type ProjectView, serializeProjectWithScenes } from "@/lib/projects/serialize";
import { decideAndApply, loadState } from "./apply";

export type ProjectAction = "start" | "cancel" | "retry";

/** start / cancel / retry: one locked transaction, 409 when the project's status forbids it. */
export async function runProjectAction(
  projectId: string,
  action: ProjectAction,
): Promise<ProjectView> {
  const db = await getDb();
  const queued = await db.transaction(async (tx) => {
    const state = await loadState(tx, projectId);
    if (!state) throw new AppError("not_found", `Project ${projectId} not found`);
    const { decision, queuedJobIds } = await decideAndApply(tx, state, { type: action });
    if (decision.outcome !== "applied") {
      throw new AppError("conflict", decision.reason, { status: state.project.status });
    }
    return queuedJobIds;
  });
  if (queued.length) scheduleDispatch();
  const found = await findProject(projectId, db);
  return serializeProjectWithScenes(found!.project, found!.scenes);
}

/** Creates a project (and starts it in the same transaction when `autostart` is set). */
export async function createProject(input: CreateProjectInput): Promise<ProjectView> {
  const db = await getDb();
  const { id, queued } = await db.transaction(async (tx) => {
    const { project } = await insertProject(tx, input);
    if (!input.autostart) return { id: project.id, queued: 0 };
    const state = await loadState(tx, project.id);
    const { queuedJobIds } = await decideAndApply(tx, state!, { type: "start" });
    return { id: project.id, queued: queuedJobIds.length };
  });
  if (queued) scheduleDispatch();
  const found = await findProject(id, db);
  return serializeProjectWithScenes(found!.project, found!.scenes);
}

/** The route handler of `POST /api/v1/projects/{id}/<action>`. */
export function projectActionHandler(action: ProjectAction) {
  return handle(async (_request: Request, ctx: IdRouteContext) => {
    const { id } = await ctx.params;
    return NextResponse.json(await runProjectAction(id, action));
  });
}
