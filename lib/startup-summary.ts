import { type Env, env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { simulatorEnabled } from "@/lib/services/endpoints";

/**
 * What this process runs with, said once at start (log), on `GET /api/health` and, when
 * callbacks are being refused, in a banner on every page. Also the one place that decides
 * whether a configuration cannot work at all (CONTRACT.md §5: the production demo either
 * works or refuses to start naming what is missing). Names and on/off only, never a value.
 */

type ServiceMode = "external" | "simulator" | "none";

/** The callback endpoints and the secret each one verifies with. */
const CALLBACK_SECRETS = [
  { endpoint: "video-complete", variable: "VIDEO_WEBHOOK_SECRET" },
  { endpoint: "last-frame-complete", variable: "LAST_FRAME_WEBHOOK_SECRET" },
  { endpoint: "stitch-complete", variable: "STITCH_WEBHOOK_SECRET" },
] as const;
type SecretName = (typeof CALLBACK_SECRETS)[number]["variable"];

export type StartupSummary = {
  environment: Env["NODE_ENV"];
  database: "postgres" | "pglite";
  rate_limit: "upstash" | "redis" | "memory";
  /** Who answers each outbound request: a configured URL, the built-in simulator, or nobody. */
  services: { video: ServiceMode; last_frame: ServiceMode; stitch: ServiceMode };
  /** Unset: notifications are recorded in the app only. */
  notifications: ServiceMode;
  secrets_set: SecretName[];
  secrets_missing: SecretName[];
  /** on: ADMIN_TOKEN required; off: open (development only); closed: production without a token. */
  admin_auth: "on" | "off" | "closed";
  /** Endpoints that accept an unsigned callback (development, no secret for them). */
  unsigned_callbacks_accepted: string[];
  /** Endpoints that refuse every callback with 503 (production, no secret for them). */
  callbacks_refused: string[];
  /** What will not work, short of stopping the server. */
  warnings: string[];
};

/** Mirrors lib/services/endpoints.ts: the simulator is on outside production unless turned off. */
function serviceMode(e: Env, configured: string | undefined): ServiceMode {
  if (configured && e.SIMULATOR_ENABLED !== true) return "external";
  return simulatorEnabled(e) ? "simulator" : "none";
}

export function describeStartup(e: Env): StartupSummary {
  const production = e.NODE_ENV === "production";
  // As lib/webhooks/verify.ts decides: an explicit choice, never in production.
  const acceptsUnsigned = e.ALLOW_UNSIGNED_CALLBACKS && !production;
  const set = CALLBACK_SECRETS.filter((s) => (e[s.variable]?.length ?? 0) > 0);
  const missing = CALLBACK_SECRETS.filter((s) => !set.includes(s));
  const services = {
    video: serviceMode(e, e.VIDEO_GENERATION_SERVICE),
    last_frame: serviceMode(e, e.LAST_FRAME_SERVICE_URL),
    stitch: serviceMode(e, e.STITCH_SERVICE_URL),
  };
  const warnings: string[] = [];
  const unreachable = Object.entries(services).filter(([, mode]) => mode === "none");
  if (unreachable.length > 0) {
    warnings.push(
      `No ${unreachable.map(([name]) => name.replace("_", "-")).join(", ")} service: set its URL (or SIMULATOR_ENABLED=true for a demo); projects cannot run until then.`,
    );
  }
  if (!acceptsUnsigned && missing.length > 0) {
    warnings.push(
      `Callbacks refused (503) on ${missing.map((s) => s.endpoint).join(", ")}: set ${missing.map((s) => s.variable).join(", ")}${production ? "" : " (or ALLOW_UNSIGNED_CALLBACKS=true while developing)"}.`,
    );
  }
  return {
    environment: e.NODE_ENV,
    database: e.DATABASE_URL ? "postgres" : "pglite",
    rate_limit:
      e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
        ? "upstash"
        : e.REDIS_URL
          ? "redis"
          : "memory",
    services,
    notifications:
      e.NOTIFICATION_SERVICE_URL && e.SIMULATOR_ENABLED !== true
        ? "external"
        : simulatorEnabled(e)
          ? "simulator"
          : "none",
    secrets_set: set.map((s) => s.variable),
    secrets_missing: missing.map((s) => s.variable),
    admin_auth: e.ADMIN_TOKEN ? "on" : production ? "closed" : "off",
    unsigned_callbacks_accepted: acceptsUnsigned ? missing.map((s) => s.endpoint) : [],
    callbacks_refused: acceptsUnsigned ? [] : missing.map((s) => s.endpoint),
    warnings,
  };
}

/**
 * Settings without which this configuration cannot work, each a sentence naming the
 * variable. Today: the production demo (simulator on, NODE_ENV=production) — its callbacks
 * would all be refused without the secrets, and its pages and routes need ADMIN_TOKEN.
 */
export function startupProblems(e: Env): string[] {
  if (e.NODE_ENV !== "production" || !simulatorEnabled(e)) return [];
  const problems: string[] = [];
  const missing = describeStartup(e).secrets_missing;
  if (missing.length > 0) {
    problems.push(
      `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set. In production a callback endpoint without its secret refuses every callback, so the simulator's results would never arrive. Set ${missing.length === 1 ? "it" : "each"} to a random value, e.g. ${missing[0]}=$(openssl rand -hex 32).`,
    );
  }
  if (!e.ADMIN_TOKEN) {
    problems.push(
      "ADMIN_TOKEN is not set. In production the pages, the API and the simulator need it: set it to at least 16 characters, e.g. ADMIN_TOKEN=$(openssl rand -hex 16).",
    );
  }
  return problems;
}

export function problemsMessage(problems: string[]): string {
  return [
    "The production demo (SIMULATOR_ENABLED=true with NODE_ENV=production) is missing settings:",
    ...problems.map((p) => `  - ${p}`),
  ].join("\n");
}

/** What stops this process's configuration from working (scripts/check-env.mjs, server start). */
export function configurationProblems(): string[] {
  return startupProblems(env);
}

/** The summary of this process's settings. */
export function startupSummary(): StartupSummary {
  return describeStartup(env);
}

/**
 * Called once by lib/server-start.ts: throws (the server then stops with the message) when
 * the configuration cannot work, otherwise logs the summary.
 */
export function announceStartup(): void {
  const problems = configurationProblems();
  if (problems.length > 0) throw new Error(problemsMessage(problems));
  const summary = startupSummary();
  log("info", "startup.summary", summary);
  for (const warning of summary.warnings) log("warn", "startup.warning", { message: warning });
}
