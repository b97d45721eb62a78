import { randomBytes } from "node:crypto";
import type { CallbackStage } from "./stand-ins";

/** Fresh secrets for one run: callbacks are signed with these, the admin API and cron tick need them. */
export function runSecrets() {
  const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;
  const webhook: Record<CallbackStage, string> = {
    "video-complete": secret("video"),
    "last-frame-complete": secret("frame"),
    "stitch-complete": secret("stitch"),
  };
  return { webhook, adminToken: secret("admin"), cronSecret: secret("cron") };
}
export type RunSecrets = ReturnType<typeof runSecrets>;

/** The server settings both scripts share: production mode, signed callbacks, no rate limit in the way. */
export function appEnv(options: {
  port: number;
  secrets: RunSecrets;
  database: { url: string } | { pgliteDir: string };
  services: Record<string, string>;
  extra?: Record<string, string>;
}): Record<string, string> {
  const { port, secrets } = options;
  return {
    NODE_ENV: "production",
    PORT: String(port),
    APP_URL: `http://127.0.0.1:${port}`,
    ...("url" in options.database
      ? { DATABASE_URL: options.database.url }
      : { PGLITE_DATA_DIR: options.database.pgliteDir }),
    VIDEO_WEBHOOK_SECRET: secrets.webhook["video-complete"],
    LAST_FRAME_WEBHOOK_SECRET: secrets.webhook["last-frame-complete"],
    STITCH_WEBHOOK_SECRET: secrets.webhook["stitch-complete"],
    ADMIN_TOKEN: secrets.adminToken,
    CRON_SECRET: secrets.cronSecret,
    // One client address sends everything here: the limit must not be what is measured.
    RATE_LIMIT_VIDEO: "10000000/1m",
    RATE_LIMIT_LAST_FRAME: "10000000/1m",
    RATE_LIMIT_STITCH: "10000000/1m",
    LOG_FORMAT: "json",
    ...options.services,
    ...options.extra,
  };
}

/** JSON request to the app's admin API. */
export async function adminFetch(
  baseUrl: string,
  secrets: RunSecrets,
  path: string,
  body?: unknown,
) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${secrets.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, json: json as Record<string, unknown> | null, text };
}
