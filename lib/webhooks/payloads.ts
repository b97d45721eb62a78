import { z } from "zod";
import { httpUrl } from "@/lib/http/urls";
import type { StageResult } from "@/lib/pipeline/transition";
import type { Stage } from "./stages";

/**
 * The callback bodies of CONTRACT.md §2, in both the documented shape and the shape the
 * real services send (see shared/contracts/), normalised to one `Callback`.
 */

const id = z.union([z.string().min(1).max(200), z.number().int().nonnegative()]).transform(String);
const optionalNumber = z.number().finite().nullish();
const metadata = z.record(z.string(), z.unknown()).nullish();
const status = z.enum(["completed", "failed", "processing", "pending", "queued", "running"]);

const common = {
  task_id: id,
  status,
  scene_id: id.nullish(),
  project_id: id.nullish(),
  error: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
  metadata,
  timestamp: z.string().max(100).nullish(),
};

const videoComplete = z.object({
  ...common,
  video_url: httpUrl.nullish(),
  thumbnail_url: httpUrl.nullish(),
  duration: optionalNumber,
  fps: optionalNumber,
  width: optionalNumber,
  height: optionalNumber,
  quality_score: optionalNumber,
  progress: z.number().min(0).max(100).nullish(),
  result: z
    .object({
      video_url: httpUrl.nullish(),
      thumbnail_url: httpUrl.nullish(),
      scene_id: id.nullish(),
      duration: optionalNumber,
    })
    .nullish(),
});

const lastFrameComplete = z.object({
  ...common,
  last_frame_url: httpUrl.nullish(),
  image_url: httpUrl.nullish(),
  width: optionalNumber,
  height: optionalNumber,
  format: z.string().max(50).nullish(),
});

const stitchComplete = z.object({
  ...common,
  final_video_url: httpUrl.nullish(),
  video_result_url: httpUrl.nullish(),
  thumbnail_url: httpUrl.nullish(),
  duration: optionalNumber,
  total_scenes: optionalNumber,
  file_size: optionalNumber,
  format: z.string().max(50).nullish(),
  resolution: z.string().max(50).nullish(),
});

export type Callback = {
  taskId: string;
  /** completed | failed | progress (processing, pending, queued, running) */
  kind: "completed" | "failed" | "progress";
  status: z.infer<typeof status>;
  sceneId: string | null;
  projectId: string | null;
  progress: number | null;
  error: string | null;
  result: StageResult;
};

type Normalised = Omit<
  Callback,
  "taskId" | "kind" | "status" | "error" | "projectId" | "sceneId"
> & {
  sceneId?: string | null;
};

const SCHEMAS = {
  "video-complete": videoComplete.transform(
    (b): Normalised => ({
      sceneId: b.scene_id ?? b.result?.scene_id ?? metaId(b.metadata, "scene_id"),
      progress: b.progress ?? null,
      result: clean({
        videoUrl: b.video_url ?? b.result?.video_url,
        thumbnailUrl: b.thumbnail_url ?? b.result?.thumbnail_url,
        duration: b.duration ?? b.result?.duration,
      }),
    }),
  ),
  "last-frame-complete": lastFrameComplete.transform(
    (b): Normalised => ({
      sceneId: b.scene_id ?? metaId(b.metadata, "scene_id"),
      progress: null,
      result: clean({ lastFrameUrl: b.last_frame_url ?? b.image_url }),
    }),
  ),
  "stitch-complete": stitchComplete.transform(
    (b): Normalised => ({
      progress: null,
      result: clean({
        finalVideoUrl: b.final_video_url ?? b.video_result_url,
        thumbnailUrl: b.thumbnail_url,
        duration: b.duration,
      }),
    }),
  ),
} as const;

/** The URL a `completed` callback must carry, per stage. */
const REQUIRED_RESULT: Record<Stage, { key: keyof StageResult; fields: string }> = {
  "video-complete": { key: "videoUrl", fields: "video_url (or result.video_url)" },
  "last-frame-complete": { key: "lastFrameUrl", fields: "last_frame_url (or image_url)" },
  "stitch-complete": { key: "finalVideoUrl", fields: "final_video_url (or video_result_url)" },
};

export type ParseResult =
  | { ok: true; callback: Callback }
  | { ok: false; issues: { path: string; message: string }[] };

/** Built once: building a zod schema costs more than using it. */
const baseSchema = z.object(common);

export function parseCallback(stage: Stage, body: unknown): ParseResult {
  const base = baseSchema.safeParse(body);
  const parsed = SCHEMAS[stage].safeParse(body);
  if (!parsed.success || !base.success) {
    const issues = (parsed.success ? base.error! : parsed.error).issues;
    return {
      ok: false,
      issues: issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    };
  }
  const b = base.data;
  const kind =
    b.status === "completed" ? "completed" : b.status === "failed" ? "failed" : "progress";
  const required = REQUIRED_RESULT[stage];
  if (kind === "completed" && !parsed.data.result[required.key]) {
    return {
      ok: false,
      issues: [{ path: required.fields, message: "required when status is completed" }],
    };
  }
  return {
    ok: true,
    callback: {
      taskId: b.task_id,
      kind,
      status: b.status,
      sceneId: parsed.data.sceneId ?? null,
      projectId: b.project_id ?? metaId(b.metadata, "project_id"),
      progress: parsed.data.progress,
      error:
        describeError(b.error) ??
        (kind === "failed" ? "service reported failure without a reason" : null),
      result: parsed.data.result,
    },
  };
}

function metaId(meta: Record<string, unknown> | null | undefined, key: string): string | null {
  const value = meta?.[key];
  return typeof value === "string" && value.length <= 200 ? value : null;
}

function describeError(error: string | Record<string, unknown> | null | undefined): string | null {
  if (!error) return null;
  const text = typeof error === "string" ? error : String(error.message ?? JSON.stringify(error));
  return text.slice(0, 1000);
}

function clean<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null && v !== undefined),
  ) as never;
}
