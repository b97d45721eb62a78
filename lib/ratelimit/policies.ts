import { env } from "@/lib/env";
import type { WebhookSource } from "@/lib/pipeline/statuses";

type Stage = WebhookSource;

/**
 * The named rate-limit policies, one per callback endpoint: a sliding window per client IP.
 * Defaults (CONTRACT.md §2) are 100/min for video-complete and last-frame-complete and
 * 50/min for stitch-complete; RATE_LIMIT_VIDEO / _LAST_FRAME / _STITCH override them.
 */
export type RateLimitPolicy = { limit: number; windowMs: number; spec: string };

const POLICIES: Record<Stage, () => RateLimitPolicy> = {
  "video-complete": () => env.RATE_LIMIT_VIDEO,
  "last-frame-complete": () => env.RATE_LIMIT_LAST_FRAME,
  "stitch-complete": () => env.RATE_LIMIT_STITCH,
};

export function rateLimitPolicy(stage: Stage): RateLimitPolicy {
  return POLICIES[stage]();
}

/** Key of one client's budget on one endpoint, under RATE_LIMIT_PREFIX. */
export function rateLimitKey(stage: Stage, ip: string): string {
  return `${stage}:${ip}`;
}

export function rateLimitPrefix(): string {
  return env.RATE_LIMIT_PREFIX;
}
