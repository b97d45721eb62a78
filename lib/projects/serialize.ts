import type { FinalVideo, Project, Scene, SceneTake } from "@/lib/db/schema";
import { currentMediaUrl as media } from "@/lib/services/endpoints";

/**
 * The API's snake_case view of a scene (CONTRACT.md §4). Simulator media URLs are given
 * at the app's current address (they were stored with the one it had then).
 */
export function serializeScene(scene: Scene, takes: SceneTake[] = []) {
  return {
    id: scene.id,
    number: scene.number,
    prompt: scene.prompt,
    duration: scene.duration,
    status: scene.status,
    attempts: scene.attempts,
    progress: scene.progress,
    video_url: media(scene.videoUrl),
    thumbnail_url: media(scene.thumbnailUrl),
    last_frame_url: media(scene.lastFrameUrl),
    start_image_url: media(scene.startImageUrl),
    error: scene.error,
    takes: takes.map((t) => ({
      take: t.take,
      prompt: t.prompt,
      duration: t.duration,
      video_url: media(t.videoUrl),
      thumbnail_url: media(t.thumbnailUrl),
      last_frame_url: media(t.lastFrameUrl),
      created_at: t.createdAt.toISOString(),
    })),
    selected_take: scene.selectedTake,
    created_at: scene.createdAt.toISOString(),
    updated_at: scene.updatedAt.toISOString(),
  };
}
export type SceneView = ReturnType<typeof serializeScene>;

export type ProjectProgress = {
  scenes_total: number;
  scenes_completed: number;
  /** Number of the scene being worked on, when one is. */
  current_scene: number | null;
  /** What the project is doing now, for people: "scene 2 of 5: video", "stitching", … */
  stage: string;
};

export function describeProgress(
  project: Pick<Project, "status">,
  counts: {
    total: number;
    completed: number;
    currentNumber: number | null;
    currentStatus: string | null;
  },
): ProjectProgress {
  let stage: string = project.status;
  if (project.status === "generating" && counts.currentNumber !== null) {
    const step = counts.currentStatus === "extracting_frame" ? "last frame" : "video";
    stage = `scene ${counts.currentNumber} of ${counts.total}: ${step}`;
  }
  return {
    scenes_total: counts.total,
    scenes_completed: counts.completed,
    current_scene: counts.currentNumber,
    stage,
  };
}

export function serializeProject(project: Project, progress: ProjectProgress) {
  return {
    id: project.id,
    name: project.name,
    status: project.status,
    continuity: project.continuity,
    start_image_url: project.startImageUrl,
    final_video_url: media(project.finalVideoUrl),
    thumbnail_url: media(project.thumbnailUrl),
    duration: project.duration,
    error: project.error,
    run: project.run,
    ...progress,
    created_at: project.createdAt.toISOString(),
    updated_at: project.updatedAt.toISOString(),
    completed_at: project.completedAt?.toISOString() ?? null,
  };
}
export type ProjectSummaryView = ReturnType<typeof serializeProject>;
export type ProjectView = ProjectSummaryView & {
  scenes: SceneView[];
  final_videos: { url: string | null; created_at: string }[];
};

export function serializeProjectWithScenes(found: {
  project: Project;
  scenes: Scene[];
  takes?: SceneTake[];
  finalVideos?: FinalVideo[];
}): ProjectView {
  const { project, scenes, takes = [], finalVideos = [] } = found;
  return {
    ...serializeProject(project, progressOf(project, scenes)),
    scenes: scenes.map((s) =>
      serializeScene(
        s,
        takes.filter((t) => t.sceneId === s.id),
      ),
    ),
    final_videos: finalVideos.map((f) => ({
      url: media(f.url),
      created_at: f.createdAt.toISOString(),
    })),
  };
}

export function progressOf(project: Project, scenes: Scene[]): ProjectProgress {
  const current = scenes.find(
    (s) => s.status === "generating_video" || s.status === "extracting_frame",
  );
  return describeProgress(project, {
    total: scenes.length,
    completed: scenes.filter((s) => s.status === "completed").length,
    currentNumber: current?.number ?? null,
    currentStatus: current?.status ?? null,
  });
}
