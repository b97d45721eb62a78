import type { Job } from "@/lib/db/schema";
import { env } from "@/lib/env";
import type { JobKind, WebhookSource } from "@/lib/pipeline/statuses";
import type { JobPayloads } from "@/lib/pipeline/transition";
import { appUrl } from "./app-url";
import { serviceBase, serviceKey } from "./endpoints";
import type { ServiceRequest } from "./http";
import { signRef } from "./signing";

/** The fields of a job its request is built from. */
type JobForRequest = Pick<Job, "id" | "kind" | "projectId" | "sceneId" | "payload">;

/**
 * The exact outbound request of CONTRACT.md §3 for a job, or why it cannot be made.
 * `null` for a notify job with no notification service: recorded in the app only.
 */
export function buildServiceRequest(
  job: JobForRequest,
): { request: ServiceRequest } | { skip: string } | { error: string } {
  switch (job.kind) {
    case "generate_video": {
      const p = payloadOf(job, "generate_video");
      const base = serviceBase.video();
      if (!base) return { error: "VIDEO_GENERATION_SERVICE is not set" };
      return {
        request: {
          service: "video",
          url: `${base}/api/v1/tasks/submit`,
          headers: apiKeyHeader(serviceKey.video()),
          idempotencyKey: job.id,
          body: {
            project_id: job.projectId,
            task_type: "generate_video",
            task_data: {
              scene_id: p.scene_id,
              scene_number: p.scene_number,
              prompt: p.prompt,
              start_image_url: p.start_image_url ?? null,
              duration: p.duration,
            },
            priority: 2,
            callback_url: callbackUrl("video-complete", job.id),
            metadata: { project_id: job.projectId, scene_id: job.sceneId, job_id: job.id },
          },
        },
      };
    }
    case "extract_last_frame": {
      const p = payloadOf(job, "extract_last_frame");
      const base = serviceBase.lastFrame();
      if (!base) return { error: "LAST_FRAME_SERVICE_URL is not set" };
      return {
        request: {
          service: "last-frame",
          url: `${base}/api/v1/process`,
          headers: bearer(serviceKey.lastFrame()),
          idempotencyKey: job.id,
          body: { video_url: p.video_url, webhook_url: callbackUrl("last-frame-complete", job.id) },
        },
      };
    }
    case "stitch": {
      const p = payloadOf(job, "stitch");
      const base = serviceBase.stitch();
      if (!base) return { error: "STITCH_SERVICE_URL is not set" };
      return {
        request: {
          service: "stitch",
          url: `${base}/api/v1/stitch`,
          headers: bearer(serviceKey.stitch()),
          idempotencyKey: job.id,
          body: { video_urls: p.video_urls, webhook_url: callbackUrl("stitch-complete", job.id) },
        },
      };
    }
    case "notify": {
      const p = payloadOf(job, "notify");
      const url = serviceBase.notify();
      if (!url) return { skip: "NOTIFICATION_SERVICE_URL is not set: recorded in the app only" };
      return {
        request: {
          service: "notify",
          url,
          headers: apiKeyHeader(serviceKey.notify()),
          idempotencyKey: job.id,
          body: {
            type: p.type,
            project_id: job.projectId,
            project_name: p.project_name,
            video_url: p.video_url ?? null,
            error: p.error ?? null,
            timestamp: new Date().toISOString(),
          },
        },
      };
    }
  }
}

/** A stored job's payload, as transition() wrote it for that kind (lib/pipeline/transition.ts). */
function payloadOf<K extends JobKind>(job: JobForRequest, _kind: K): JobPayloads[K] {
  return job.payload as JobPayloads[K];
}

/**
 * The secrets of each callback endpoint (CONTRACT §2), comma-separated for rotation: the
 * first signs the callback URLs we hand out; any of them verifies what comes back.
 */
export const CALLBACK_SECRETS: Record<WebhookSource, () => string[] | undefined> = {
  "video-complete": () => env.VIDEO_WEBHOOK_SECRET,
  "last-frame-complete": () => env.LAST_FRAME_WEBHOOK_SECRET,
  "stitch-complete": () => env.STITCH_WEBHOOK_SECRET,
};

/** `{APP_URL}/api/webhooks/<source>?ref=<job id>&sig=<hmac>`; unsigned when the source has no secret (dev). */
export function callbackUrl(source: WebhookSource, jobId: string): string {
  const url = new URL(`${appUrl()}/api/webhooks/${source}`);
  url.searchParams.set("ref", jobId);
  const secret = CALLBACK_SECRETS[source]()?.[0];
  if (secret) url.searchParams.set("sig", signRef(secret, jobId));
  return url.toString();
}

/** The task id a service returned for an accepted request. */
export function taskIdFrom(json: Record<string, unknown> | null): string | null {
  const id = json?.task_id ?? json?.id;
  return typeof id === "string" && id.length > 0 && id.length <= 200
    ? id
    : typeof id === "number"
      ? String(id)
      : null;
}

function apiKeyHeader(key: string | undefined): Record<string, string> {
  return key ? { "x-api-key": key } : {};
}
function bearer(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}
