import { z } from "zod";

/**
 * Every setting of the app, parsed once. Nothing else reads process.env: import `env`.
 * An invalid value stops the process with a message naming the variable.
 */

const emptyAsUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(emptyAsUndefined, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(emptyAsUndefined, schema.prefault(fallback as never)); // prefault: the default goes through the schema (and its transforms) too

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const databaseUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://");
/** Comma-separated secrets (rotation: any one matching is enough). */
const secretList = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max);
/** "100/1m", "20/30s", "1000/1h" */
const rateLimit = z
  .string()
  .regex(/^\d+\s*\/\s*\d*\s*(ms|s|m|h|d)$/, 'must look like "100/1m"')
  .transform((s) => {
    const m = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h|d)$/.exec(s)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[3] as "s"];
    return { limit: Number(m[1]), windowMs: Number(m[2] || 1) * unit, spec: s };
  });
/** "5s,30s,2m,10m,30m,1h,3h,6h": the delays before each retry, in order (ms, s, m, h, d). */
const durationList = z
  .string()
  .regex(
    /^\s*\d+\s*(ms|s|m|h|d)\s*(,\s*\d+\s*(ms|s|m|h|d)\s*)*$/,
    'must be comma-separated durations such as "5s,30s,2m"',
  )
  .transform((s) =>
    s.split(",").map((part) => {
      const m = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(part)!;
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s"];
      return Number(m[1]) * unit;
    }),
  );
/** true/false, 1/0, yes/no, on/off (any case); anything else is refused rather than guessed. */
const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];
const boolean = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    const word = v.trim().toLowerCase();
    return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : v;
  },
  z.boolean({ error: "must be true or false (also accepted: 1/0, yes/no, on/off)" }),
);

