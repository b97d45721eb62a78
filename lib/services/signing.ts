import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * HMAC key bytes for a secret: a `whsec_<base64>` secret is its decoded bytes (as the
 * Standard Webhooks libraries do); any other secret is its UTF-8 bytes.
 */
export function secretKey(secret: string): Buffer {
  return secret.startsWith("whsec_")
    ? Buffer.from(secret.slice(6), "base64")
    : Buffer.from(secret, "utf8");
}

export function hmacSha256(secret: string, data: string | Uint8Array): Buffer {
  return createHmac("sha256", secretKey(secret)).update(data).digest();
}

/** HMAC keyed with the secret's UTF-8 bytes exactly as written, `whsec_` prefix and all. */
export function hmacRaw(secret: string, data: string | Uint8Array): Buffer {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(data).digest();
}

/** Constant-time comparison that returns false (never throws) on a length mismatch. */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** The `sig` of a signed callback URL: hex HMAC of the job id (`ref`). */
export function signRef(secret: string, ref: string): string {
  return hmacSha256(secret, `ref:${ref}`).toString("hex");
}
