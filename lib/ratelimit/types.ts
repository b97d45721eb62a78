export type RateLimitBackend = "memory" | "redis" | "upstash";

/** What one backend answers for one request; `resetAt` is epoch ms. */
export type LimitResult = { allowed: boolean; limit: number; remaining: number; resetAt: number };

export interface Limiter {
  readonly backend: RateLimitBackend;
  /** Counts one request of `key` and says whether it is within the budget. May throw or hang: the caller bounds it. */
  limit(key: string): Promise<LimitResult>;
  /** The same answer without counting a request (`allowed`: whether one more would be). */
  peek?(key: string): Promise<LimitResult>;
}
