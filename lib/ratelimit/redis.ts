import { createHash } from "node:crypto";
import Redis from "ioredis";
import { log } from "@/lib/observability/log";
import type { RateLimitPolicy } from "./policies";
import type { Limiter } from "./types";
import { type ScriptClient, slidingWindowLimiter } from "./upstash";

/**
 * A plain Redis server (REDIS_URL) through ioredis, running @upstash/ratelimit's scripts.
 *
 * Those scripts start with `#!lua flags=allow-key-locking`, which Redis 7.0 rejects, so the
 * adapter strips that line and remembers which hash of ours stands for the library's hash.
 * The client fails fast when the server is away (no offline queue, a command timeout) and
 * keeps reconnecting in the background; the caller lets requests through meanwhile.
 */

type Connection = { client: Redis; firstReady: Promise<void> };
const store = globalThis as unknown as { __framechainRateLimitRedis?: Map<string, Connection> };

const SHEBANG = /^#!lua[^\n]*\n/;
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const ERROR_LOG_INTERVAL_MS = 30_000;

export function redisConnection(url: string, timeoutMs: number): Connection {
  store.__framechainRateLimitRedis ??= new Map();
  const existing = store.__framechainRateLimitRedis.get(url);
  if (existing) return existing;

  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeoutMs, 1000),
    commandTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 500, 5000),
  });
  let lastErrorLog = 0;
  // Without a listener an "error" event would crash the process; reconnects repeat it, so throttle.
  client.on("error", (error: Error) => {
    if (Date.now() - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    lastErrorLog = Date.now();
    log("warn", "ratelimit.redis_error", { message: error.message });
  });
  // Requests made while the first connection is being set up wait for it (within the
  // caller's timeout) rather than failing open on a cold start; after that, no waiting.
  const firstReady = new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", reject);
  });
  firstReady.catch(() => {});
  const connection = { client, firstReady };
  store.__framechainRateLimitRedis.set(url, connection);
  return connection;
}

export function scriptClient({ client, firstReady }: Connection): ScriptClient {
  /** Library script hash → hash of the same script without its shebang line. */
  const hashes = new Map<string, string>();
  const ready = async () => {
    if (client.status !== "ready") await firstReady;
  };
  return {
    async evalsha(hash, keys, args) {
      await ready();
      const ours = hashes.get(hash);
      // The library answers NOSCRIPT by sending the script itself through eval().
      if (!ours) throw new Error("NOSCRIPT script not loaded through this adapter yet");
      return client.evalsha(ours, keys.length, ...keys, ...(args as (string | number)[]));
    },
    async eval(script, keys, args) {
      await ready();
      const stripped = script.replace(SHEBANG, "");
      hashes.set(sha1(script), sha1(stripped));
      return client.eval(stripped, keys.length, ...keys, ...(args as (string | number)[]));
    },
  };
}

export function redisLimiter(
  policy: RateLimitPolicy,
  prefix: string,
  url: string,
  timeoutMs: number,
): Limiter {
  return slidingWindowLimiter(
    "redis",
    scriptClient(redisConnection(url, timeoutMs)),
    policy,
    prefix,
  );
}

/** Closes every Redis connection this process opened for rate limiting (tests, shutdown). */
export async function closeRedisConnections(): Promise<void> {
  const connections = store.__framechainRateLimitRedis;
  if (!connections) return;
  store.__framechainRateLimitRedis = new Map();
  await Promise.all(
    [...connections.values()].map(({ client }) => client.quit().catch(() => client.disconnect())),
  );
}
