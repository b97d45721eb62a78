import { env, isProduction } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { hmacRaw, hmacSha256, safeEqual, signRef } from "@/lib/services/signing";
import { STAGES, type Stage } from "./stages";

/**
 * Authentication of inbound callbacks (CONTRACT.md §2): a callback is accepted when ANY of
 * the three schemes holds, over the exact raw body bytes, with any of the stage's
 * (comma-separated, rotating) secrets.
 *
 * Standard Webhooks is checked here on our own primitives rather than with the
 * `standardwebhooks` package: that package has a fixed 5-minute tolerance (ours is
 * WEBHOOK_TOLERANCE_SECONDS), throws on every mismatch, takes one secret per instance,
 * base64-decodes non-`whsec_` secrets (our contract uses their UTF-8 bytes) and re-decodes a
 * Buffer body as a string before signing. The tests cross-check against it.
 */

export type VerifyResult =
  | {
      ok: true;
      scheme: "hex" | "standard" | "signed-url" | "unsigned-dev";
      webhookId: string | null;
      /** Our job id from a signed callback URL; null unless its `sig` verified. */
      ref: string | null;
    }
  | { ok: false; status: 401 | 503; reason: string };

type Input = { headers: Headers; body: Uint8Array; url: URL; nowSeconds?: number };

/** A scheme that was attempted: matched, or why not. Absent headers are "not attempted". */
type Attempt = { matched: true } | { matched: false; reason: string };

export function verifyCallback(stage: Stage, input: Input): VerifyResult {
  const { headers, body, url } = input;
  const webhookId = headers.get("webhook-id");
  const secrets = STAGES[stage].secrets() ?? [];

  if (secrets.length === 0) return unconfigured(stage, webhookId);

  const hex = checkHexSignature(headers.get("x-webhook-signature"), body, secrets);
  const standard = checkStandardWebhooks(
    headers,
    body,
    secrets,
    input.nowSeconds ?? Math.floor(Date.now() / 1000),
  );
  const signedUrl = checkSignedUrl(url, secrets);
  const ref = signedUrl?.matched ? url.searchParams.get("ref") : null;

  const scheme = hex?.matched
    ? "hex"
    : standard?.matched
      ? "standard"
      : signedUrl?.matched
        ? "signed-url"
        : null;
  if (scheme) return { ok: true, scheme, webhookId, ref };

  const reasons = [
    hex && !hex.matched ? `X-Webhook-Signature: ${hex.reason}` : null,
    standard && !standard.matched ? `Standard Webhooks: ${standard.reason}` : null,
    signedUrl && !signedUrl.matched ? `signed URL: ${signedUrl.reason}` : null,
  ].filter((r): r is string => r !== null);
  if (reasons.length === 0) {
    reasons.push(
      "no signature: missing X-Webhook-Signature, webhook-id/-timestamp/-signature headers and ref/sig query",
    );
  }
  return { ok: false, status: 401, reason: reasons.join("; ") };
}

/** `X-Webhook-Signature: <hex>` or `sha256=<hex>` (a list separated by commas/spaces is accepted). */
function checkHexSignature(
  header: string | null,
  body: Uint8Array,
  secrets: string[],
): Attempt | null {
  if (header === null) return null;
  const candidates = header
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => decodeHex(s.replace(/^sha256=/i, "")))
    .filter((b): b is Buffer => b !== null);
  if (candidates.length === 0) return { matched: false, reason: "not a hex HMAC-SHA256" };
  for (const secret of secrets) {
    // The documented key is the secret as typed (`openssl dgst -hmac "$SECRET"`); a `whsec_`
    // secret is also tried base64-decoded, the key its Standard Webhooks signatures use.
    const keys = secret.startsWith("whsec_")
      ? [hmacRaw(secret, body), hmacSha256(secret, body)]
      : [hmacSha256(secret, body)];
    if (keys.some((expected) => candidates.some((c) => safeEqual(c, expected))))
      return { matched: true };
  }
  return { matched: false, reason: "no signature matched" };
}

