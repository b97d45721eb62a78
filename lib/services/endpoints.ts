import { env, isProduction } from "@/lib/env";
import { simulatorServiceKey } from "@/lib/simulator/service-key";
import { appUrl } from "./app-url";

/**
 * Where each service lives. Unset outside production → the built-in simulator
 * (SIMULATOR_ENABLED=false turns that off; =true forces it even when URLs are set).
 */
export function simulatorEnabled(): boolean {
  if (env.SIMULATOR_ENABLED !== undefined) return env.SIMULATOR_ENABLED;
  return !isProduction;
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
 * in — the simulator service key (required by a locked simulator, lib/simulator/access.ts).
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
