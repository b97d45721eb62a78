import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { MemorySlidingWindow } from "./memory";
import type { RateLimitPolicy } from "./policies";
import { redisLimiter } from "./redis";
import type { Limiter, LimitResult, RateLimitBackend } from "./types";
import { upstashLimiter } from "./upstash";

/**
 * The throttle on admin-token guessing (CONTRACT.md §4): wrong tokens, sent as a bearer
 * token, to the sign-in form or to the simulator, are counted per client address against
 * RATE_LIMIT_ADMIN_AUTH (default 20/1m) on the same backend as the callback limits. Once
 * an address has used its budget, every token it presents is refused with 429 until the
 * window frees a slot, the right one too: otherwise "429 = wrong, 200 = right" would let
 * guessing go on at full speed. Right tokens are never counted, so API clients that hold
 * the token are not throttled by this.
 *
 * Deliberately free of the database (the proxy runs it on every admin request): a backend
 * failure or timeout lets the attempt be judged on its token alone, and is logged.
 */

export type AdminAuthDecision = LimitResult & { failedOpen: boolean };

const KEY_PREFIX = "admin-auth:";
type Store = { __framechainAdminAuthLimiters?: Map<string, Limiter> };
const store = globalThis as unknown as Store;

function backend(): RateLimitBackend {
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) return "upstash";
  if (env.REDIS_URL) return "redis";
  return "memory";
}

function policy(): RateLimitPolicy {
  return env.RATE_LIMIT_ADMIN_AUTH;
}

function limiter(): Limiter {
  const kind = backend();
  const p = policy();
  const cacheKey = [kind, env.UPSTASH_REDIS_REST_URL, env.REDIS_URL, p.spec, env.RATE_LIMIT_PREFIX]
    .map(String)
    .join("|");
  store.__framechainAdminAuthLimiters ??= new Map();
  let found = store.__framechainAdminAuthLimiters.get(cacheKey);
  if (!found) {
    found =
      kind === "upstash"
        ? upstashLimiter(p, env.RATE_LIMIT_PREFIX, {
            url: env.UPSTASH_REDIS_REST_URL!,
            token: env.UPSTASH_REDIS_REST_TOKEN!,
            timeoutMs: env.RATE_LIMIT_TIMEOUT_MS,
          })
        : kind === "redis"
          ? redisLimiter(p, env.RATE_LIMIT_PREFIX, env.REDIS_URL!, env.RATE_LIMIT_TIMEOUT_MS)
          : new MemorySlidingWindow(p);
    store.__framechainAdminAuthLimiters.set(cacheKey, found);
  }
  return found;
}

async function ask(what: "peek" | "count", address: string): Promise<AdminAuthDecision> {
  const l = limiter();
  const key = `${KEY_PREFIX}${address}`;
  try {
    const pending = what === "peek" && l.peek ? l.peek(key) : l.limit(key);
    const result = await withTimeout(pending, env.RATE_LIMIT_TIMEOUT_MS);
    return { ...result, failedOpen: false };
  } catch (error) {
    log("warn", "auth.throttle_failed_open", {
      backend: l.backend,
      message: error instanceof Error ? error.message : String(error),
    });
    const { limit, windowMs } = policy();
    return {
      allowed: true,
      limit,
      remaining: limit,
      resetAt: Date.now() + windowMs,
      failedOpen: true,
    };
  }
}

/** Before judging a presented token: whether this address may still try one. Counts nothing. */
export function adminAuthGate(address: string): Promise<AdminAuthDecision> {
  return ask("peek", address);
}

/** After a wrong token: counts it; `allowed: false` once this one went over the budget. */
export async function recordWrongAdminToken(address: string): Promise<AdminAuthDecision> {
  const decision = await ask("count", address);
  // At most the budget's worth of lines per address and window: a flood is one line per
  // RATE_LIMIT_ADMIN_AUTH allowance, then silence until the window frees a slot.
  if (decision.allowed) log("warn", "auth.wrong_token", { address, remaining: decision.remaining });
  return decision;
}

/** `Retry-After` and `X-RateLimit-*` of a refused attempt. */
export function adminAuthHeaders(d: AdminAuthDecision): Record<string, string> {
  return {
    "Retry-After": String(Math.max(1, Math.ceil((d.resetAt - Date.now()) / 1000))),
    "X-RateLimit-Limit": String(d.limit),
    "X-RateLimit-Remaining": String(Math.max(0, d.remaining)),
    "X-RateLimit-Reset": String(Math.ceil(d.resetAt / 1000)),
    "Cache-Control": "no-store",
  };
}

/** The 429 answered to an address that used up its wrong-token budget. */
export function tooManyAuthAttempts(d: AdminAuthDecision): Response {
  return Response.json(
    { error: "Too many wrong admin tokens from this address; retry later" },
    { status: 429, headers: adminAuthHeaders(d) },
  );
}

/** Forgets the limiters (tests). Redis connections are shared with lib/ratelimit and closed there. */
export function resetAdminAuthLimiters(): void {
  store.__framechainAdminAuthLimiters?.clear();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
