import { createHmac } from "node:crypto";
import { type Env, env } from "@/lib/env";
import { appUrl } from "./app-url";

/**
 * Where each service lives. Unset outside production → the built-in simulator
 * (SIMULATOR_ENABLED=false turns that off; =true forces it even when URLs are set).
 */
export function simulatorEnabled(e: Pick<Env, "SIMULATOR_ENABLED" | "NODE_ENV"> = env): boolean {
  return e.SIMULATOR_ENABLED ?? e.NODE_ENV !== "production";
}

function resolve(configured: string | undefined, simulatorPath: string): string | null {
  if (configured && env.SIMULATOR_ENABLED !== true) return configured.replace(/\/+$/, "");
  return simulatorEnabled() ? `${appUrl()}/api/simulator/${simulatorPath}` : null;
}

export const serviceBase = {
  video: () => resolve(env.VIDEO_GENERATION_SERVICE, "video"),
  lastFrame: () => resolve(env.LAST_FRAME_SERVICE_URL, "last-frame"),
  stitch: () => resolve(env.STITCH_SERVICE_URL, "stitch"),
  /** Unset: notifications are recorded in the app only (unless the simulator stands in). */
  notify: () => {
    if (env.NOTIFICATION_SERVICE_URL && env.SIMULATOR_ENABLED !== true)
      return env.NOTIFICATION_SERVICE_URL;
    return simulatorEnabled() ? `${appUrl()}/api/simulator/notify` : null;
  },
};

/** Whether the simulator stands in for a service whose URL setting is `configured`. */
function simulated(configured: string | undefined): boolean {
  return !(configured && env.SIMULATOR_ENABLED !== true) && simulatorEnabled();
}

/**
 * The key sent to each service: its configured API key, or — when the simulator stands
 * in — the simulator service key (required by a locked simulator, lib/auth/simulator-access.ts).
 */
export const serviceKey = {
  video: () =>
    simulated(env.VIDEO_GENERATION_SERVICE)
      ? (simulatorServiceKey() ?? env.VIDEO_GENERATION_API_KEY)
      : env.VIDEO_GENERATION_API_KEY,
  lastFrame: () =>
    simulated(env.LAST_FRAME_SERVICE_URL)
      ? (simulatorServiceKey() ?? env.LAST_FRAME_API_KEY)
      : env.LAST_FRAME_API_KEY,
  stitch: () =>
    simulated(env.STITCH_SERVICE_URL)
      ? (simulatorServiceKey() ?? env.STITCH_API_KEY)
      : env.STITCH_API_KEY,
  notify: () =>
    simulated(env.NOTIFICATION_SERVICE_URL)
      ? (simulatorServiceKey() ?? env.NOTIFICATION_API_KEY)
      : env.NOTIFICATION_API_KEY,
};

/**
 * The key this app's outbound client presents to its own simulator when ADMIN_TOKEN is
 * set (the simulator then requires it, lib/auth/simulator-access.ts): an HMAC of the
 * token, so the token itself never travels and the key opens nothing but the simulator.
 * Null when no ADMIN_TOKEN is set (an open simulator asks for nothing).
 */
export function simulatorServiceKey(): string | null {
  if (!env.ADMIN_TOKEN) return null;
  return createHmac("sha256", env.ADMIN_TOKEN)
    .update("framechain-simulator-service-key:v1")
    .digest("hex");
}

const SIMULATOR_MEDIA_PATH = /^\/api\/simulator\/media\/[^/]+\/[a-z-]+\.(svg|mp4)$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * A simulator media URL made to work wherever this app now answers: the URL carries the
 * address the app had when the media were made (`http://localhost:3000/…`), which is wrong
 * after a port or host change. Loopback addresses are rebased onto APP_URL; anything else
 * (a real service's URL, a public APP_URL) is returned as it is.
 */
export function currentMediaUrl(url: string): string;
export function currentMediaUrl(url: string | null): string | null;
export function currentMediaUrl(url: string | null): string | null {
  if (!url) return url;
  try {
    const { pathname, hostname } = new URL(url);
    if (SIMULATOR_MEDIA_PATH.test(pathname) && LOOPBACK.has(hostname))
      return `${appUrl()}${pathname}`;
  } catch {}
  return url;
}
