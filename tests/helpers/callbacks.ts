import { createHmac, randomUUID } from "node:crypto";

/** The secrets vitest.config.mts gives the test processes. */
export const TEST_SECRETS = {
  "video-complete": "test-video-secret",
  "last-frame-complete": "test-last-frame-secret",
  "stitch-complete": "whsec_dGVzdC1zdGl0Y2gtc2VjcmV0LWJ5dGVz",
} as const;
export type TestStage = keyof typeof TEST_SECRETS;

function key(secret: string) {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret);
}

/**
 * A callback Request as a service would send it, signed independently of the app's code
 * (hex, `sha256=` or Standard Webhooks), optionally to a `?ref=&sig=` URL.
 */
export function callbackRequest(
  stage: TestStage,
  body: unknown,
  options: {
    scheme?: "hex" | "sha256" | "standard" | "none";
    ref?: string;
    secret?: string;
    webhookId?: string;
    headers?: Record<string, string>;
    ip?: string;
    query?: string;
  } = {},
): Request {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const secret = options.secret ?? TEST_SECRETS[stage];
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-forwarded-for": options.ip ?? "203.0.113.7",
    ...options.headers,
  };
  const scheme = options.scheme ?? "sha256";
  if (scheme === "hex" || scheme === "sha256") {
    const hex = createHmac("sha256", key(secret)).update(raw).digest("hex");
    headers["x-webhook-signature"] = scheme === "sha256" ? `sha256=${hex}` : hex;
  } else if (scheme === "standard") {
    const id = options.webhookId ?? `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000).toString();
    const sig = createHmac("sha256", key(secret)).update(`${id}.${ts}.${raw}`).digest("base64");
    Object.assign(headers, {
      "webhook-id": id,
      "webhook-timestamp": ts,
      "webhook-signature": `v1,${sig}`,
    });
  }
  if (options.webhookId && scheme !== "standard") headers["webhook-id"] = options.webhookId;
  const url = new URL(`http://127.0.0.1:3999/api/webhooks/${stage}`);
  if (options.ref) {
    url.searchParams.set("ref", options.ref);
    url.searchParams.set(
      "sig",
      createHmac("sha256", key(secret)).update(`ref:${options.ref}`).digest("hex"),
    );
  }
  if (options.query) url.search += (url.search ? "&" : "") + options.query;
  return new Request(url, { method: "POST", headers, body: raw });
}

export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