export const envSchema = z.object({
  NODE_ENV: withDefault(z.enum(["development", "production", "test"]), "development"),
  PORT: withDefault(int(1, 65535), 3000),

  // Database: PostgreSQL when set, embedded PGlite in PGLITE_DATA_DIR otherwise.
  DATABASE_URL: optional(databaseUrl),
  PGLITE_DATA_DIR: withDefault(z.string(), ".data/pglite"),
  /**
   * Connections per pool (each web thread, dispatch thread and worker has one). Small on
   * purpose: past a few, more backends add PostgreSQL CPU per statement (more processes to
   * wake, fewer statements pipelined on one connection) without adding throughput; measured
   * in docs/benchmarks.md, "Session 6".
   */
  DATABASE_POOL_SIZE: withDefault(int(1, 200), 4),
  /** Prepare every statement on PostgreSQL (off for a pooler in transaction mode, e.g. PgBouncer). */
  DATABASE_PREPARE: withDefault(boolean, true),

  // Public address of this app (callback URLs are built from it at run time).
  APP_URL: optional(httpUrl),
  NEXT_PUBLIC_APP_URL: optional(httpUrl),

  // Inbound callbacks
  VIDEO_WEBHOOK_SECRET: optional(secretList),
  LAST_FRAME_WEBHOOK_SECRET: optional(secretList),
  STITCH_WEBHOOK_SECRET: optional(secretList),
  WEBHOOK_TOLERANCE_SECONDS: withDefault(int(1), 300),
  /**
   * Accept unsigned callbacks on endpoints that have no secret: an explicit choice (`npm run
   * dev` makes it), never a default, and ignored in production, which refuses them (503).
   */
  ALLOW_UNSIGNED_CALLBACKS: withDefault(boolean, false),
  WEBHOOK_MAX_BODY_BYTES: withDefault(int(64), 1_048_576),

  // Rate limiting
  RATE_LIMIT_VIDEO: withDefault(rateLimit, "100/1m"),
  RATE_LIMIT_LAST_FRAME: withDefault(rateLimit, "100/1m"),
  RATE_LIMIT_STITCH: withDefault(rateLimit, "50/1m"),
  /** Wrong admin tokens (bearer or sign-in form) per client address (CONTRACT.md §4). */
  RATE_LIMIT_ADMIN_AUTH: withDefault(rateLimit, "20/1m"),
  RATE_LIMIT_TIMEOUT_MS: withDefault(int(10, 10_000), 1000),
  /**
   * Proxies in front of the app that append to X-Forwarded-For: the client address is the
   * TRUSTED_PROXY_HOPS-th entry from the right (CONTRACT.md §2). 0: no proxy, trust no header.
   */
  TRUSTED_PROXY_HOPS: withDefault(int(0, 20), 1),
  /** Prefix of the rate-limit keys in Redis/Upstash (apps or test runs sharing one server). */
  RATE_LIMIT_PREFIX: withDefault(z.string().min(1), "framechain:ratelimit"),
  UPSTASH_REDIS_REST_URL: optional(httpUrl),
  UPSTASH_REDIS_REST_TOKEN: optional(z.string()),
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://")),

  // Outbound services (unset outside production: the built-in simulator answers)
  VIDEO_GENERATION_SERVICE: optional(httpUrl),
  VIDEO_GENERATION_API_KEY: optional(z.string()),
  LAST_FRAME_SERVICE_URL: optional(httpUrl),
  LAST_FRAME_API_KEY: optional(z.string()),
  STITCH_SERVICE_URL: optional(httpUrl),
  STITCH_API_KEY: optional(z.string()),
  NOTIFICATION_SERVICE_URL: optional(httpUrl),
  NOTIFICATION_API_KEY: optional(z.string()),
  SERVICE_TIMEOUT_MS: withDefault(int(100), 10_000),
  SERVICE_MAX_RETRIES: withDefault(int(0, 20), 5),
  SERVICE_RETRY_BASE_MS: withDefault(int(1, 60_000), 500),
  STAGE_TIMEOUT_SECONDS: withDefault(int(1), 1800),
  MAX_STAGE_ATTEMPTS: withDefault(int(1, 20), 3),
  /** `independent` projects: scenes generated at once, at most this many per project. */
  MAX_PARALLEL_SCENES: withDefault(int(1, 100), 4),
  DISPATCH_SWEEP_INTERVAL_MS: withDefault(int(0), 2000),
  /** With PostgreSQL: each web process dispatches on a worker thread; false leaves it to `npm run worker`. */
  DISPATCH_IN_WEB: withDefault(boolean, true),
  CRON_SECRET: optional(z.string().min(16, "must be at least 16 characters")),

  // Outgoing webhooks: users' endpoints subscribed to project events (CONTRACT §6)
  SUBSCRIPTION_RETRY_SCHEDULE: withDefault(durationList, "5s,30s,2m,10m,30m,1h,3h,6h"),
  /** An endpoint whose deliveries have all failed for this long is disabled (error log). */
  SUBSCRIPTION_DISABLE_AFTER_HOURS: withDefault(z.coerce.number().positive(), 72),
  SUBSCRIPTION_TIMEOUT_MS: withDefault(int(100, 60_000), 10_000),
  /** Succeeded and failed deliveries (response bodies included) are deleted after this many days; 0 keeps them. */
  SUBSCRIPTION_DELIVERY_RETENTION_DAYS: withDefault(z.coerce.number().min(0), 30),
  /** Production refuses endpoints on loopback, private and link-local addresses unless true. */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: withDefault(boolean, false),

  // Built-in simulator of the three services
  SIMULATOR_ENABLED: optional(boolean),
  SIMULATOR_DELAY_MS: withDefault(int(0), 1500),
  SIMULATOR_FAILURE_RATE: withDefault(z.coerce.number().min(0).max(1), 0),
  SIMULATOR_DUPLICATE_RATE: withDefault(z.coerce.number().min(0).max(1), 0),
  SIMULATOR_SILENCE_RATE: withDefault(z.coerce.number().min(0).max(1), 0),
  SIMULATOR_SHUFFLE: withDefault(boolean, false),
  SIMULATOR_PROGRESS_STEPS: withDefault(int(0, 10), 2),
  SIMULATOR_UNAVAILABLE_RATE: withDefault(z.coerce.number().min(0).max(1), 0),
  SIMULATOR_EARLY_CALLBACK_RATE: withDefault(z.coerce.number().min(0).max(1), 0),

  // Operations
  ADMIN_TOKEN: optional(z.string().min(16, "must be at least 16 characters")),
  SENTRY_DSN: optional(z.url()),
  SENTRY_ENVIRONMENT: optional(z.string()),
  // Browser errors: inlined into the client bundle at build time (so set it before `next build`).
  NEXT_PUBLIC_SENTRY_DSN: optional(z.url()),
  // Source-map upload at build time; skipped unless SENTRY_AUTH_TOKEN is set.
  SENTRY_AUTH_TOKEN: optional(z.string()),
  SENTRY_ORG: optional(z.string()),
  SENTRY_PROJECT: optional(z.string()),
  LOG_LEVEL: withDefault(z.enum(["debug", "info", "warn", "error", "silent"]), "info"),
  LOG_FORMAT: optional(z.enum(["json", "pretty"])),
});

export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(
      `Invalid configuration:\n${lines.join("\n")}\nSee .env.example for every setting.`,
    );
  }
  return result.data;
}

export const env: Env = parseEnv(process.env);
export const isProduction = env.NODE_ENV === "production";
