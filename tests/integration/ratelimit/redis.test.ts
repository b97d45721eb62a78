import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  deleteKeys,
  eventually,
  type Loaded,
  loadWith,
  ratelimitErrors,
  startUpstashCompatibleServer,
} from "./helpers";

/**
 * The shared backends against a real Redis (TEST_REDIS_URL; CI sets it): a Redis server
 * through ioredis (REDIS_URL), and Upstash through the real @upstash/redis client talking
 * to a small Upstash-REST-compatible server over the same Redis. Each run uses its own key
 * prefix and deletes its keys afterwards.
 */

const redisUrl = process.env.TEST_REDIS_URL;
const prefix = `framechain-test:${randomUUID()}`;

// Without TEST_REDIS_URL the whole suite shows as skipped (and `npm test` says so at the start).
describe.skipIf(!redisUrl)("rate limiting on Redis and Upstash (TEST_REDIS_URL)", () => {
  let redis: Redis;
  let loaded: Loaded | null = null;
  const limits = { RATE_LIMIT_STITCH: "5/1h", RATE_LIMIT_VIDEO: "3/1h", RATE_LIMIT_PREFIX: prefix };

  beforeAll(() => {
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  });
  afterEach(async () => {
    await loaded?.ratelimit.closeRateLimiters();
    loaded = null;
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  /** Sends `count` requests for one IP and returns the decisions in order. */
  async function burst(
    ratelimit: Loaded["ratelimit"],
    stage: "stitch-complete" | "video-complete",
    ip: string,
    count: number,
  ) {
    const decisions = [];
    for (let i = 0; i < count; i++) decisions.push(await ratelimit.checkRateLimit(stage, ip));
    return decisions;
  }

  describe("REDIS_URL (ioredis running @upstash/ratelimit's scripts)", () => {
    it("allows exactly the limit, then refuses with the right headers", async () => {
      loaded = await loadWith({ REDIS_URL: redisUrl!, ...limits });
      const { ratelimit } = loaded;
      const ip = `10.1.0.${Math.floor(Math.random() * 250)}`;
      const decisions = await burst(ratelimit, "stitch-complete", ip, 7);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0]);
      expect(decisions.every((d) => d.backend === "redis" && !d.failedOpen && d.limit === 5)).toBe(
        true,
      );

      const refused = decisions[5]!;
      const headers = ratelimit.rateLimitHeaders(refused);
      expect(headers["X-RateLimit-Limit"]).toBe("5");
      expect(headers["X-RateLimit-Remaining"]).toBe("0");
      expect(Number(headers["X-RateLimit-Reset"])).toBeGreaterThan(Date.now() / 1000);
      expect(Number(headers["Retry-After"])).toBeGreaterThanOrEqual(1);
      expect(Number(headers["Retry-After"])).toBeLessThanOrEqual(3600);

      // The counts live in Redis under this run's prefix.
      const keys = await redis.keys(`${prefix}:stitch-complete:${ip}:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(await ratelimit.pingRateLimitBackend()).toEqual({ backend: "redis", ok: true });
    });

    it("keeps separate budgets per IP and per endpoint", async () => {
      loaded = await loadWith({ REDIS_URL: redisUrl!, ...limits });
      const { ratelimit } = loaded;
      const [a, b] = [`10.2.0.1-${randomUUID()}`, `10.2.0.2-${randomUUID()}`];
      expect((await burst(ratelimit, "video-complete", a, 4)).map((d) => d.allowed)).toEqual([
        true,
        true,
        true,
        false,
      ]);
      expect((await burst(ratelimit, "video-complete", b, 3)).every((d) => d.allowed)).toBe(true);
      expect((await burst(ratelimit, "stitch-complete", a, 5)).every((d) => d.allowed)).toBe(true);
      expect((await ratelimit.checkRateLimit("video-complete", a)).allowed).toBe(false);
    });

    it("shares one budget between app instances (separate connections, same Redis)", async () => {
      const ip = `10.3.0.1-${randomUUID()}`;
      const first = await loadWith({ REDIS_URL: redisUrl!, ...limits });
      expect((await burst(first.ratelimit, "video-complete", ip, 2)).every((d) => d.allowed)).toBe(
        true,
      );
      await first.ratelimit.closeRateLimiters();
      loaded = await loadWith({ REDIS_URL: redisUrl!, ...limits });
      expect(
        (await burst(loaded.ratelimit, "video-complete", ip, 2)).map((d) => d.allowed),
      ).toEqual([true, false]);
    });

    it("recovers when Redis forgets the scripts (restart, SCRIPT FLUSH)", async () => {
      loaded = await loadWith({ REDIS_URL: redisUrl!, ...limits });
      const ip = `10.4.0.1-${randomUUID()}`;
      await burst(loaded.ratelimit, "video-complete", ip, 2);
      await redis.script("FLUSH");
      const after = await burst(loaded.ratelimit, "video-complete", ip, 2);
      expect(after.map((d) => [d.allowed, d.failedOpen])).toEqual([
        [true, false],
        [false, false],
      ]);
    });
  });

  describe("Upstash (the real @upstash/redis client, over a local REST server)", () => {
    const token = `token-${randomUUID()}`;
    let server: Awaited<ReturnType<typeof startUpstashCompatibleServer>>;
    beforeAll(async () => {
      server = await startUpstashCompatibleServer(redisUrl!, token);
    });
    afterAll(async () => {
      await server.close();
    });

    it("is chosen over REDIS_URL, and allows exactly the limit", async () => {
      loaded = await loadWith({
        UPSTASH_REDIS_REST_URL: server.url,
        UPSTASH_REDIS_REST_TOKEN: token,
        REDIS_URL: "redis://127.0.0.1:1",
        ...limits,
      });
      const requestsBefore = server.requests();
      const ip = `10.5.0.1-${randomUUID()}`;
      const decisions = await burst(loaded.ratelimit, "stitch-complete", ip, 6);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect(decisions.every((d) => d.backend === "upstash" && !d.failedOpen)).toBe(true);
      expect(server.requests()).toBeGreaterThan(requestsBefore); // it really went over HTTP
      expect(await redis.keys(`${prefix}:stitch-complete:${ip}:*`)).not.toHaveLength(0);
    });

    it("fails open and logs when Upstash refuses the token", async () => {
      loaded = await loadWith({
        UPSTASH_REDIS_REST_URL: server.url,
        UPSTASH_REDIS_REST_TOKEN: "wrong",
        ...limits,
      });
      const before = (await ratelimitErrors(loaded.queries)).length;
      expect(await loaded.ratelimit.checkRateLimit("video-complete", "10.6.0.1")).toMatchObject({
        allowed: true,
        failedOpen: true,
        backend: "upstash",
      });
      const entries = await eventually(async () => {
        const items = await ratelimitErrors(loaded!.queries);
        return items.length > before ? items : null;
      });
      expect(entries[0]?.message).toMatch(/Unauthorized/);
    });
  });
});