/** Standard Webhooks: `v1,<base64>` list over `${id}.${timestamp}.${body}`, timestamp within tolerance. */
function checkStandardWebhooks(
  headers: Headers,
  body: Uint8Array,
  secrets: string[],
  now: number,
): Attempt | null {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signature = headers.get("webhook-signature");
  if (id === null && timestamp === null && signature === null) return null;
  // A lone webhook-id is also how some senders mark deliveries for dedup: not an attempt to sign.
  if (timestamp === null && signature === null) return null;

  const missing = [
    id === null && "webhook-id",
    timestamp === null && "webhook-timestamp",
    signature === null && "webhook-signature",
  ].filter(Boolean);
  if (missing.length > 0) return { matched: false, reason: `missing ${missing.join(", ")} header` };

  if (!/^\d{1,12}$/.test(timestamp!.trim()))
    return { matched: false, reason: "webhook-timestamp is not a Unix time in seconds" };
  const seconds = Number(timestamp!.trim());
  const tolerance = env.WEBHOOK_TOLERANCE_SECONDS;
  if (Math.abs(now - seconds) > tolerance) {
    const direction = seconds < now ? "old" : "in the future";
    return {
      matched: false,
      reason: `webhook-timestamp outside tolerance (${Math.abs(now - seconds)} s ${direction}, ±${tolerance} s allowed)`,
    };
  }

  // Space-separated; a repeated header arrives joined with ", ", so a trailing comma is dropped.
  const candidates = signature!
    .split(/\s+/)
    .map((entry) => /^v1,([A-Za-z0-9+/=_-]+),?$/.exec(entry)?.[1])
    .filter((b64): b64 is string => b64 !== undefined)
    .map((b64) => Buffer.from(b64, "base64"));
  if (candidates.length === 0)
    return { matched: false, reason: "webhook-signature has no v1 signature" };

  const signed = Buffer.concat([Buffer.from(`${id}.${seconds}.`, "utf8"), body]);
  for (const secret of secrets) {
    const expected = hmacSha256(secret, signed);
    if (candidates.some((c) => safeEqual(c, expected))) return { matched: true };
  }
  return { matched: false, reason: "no signature matched" };
}

/** `?ref=<job id>&sig=<hex hmac of ref>`, the callback URL we hand services that cannot sign. */
function checkSignedUrl(url: URL, secrets: string[]): Attempt | null {
  const ref = url.searchParams.get("ref");
  const sig = url.searchParams.get("sig");
  if (ref === null && sig === null) return null;
  if (!ref) return { matched: false, reason: "sig without ref" };
  if (!sig) return { matched: false, reason: "ref without sig (not trusted)" };
  const given = decodeHex(sig);
  if (
    given &&
    secrets.some((secret) => safeEqual(given, Buffer.from(signRef(secret, ref), "hex")))
  ) {
    return { matched: true };
  }
  return { matched: false, reason: "sig does not match ref" };
}

/** Hex (either case) to bytes; null for anything else, odd lengths included. Never throws. */
function decodeHex(text: string): Buffer | null {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) return null;
  return Buffer.from(text, "hex");
}

const warnedUnsigned = new Set<Stage>();
const lastMissingSecretLog = new Map<Stage, number>();
const MISSING_SECRET_LOG_INTERVAL_MS = 60_000;

/**
 * Whether an endpoint without a secret accepts unsigned callbacks: only when asked for
 * (ALLOW_UNSIGNED_CALLBACKS, which `npm run dev` sets), and never in production.
 */
export function acceptsUnsignedCallbacks(): boolean {
  return env.ALLOW_UNSIGNED_CALLBACKS && !isProduction;
}

/**
 * No secret for this stage. Unless unsigned callbacks were asked for (see above), every
 * callback is refused (503 naming the variable, logged at most once a minute per stage) —
 * a runner that forgets NODE_ENV does not open the endpoint.
 */
function unconfigured(stage: Stage, webhookId: string | null): VerifyResult {
  const name = STAGES[stage].secretName;
  if (!acceptsUnsignedCallbacks()) {
    const now = Date.now();
    if (now - (lastMissingSecretLog.get(stage) ?? 0) >= MISSING_SECRET_LOG_INTERVAL_MS) {
      lastMissingSecretLog.set(stage, now);
      log("error", "webhook.secret_missing", {
        stage,
        variable: name,
        effect: "every callback refused with 503",
      });
    }
    return { ok: false, status: 503, reason: `${name} is not configured` };
  }
  if (!warnedUnsigned.has(stage)) {
    warnedUnsigned.add(stage);
    log("warn", "webhook.unsigned_accepted", {
      stage,
      variable: name,
      hint: `set ${name} to require signatures`,
    });
  }
  return { ok: true, scheme: "unsigned-dev", webhookId, ref: null };
}
