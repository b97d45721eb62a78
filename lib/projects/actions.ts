import "server-only";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { applyProjectEvent, loadTake } from "@/lib/pipeline/apply";
import type { CreateProjectInput, RegenerateInput } from "./input";
import { findProject, insertProject } from "./queries";
import { type ProjectView, serializeProjectWithScenes } from "./serialize";

export type ProjectAction = "start" | "cancel" | "retry";

/** start / cancel / retry; a `conflict` error when the project's status forbids it. */
export async function runProjectAction(
  projectId: string,
  action: ProjectAction,
): Promise<ProjectView> {
  return decided(projectId, await applyProjectEvent(projectId, { type: action }));
}

/** Re-shoots a scene of a completed or failed project (CONTRACT §7); 409 while it runs. */
export async function regenerateScene(
  projectId: string,
  sceneNumber: number,
  input: RegenerateInput,
): Promise<ProjectView> {
  await sceneOf(projectId, sceneNumber);
  return decided(
    projectId,
    await applyProjectEvent(projectId, { type: "regenerate", sceneNumber, ...input }),
  );
}

/** Uses an earlier take of a scene of a completed project and stitches again. */
export async function selectSceneTake(
  projectId: string,
  sceneNumber: number,
  take: number,
): Promise<ProjectView> {
  await sceneOf(projectId, sceneNumber);
  const found = await loadTake(projectId, sceneNumber, take);
  if (!found) throw new AppError("not_found", `Scene ${sceneNumber} has no take ${take}`);
  return decided(
    projectId,
    await applyProjectEvent(projectId, { type: "select_take", sceneNumber, take: found }),
  );
}

async function sceneOf(projectId: string, sceneNumber: number) {
  const found = await findProject(projectId);
  if (!found) throw new AppError("not_found", `Project ${projectId} not found`);
  if (!found.scenes.some((s) => s.number === sceneNumber))
    throw new AppError("not_found", `Project ${projectId} has no scene ${sceneNumber}`);
}

async function decided(
  projectId: string,
  result: Awaited<ReturnType<typeof applyProjectEvent>>,
): Promise<ProjectView> {
  if (result.outcome === "not_found")
    throw new AppError("not_found", `Project ${projectId} not found`);
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
  return serializeProjectWithScenes(found);
}
