import { env, isProduction } from "@/lib/env";
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
