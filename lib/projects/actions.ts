import "server-only";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { applyProjectEvent } from "@/lib/pipeline/apply";
import type { CreateProjectInput } from "./input";
import { findProject, insertProject } from "./queries";
import { type ProjectView, serializeProjectWithScenes } from "./serialize";

export type ProjectAction = "start" | "cancel" | "retry";

/** start / cancel / retry; a `conflict` error when the project's status forbids it. */
export async function runProjectAction(
  projectId: string,
  action: ProjectAction,
): Promise<ProjectView> {
  const result = await applyProjectEvent(projectId, { type: action });
  if (result.outcome === "not_found") {
    throw new AppError("not_found", `Project ${projectId} not found`);
  }
  if (result.outcome !== "applied") {
    const found = await findProject(projectId);
    throw new AppError("conflict", result.reason, { status: found?.project.status });
  }
  if (result.queuedJobIds.length) scheduleDispatch();
  return view(projectId);
}

/**
 * Creates a project, and starts it when `autostart` is set. The start is its own write right
 * after the insert: should it fail, the project is kept as a draft the user can start.
 */
export async function createProject(input: CreateProjectInput): Promise<ProjectView> {
  const db = await getDb();
  const { project } = await db.transaction((tx) => insertProject(tx, input));
  if (input.autostart) {
    const started = await applyProjectEvent(project.id, { type: "start" });
    if (started.outcome === "applied" && started.queuedJobIds.length) scheduleDispatch();
  }
  return view(project.id);
}

async function view(projectId: string): Promise<ProjectView> {
  const found = await findProject(projectId);
  if (!found) throw new AppError("not_found", `Project ${projectId} not found`);
  return serializeProjectWithScenes(found.project, found.scenes);
}
