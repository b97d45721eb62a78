/**
 * Delay before retry n (1-based): exponential with full jitter, capped, and never
 * shorter than the service's Retry-After.
 */
export function backoffMs(
  retry: number,
  { baseMs = 500, capMs = 60_000, retryAfterMs, random = Math.random } = {} as {
    baseMs?: number;
    capMs?: number;
    retryAfterMs?: number;
    random?: () => number;
  },
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, 10 * capMs));
}
