import "server-only";
import { and, asc, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import { type Executor, getDb } from "@/lib/db/client";
import {
  type FinalVideo,
  finalVideos,
  type Project,
  type ProjectStatus,
  projects,
  type Scene,
  type SceneTake,
  scenes,
  sceneTakes,
} from "@/lib/db/schema";
import { decodeCursor, encodeCursor } from "@/lib/http/cursor";
import { AppError } from "@/lib/http/errors";
import { isPlausibleId } from "@/lib/http/text";
import { newId } from "@/lib/ids";
import type { CreateProjectInput } from "./input";
import {
  describeProgress,
  type ProjectSummaryView,
  type ProjectView,
  serializeProject,
  serializeProjectWithScenes,
} from "./serialize";

/** Inserts a draft project and its scenes in one transaction; returns both rows. */
export async function insertProject(
  tx: Executor,
  input: CreateProjectInput,
): Promise<{ project: Project; scenes: Scene[] }> {
  const id = newId("prj");
  const [project] = await tx
    .insert(projects)
    .values({
      id,
      name: input.name,
      startImageUrl: input.start_image_url ?? null,
      continuity: input.continuity ?? "chain",
    })
    .returning();
  const sceneRows = await tx
    .insert(scenes)
    .values(
      input.scenes.map((scene, index) => ({
        id: newId("scn"),
        projectId: id,
        number: index + 1,
        prompt: scene.prompt,
        duration: scene.duration,
      })),
    )
    .returning();
  return { project: project!, scenes: sceneRows.sort((a, b) => a.number - b.number) };
}

export type FoundProject = {
  project: Project;
  scenes: Scene[];
  /** Every kept generation of its scenes, oldest first. */
  takes: SceneTake[];
  /** Every final video it had, oldest first. */
  finalVideos: FinalVideo[];
};

export async function findProject(id: string, executor?: Executor): Promise<FoundProject | null> {
  if (!isPlausibleId(id)) return null; // a NUL or invalid Unicode names nothing, and would fail the query
  const db = executor ?? (await getDb());
  const [project] = await db.select().from(projects).where(eq(projects.id, id)).limit(1);
  if (!project) return null;
  const [sceneRows, takes, finals] = await Promise.all([
    db.select().from(scenes).where(eq(scenes.projectId, id)).orderBy(asc(scenes.number)),
    db
      .select({ take: sceneTakes })
      .from(sceneTakes)
      .innerJoin(scenes, eq(scenes.id, sceneTakes.sceneId))
      .where(eq(scenes.projectId, id))
      .orderBy(asc(sceneTakes.sceneId), asc(sceneTakes.take)),
    db.select().from(finalVideos).where(eq(finalVideos.projectId, id)).orderBy(asc(finalVideos.id)),
  ]);
  return { project, scenes: sceneRows, takes: takes.map((t) => t.take), finalVideos: finals };
}

export async function getProjectView(id: string): Promise<ProjectView> {
  const found = await findProject(id);
  if (!found) throw new AppError("not_found", `Project ${id} not found`);
  return serializeProjectWithScenes(found);
}

export type ListProjectsOptions = {
  status?: ProjectStatus[];
  limit?: number;
  cursor?: string | null;
};

/** Newest first, keyset-paginated, with each project's scene counts and current stage. */
export async function listProjects(
  options: ListProjectsOptions = {},
): Promise<{ items: ProjectSummaryView[]; next_cursor: string | null }> {
  const db = await getDb();
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  const cursor = decodeCursor(options.cursor);
  const conditions = [];
  if (options.status?.length) conditions.push(inArray(projects.status, options.status));
  if (cursor) {
    conditions.push(
      or(
        lt(projects.createdAt, cursor.at),
        and(eq(projects.createdAt, cursor.at), lt(projects.id, cursor.id)),
      ),
    );
  }
  const rows = await db
    .select()
    .from(projects)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(projects.createdAt), desc(projects.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const counts = await sceneCounts(
    db,
    page.map((p) => p.id),
  );
  const items = page.map((project) =>
    serializeProject(
      project,
      describeProgress(
        project,
        counts.get(project.id) ?? {
          total: 0,
          completed: 0,
          currentNumber: null,
          currentStatus: null,
        },
      ),
    ),
  );
  const last = page.at(-1);
  return {
    items,
    next_cursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
  };
}

async function sceneCounts(db: Executor, projectIds: string[]) {
  const result = new Map<
    string,
    { total: number; completed: number; currentNumber: number | null; currentStatus: string | null }
  >();
  if (projectIds.length === 0) return result;
  const rows = await db
    .select({
      projectId: scenes.projectId,
      total: sql<number>`count(*)::int`,
      completed: sql<number>`(count(*) filter (where ${scenes.status} = 'completed'))::int`,
      currentNumber: sql<
        number | null
      >`min(${scenes.number}) filter (where ${scenes.status} in ('generating_video', 'extracting_frame'))`,
      currentStatus: sql<
        string | null
      >`min(${scenes.status}) filter (where ${scenes.status} in ('generating_video', 'extracting_frame'))`,
    })
    .from(scenes)
    .where(inArray(scenes.projectId, projectIds))
    .groupBy(scenes.projectId);
  for (const row of rows) result.set(row.projectId, row);
  return result;
}
