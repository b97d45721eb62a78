import type { RateLimitPolicy } from "./policies";
import type { Limiter, LimitResult } from "./types";

/** Clients tracked at once per endpoint; the least recently seen is forgotten beyond this. */
const DEFAULT_MAX_KEYS = 10_000;

/**
 * In-process sliding window (the default backend, one process only): the exact log of each
 * client's request times within the last window. A client holds at most `limit` entries,
 * and at most `maxKeys` clients are kept (least recently seen evicted first), so memory is
 * bounded whatever the traffic.
 */
export class MemorySlidingWindow implements Limiter {
  readonly backend = "memory" as const;
  /** key → times (ms) of its counted requests inside the window, oldest first; Map order = recency. */
  private readonly hits = new Map<string, number[]>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(
    private readonly policy: Pick<RateLimitPolicy, "limit" | "windowMs">,
    options: { maxKeys?: number; now?: () => number } = {},
  ) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? Date.now;
  }

  async limit(key: string): Promise<LimitResult> {
    return this.take(key);
  }

  async peek(key: string): Promise<LimitResult> {
    const { limit, windowMs } = this.policy;
    const now = this.now();
    const times = (this.hits.get(key) ?? []).filter((t) => t > now - windowMs);
    const resetAt = (times[0] ?? now) + windowMs;
    return {
      allowed: times.length < limit,
      limit,
      remaining: Math.max(0, limit - times.length),
      resetAt,
    };
  }

  take(key: string): LimitResult {
    const { limit, windowMs } = this.policy;
    const now = this.now();
    const times = this.hits.get(key) ?? [];
    const firstInWindow = times.findIndex((t) => t > now - windowMs);
    if (firstInWindow !== 0) times.splice(0, firstInWindow === -1 ? times.length : firstInWindow);

    const allowed = times.length < limit;
    if (allowed) times.push(now);

    this.hits.delete(key); // re-inserted last: most recently seen
    if (times.length > 0) this.hits.set(key, times);
    while (this.hits.size > this.maxKeys) {
      const oldest = this.hits.keys().next().value;
      if (oldest === undefined) break;
      this.hits.delete(oldest);
    }

    // The next slot frees when the oldest counted request leaves the window.
    const resetAt = (times[0] ?? now) + windowMs;
    return { allowed, limit, remaining: Math.max(0, limit - times.length), resetAt };
  }

  /** Clients currently tracked (for tests of the memory bound). */
  get size(): number {
    return this.hits.size;
  }
}
