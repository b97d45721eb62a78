import { Ratelimit } from "@upstash/ratelimit";
import { Redis as UpstashRedis } from "@upstash/redis";
import type { RateLimitPolicy } from "./policies";
import type { Limiter, LimitResult, RateLimitBackend } from "./types";

/** What @upstash/ratelimit needs of a client: it only calls `evalsha`, then `eval` on NOSCRIPT. */
export type ScriptClient = {
  evalsha(hash: string, keys: string[], args: unknown[]): Promise<unknown>;
  eval(script: string, keys: string[], args: unknown[]): Promise<unknown>;
};

/** Identifiers remembered as "over the limit until reset" in process, so a flood spares the backend. */
const BLOCKED_CACHE_MAX = 10_000;

/** A Map that forgets its oldest entries beyond `max` (the ratelimit library's cache is unbounded). */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    this.delete(key);
    super.set(key, value);
    while (this.size > this.max) {
      const oldest = this.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    return this;
  }
}

/**
 * @upstash/ratelimit's sliding window (two fixed buckets, the previous one weighted) over
 * any client that runs its scripts. Its own timeout is off: the caller applies
 * RATE_LIMIT_TIMEOUT_MS and records the failure, which the library's silent "let through
 * after 5 s" would hide.
 */
export function slidingWindowLimiter(
  backend: RateLimitBackend,
  client: ScriptClient,
  policy: RateLimitPolicy,
  prefix: string,
): Limiter {
  const ratelimit = new Ratelimit({
    // The library types this as an @upstash/redis client; it only uses the two methods above.
    redis: client as unknown as ConstructorParameters<typeof Ratelimit>[0]["redis"],
    limiter: Ratelimit.slidingWindow(policy.limit, `${policy.windowMs} ms`),
    prefix,
    timeout: 0,
    analytics: false,
    enableTelemetry: false,
    ephemeralCache: new BoundedMap<string, number>(BLOCKED_CACHE_MAX),
  });
  return {
    backend,
    async limit(key: string): Promise<LimitResult> {
      const r = await ratelimit.limit(key);
      return { allowed: r.success, limit: r.limit, remaining: r.remaining, resetAt: r.reset };
    },
    async peek(key: string): Promise<LimitResult> {
      const r = await ratelimit.getRemaining(key);
      return { allowed: r.remaining > 0, limit: r.limit, remaining: r.remaining, resetAt: r.reset };
    },
  };
}

/** Upstash over its REST API; requests are aborted at the timeout and never retried. */
export function upstashLimiter(
  policy: RateLimitPolicy,
  prefix: string,
  connection: { url: string; token: string; timeoutMs: number },
): Limiter {
  const redis = new UpstashRedis({
    url: connection.url,
    token: connection.token,
    retry: false,
    enableTelemetry: false,
    signal: () => AbortSignal.timeout(connection.timeoutMs),
  });
  return slidingWindowLimiter("upstash", redis as unknown as ScriptClient, policy, prefix);
}
