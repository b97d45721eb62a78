import type { Env } from "@/lib/env";

/**
 * The simulator's own rules for a production demo (SIMULATOR_ENABLED=true with
 * NODE_ENV=production, CONTRACT.md §5): what it needs that the app cannot provide by
 * itself, each a sentence naming the setting. Empty when the simulator is off, outside
 * production, or when all is there. The start-up check (lib/startup-summary.ts) refuses
 * to start on any of these; the simulator's routes answer 503 with them meanwhile.
 *
 * What the app provides by itself: the address it calls back (APP_URL, else
 * NEXT_PUBLIC_APP_URL, else this server's own http://localhost:$PORT), and the key its
 * outbound client presents to the simulator (derived from ADMIN_TOKEN).
 */
export function simulatorProductionProblems(e: Env): string[] {
  const enabled = e.SIMULATOR_ENABLED ?? e.NODE_ENV !== "production";
  if (e.NODE_ENV !== "production" || !enabled) return [];
  const problems: string[] = [];
  if (!e.ADMIN_TOKEN) {
    problems.push(
      "ADMIN_TOKEN is not set: in production the simulator's routes, like /api/v1/* and the pages, need it (at least 16 characters, e.g. ADMIN_TOKEN=$(openssl rand -hex 16)).",
    );
  }
  const missing = (
    ["VIDEO_WEBHOOK_SECRET", "LAST_FRAME_WEBHOOK_SECRET", "STITCH_WEBHOOK_SECRET"] as const
  ).filter((name) => !e[name]?.length);
  if (missing.length > 0) {
    problems.push(
      `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set: in production a callback endpoint without its secret refuses every callback, so the simulator's results would never arrive (e.g. ${missing[0]}=$(openssl rand -hex 32)).`,
    );
  }
  return problems;
}
