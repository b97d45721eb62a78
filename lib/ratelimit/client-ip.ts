/**
 * The client address a rate limit counts against (CONTRACT.md §2).
 *
 * Each proxy in front of the app appends the address it received the request from to
 * `X-Forwarded-For`, so only the rightmost entries were written by machines we trust;
 * everything to their left is whatever the client chose to send. With `hops` trusted
 * proxies, the client is the `hops`-th entry from the right. A shorter list means the
 * request skipped an outer proxy: its leftmost entry was still written by one of ours.
 *
 * Without `X-Forwarded-For`, `X-Real-IP` (which a proxy sets, replacing the client's).
 * `hops = 0` means no proxy at all: every header is the client's word, nothing is
 * trusted and all clients share one budget ("unknown").
 */
export function clientAddress(headers: Headers, hops: number): string {
  if (hops <= 0) return "unknown";
  const forwarded = (headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => normalize(entry))
    .filter((entry) => entry !== "");
  if (forwarded.length > 0) return forwarded[Math.max(0, forwarded.length - hops)]!;
  return normalize(headers.get("x-real-ip") ?? "") || "unknown";
}

/** Trimmed, bounded (a key, not a log of what was sent), lower case (IPv6 hex). */
function normalize(entry: string): string {
  return entry.trim().slice(0, 100).toLowerCase();
}
