import "server-only";
import { env } from "@/lib/env";
import { recordError } from "@/lib/observability/error-log";
import { metrics } from "@/lib/observability/metrics";
import type { WebhookSource as Stage } from "@/lib/pipeline/statuses";
import { clientAddress } from "./client-ip";
import { MemorySlidingWindow } from "./memory";
import { rateLimitKey, rateLimitPolicy, rateLimitPrefix } from "./policies";
import { closeRedisConnections, redisLimiter } from "./redis";
import type { Limiter, RateLimitBackend } from "./types";
import { upstashLimiter } from "./upstash";

/**
 * Rate limiting of the callback endpoints (CONTRACT.md §2): a sliding window per client IP
 * per endpoint, on Upstash, a Redis server, or in process memory — whichever is configured.
 * A backend that fails or answers slower than RATE_LIMIT_TIMEOUT_MS lets the request through
 * (`failedOpen`) and is recorded in the error log, at most once per 30 s per backend.
 */

export type RateLimitDecision = {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms. */
  resetAt: number;
  backend: RateLimitBackend;
  failedOpen: boolean;
};

type Store = {
  __framechainRateLimiters?: Map<string, Limiter>;
};
const store = globalThis as unknown as Store;

export function configuredBackend(): RateLimitBackend {
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) return "upstash";
  if (env.REDIS_URL) return "redis";
  return "memory";
}

/** One limiter per endpoint and configuration, created on first use; on globalThis so dev reloads keep it. */
function limiterFor(stage: Stage): Limiter {
  const backend = configuredBackend();
  const policy = rateLimitPolicy(stage);
  const prefix = rateLimitPrefix();
  const timeoutMs = env.RATE_LIMIT_TIMEOUT_MS;
  const location =
    backend === "upstash" ? env.UPSTASH_REDIS_REST_URL : backend === "redis" ? env.REDIS_URL : "";
  const cacheKey = [stage, backend, location, policy.spec, prefix, timeoutMs].join("|");

  store.__framechainRateLimiters ??= new Map();
  let limiter = store.__framechainRateLimiters.get(cacheKey);
  if (!limiter) {
    limiter =
      backend === "upstash"
        ? upstashLimiter(policy, prefix, {
            url: env.UPSTASH_REDIS_REST_URL!,
            token: env.UPSTASH_REDIS_REST_TOKEN!,
            timeoutMs,
          })
        : backend === "redis"
          ? redisLimiter(policy, prefix, env.REDIS_URL!, timeoutMs)
          : new MemorySlidingWindow(policy);
    store.__framechainRateLimiters.set(cacheKey, limiter);
  }
  return limiter;
}

export async function checkRateLimit(stage: Stage, ip: string): Promise<RateLimitDecision> {
  const backend = configuredBackend();
  try {
    const pending = limiterFor(stage).limit(rateLimitKey(stage, ip));
    // Memory answers synchronously: no timer on that path.
    const result =
      backend === "memory" ? await pending : await withTimeout(pending, env.RATE_LIMIT_TIMEOUT_MS);
    if (!result.allowed) metrics.rateLimited(stage);
    return { ...result, backend, failedOpen: false };
  } catch (error) {
    metrics.rateLimitFailedOpen(stage, backend);
    reportFailure(stage, backend, error);
    const { limit, windowMs } = rateLimitPolicy(stage);
    return {
      allowed: true,
      limit,
      remaining: limit,
      resetAt: Date.now() + windowMs,
      backend,
      failedOpen: true,
    };
  }
}

/**
 * The address this request's budget is counted against: the TRUSTED_PROXY_HOPS-th entry
 * from the right of X-Forwarded-For (default 1: the one our own proxy appended), else
 * X-Real-IP, else "unknown" (lib/ratelimit/client-ip.ts). Route handlers see no socket;
 * `next start` fills X-Forwarded-For with the socket address when a request has none.
 */
export function clientIp(request: Request, hops: number = env.TRUSTED_PROXY_HOPS): string {
  return clientAddress(request.headers, hops);
}

export function rateLimitHeaders(d: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    "X-RateLimit-Limit": String(d.limit),
    "X-RateLimit-Remaining": String(Math.max(0, d.remaining)),
    "X-RateLimit-Reset": String(Math.ceil(d.resetAt / 1000)),
  };
  if (!d.allowed)
    headers["Retry-After"] = String(Math.max(1, Math.ceil((d.resetAt - Date.now()) / 1000)));
  return headers;
}

/** For GET /api/health: whether the configured backend answers in time (memory always does). */
export async function pingRateLimitBackend(): Promise<{
  backend: RateLimitBackend;
  ok: boolean;
  error?: string;
}> {
  const limiter = limiterFor("video-complete");
  try {
    // Counts one request of a key no client has: the cheapest real round trip the limiter makes.
    await withTimeout(
      limiter.limit(rateLimitKey("video-complete", "health-check")),
      env.RATE_LIMIT_TIMEOUT_MS,
    );
    return { backend: limiter.backend, ok: true };
  } catch (error) {
    return {
      backend: limiter.backend,
      ok: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Forgets the limiters and closes their connections (tests, graceful shutdown). */
export async function closeRateLimiters(): Promise<void> {
  store.__framechainRateLimiters?.clear();
  await closeRedisConnections();
}

class RateLimitTimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {}); // a late failure after the timeout is already accounted for
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RateLimitTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const FAILURE_LOG_INTERVAL_MS = 30_000;
const lastFailureLogged = new Map<RateLimitBackend, number>();

/** An outage would fail every request: one error-log entry per backend per 30 s is enough. */
function reportFailure(stage: Stage, backend: RateLimitBackend, error: unknown) {
  const now = Date.now();
  if (now - (lastFailureLogged.get(backend) ?? 0) < FAILURE_LOG_INTERVAL_MS) return;
  lastFailureLogged.set(backend, now);
  const reason = error instanceof Error ? error.message : String(error);
  void recordError({
    type: "ratelimit",
    severity: "warning",
    message: `Rate-limit backend ${backend} failed, requests let through: ${reason}`,
    context: { stage, backend, timeout_ms: env.RATE_LIMIT_TIMEOUT_MS },
  });
}
