import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Redis from "ioredis";
import { vi } from "vitest";

/** Shared by the rate-limit integration tests (not a test file itself). */

export type Loaded = {
  ratelimit: typeof import("@/lib/ratelimit");
  queries: typeof import("@/lib/observability/queries");
};

const BACKEND_VARS = ["REDIS_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"];

/**
 * Fresh lib modules (lib/env is parsed on import) under these settings; rate-limit backend
 * variables not given are unset. Restores process.env afterwards.
 */
export async function loadWith(vars: Record<string, string>): Promise<Loaded> {
  const names = [...new Set([...BACKEND_VARS, ...Object.keys(vars)])];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const name of BACKEND_VARS) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    vi.resetModules();
    const ratelimit = await import("@/lib/ratelimit");
    await ratelimit.closeRateLimiters(); // limiters live on globalThis: start from none
    const queries = await import("@/lib/observability/queries");
    return { ratelimit, queries };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Polls until `probe` returns something other than null/undefined (or fails after `ms`). */
export async function eventually<T>(
  probe: () => Promise<T | null | undefined>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function ratelimitErrors(queries: Loaded["queries"]) {
  return (await queries.listErrors({ type: "ratelimit" })).items;
}

/** Deletes every key under `prefix` (each test run uses its own prefix). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/**
 * A minimal Upstash-REST-compatible server over a real Redis (loopback only), so the
 * @upstash/redis client itself is exercised: POST / with a JSON command array and a
 * bearer token; `{result}` or `{error}`; strings base64-encoded when asked
 * (`Upstash-Encoding: base64`); POST /pipeline for batches. Like Upstash, it accepts the scripts' `#!lua` flags line,
 * which the local Redis 7.0 does not, by stripping it.
 */
export async function startUpstashCompatibleServer(redisUrl: string, token: string) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const hashes = new Map<string, string>();
  let requests = 0;

  const encode = (value: unknown): unknown =>
    typeof value === "string"
      ? Buffer.from(value).toString("base64")
      : Array.isArray(value)
        ? value.map(encode)
        : value;

  type Command = [string, ...(string | number)[]];
  async function run([command, ...args]: Command): Promise<unknown> {
    const name = command.toLowerCase();
    if (name === "eval") {
      const [script, ...rest] = args;
      const stripped = String(script).replace(/^#!lua[^\n]*\n/, "");
      hashes.set(sha1(String(script)), sha1(stripped));
      return redis.eval(stripped, ...(rest as [number, ...(string | number)[]]));
    }
    if (name === "evalsha") {
      const [hash, ...rest] = args;
      const ours = hashes.get(String(hash));
      if (!ours) throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      return redis.evalsha(ours, ...(rest as [number, ...(string | number)[]]));
    }
    return redis.call(command, ...args);
  }

  const server = http.createServer(async (req, res) => {
    requests++;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST" || req.headers.authorization !== `Bearer ${token}`) {
      return send(401, { error: "Unauthorized" });
    }
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const base64 = req.headers["upstash-encoding"] === "base64";
    const reply = (result: unknown) => ({ result: base64 ? encode(result) : result });
    try {
      const body = JSON.parse(raw) as Command | Command[];
      // POST /pipeline (what auto-pipelining sends): a list of commands, a list of answers.
      if (req.url?.startsWith("/pipeline")) {
        const answers = [];
        for (const command of body as Command[]) {
          try {
            answers.push(reply(await run(command)));
          } catch (error) {
            answers.push({ error: (error as Error).message });
          }
        }
        return send(200, answers);
      }
      send(200, reply(await run(body as Command)));
    } catch (error) {
      send(400, { error: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await redis.quit();
    },
  };
}
