import { afterEach, describe, expect, it, vi } from "vitest";
import { MemorySlidingWindow } from "@/lib/ratelimit/memory";

/** The in-process backend (the default) and the request/response helpers around every backend. */

type RateLimitModule = typeof import("@/lib/ratelimit");

/** A fresh lib/ratelimit (and lib/env) under these settings, on the memory backend. */
async function withEnv(vars: Record<string, string | undefined>): Promise<RateLimitModule> {
  const names = [
    "REDIS_URL",
    "UPSTASH_REDIS_REST_URL",
    "UPSTASH_REDIS_REST_TOKEN",
    ...Object.keys(vars),
  ];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  delete process.env.REDIS_URL;
  delete process.env.UPSTASH_REDIS_REST_URL;
  delete process.env.UPSTASH_REDIS_REST_TOKEN;
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    vi.resetModules();
    const mod = await import("@/lib/ratelimit");
    await mod.closeRateLimiters(); // limiters live on globalThis: start each test from none
    return mod;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("MemorySlidingWindow", () => {
  it("allows exactly `limit` requests per window, counting remaining down", () => {
    let now = 1_000_000;
    const limiter = new MemorySlidingWindow({ limit: 3, windowMs: 1000 }, { now: () => now });
    const results = [0, 1, 2, 3, 4].map(() => {
      now += 10;
      return limiter.take("ip");
    });
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(results.every((r) => r.limit === 3)).toBe(true);
    // The next slot frees when the first counted request (at 1_000_010) leaves the window.
    expect(results[3]?.resetAt).toBe(1_000_010 + 1000);
  });

  it("slides: each slot frees exactly one window after the request that used it", () => {
    let now = 0;
    const limiter = new MemorySlidingWindow({ limit: 3, windowMs: 1000 }, { now: () => now });
    for (const t of [0, 400, 800]) {
      now = t;
      expect(limiter.take("ip").allowed).toBe(true);
    }
    now = 999;
    expect(limiter.take("ip").allowed).toBe(false); // refused requests are not counted…
    now = 1000;
    expect(limiter.take("ip")).toMatchObject({ allowed: true, remaining: 0 }); // …so the slot of t=0 is free
    now = 1001;
    expect(limiter.take("ip").allowed).toBe(false);
    now = 1400;
    expect(limiter.take("ip").allowed).toBe(true);
    now = 5000; // long after: the whole budget is back
    expect(limiter.take("ip")).toMatchObject({ allowed: true, remaining: 2 });
  });

  it("keeps separate budgets per key", () => {
    const limiter = new MemorySlidingWindow({ limit: 1, windowMs: 60_000 });
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("a").allowed).toBe(false);
    expect(limiter.take("b").allowed).toBe(true);
  });

  it("bounds memory: forgets the least recently seen clients beyond maxKeys", () => {
    let now = 0;
    const limiter = new MemorySlidingWindow(
      { limit: 2, windowMs: 60_000 },
      { maxKeys: 100, now: () => now },
    );
    limiter.take("busy");
    limiter.take("busy");
    for (let i = 0; i < 1000; i++) {
      now += 1;
      limiter.take(`client-${i}`);
      if (i % 50 === 0) limiter.take("busy"); // refused, but seen: stays recent
    }
    expect(limiter.size).toBe(100);
    expect(limiter.take("busy").allowed).toBe(false); // still remembered as over its limit
    expect(limiter.take("client-0").allowed).toBe(true); // evicted long ago: a fresh budget
    expect(limiter.take("client-0")).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describe("checkRateLimit on the memory backend", () => {
  it("applies the endpoint's configured limit per IP, then recovers after the window", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const { checkRateLimit } = await withEnv({
      RATE_LIMIT_STITCH: "3/1m",
      RATE_LIMIT_VIDEO: "100/1m",
    });

    const decisions = [];
    for (let i = 0; i < 4; i++)
      decisions.push(await checkRateLimit("stitch-complete", "203.0.113.7"));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]).toMatchObject({
      limit: 3,
      remaining: 0,
      backend: "memory",
      failedOpen: false,
    });

    // Another IP, and the same IP on another endpoint, have their own budgets.
    expect((await checkRateLimit("stitch-complete", "203.0.113.8")).allowed).toBe(true);
    expect(await checkRateLimit("video-complete", "203.0.113.7")).toMatchObject({
      allowed: true,
      limit: 100,
    });

    vi.setSystemTime(new Date("2026-01-01T00:00:59.999Z"));
    expect((await checkRateLimit("stitch-complete", "203.0.113.7")).allowed).toBe(false);
    vi.setSystemTime(new Date("2026-01-01T00:01:00.001Z"));
    // The three counted requests (all at 00:00:00 on the frozen clock) have left the window.
    expect(await checkRateLimit("stitch-complete", "203.0.113.7")).toMatchObject({
      allowed: true,
      remaining: 2,
    });
  });

  it("uses the documented defaults: 100/min video and last-frame, 50/min stitch", async () => {
    // vitest.config.mts raises the limits for the other tests: remove them to see the defaults.
    const { checkRateLimit } = await withEnv({
      RATE_LIMIT_VIDEO: undefined,
      RATE_LIMIT_LAST_FRAME: undefined,
      RATE_LIMIT_STITCH: undefined,
    });
    expect((await checkRateLimit("video-complete", "198.51.100.1")).limit).toBe(100);
    expect((await checkRateLimit("last-frame-complete", "198.51.100.1")).limit).toBe(100);
    expect((await checkRateLimit("stitch-complete", "198.51.100.1")).limit).toBe(50);
    for (let i = 0; i < 49; i++) await checkRateLimit("stitch-complete", "198.51.100.1");
    expect((await checkRateLimit("stitch-complete", "198.51.100.1")).allowed).toBe(false);
  });
});

describe("rateLimitHeaders", () => {
  it("always sends limit, remaining and reset (epoch seconds); Retry-After only when refused", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_800_000_000_000);
    const { rateLimitHeaders } = await withEnv({});
    const base = {
      limit: 100,
      remaining: 7,
      resetAt: 1_800_000_042_500,
      backend: "memory" as const,
      failedOpen: false,
    };
    expect(rateLimitHeaders({ ...base, allowed: true })).toEqual({
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "7",
      "X-RateLimit-Reset": "1800000043",
    });
    expect(rateLimitHeaders({ ...base, allowed: false, remaining: 0 })).toEqual({
      "X-RateLimit-Limit": "100",
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": "1800000043",
      "Retry-After": "43",
    });
    // Never "Retry-After: 0": a reset that is due now still asks for one second.
    expect(
      rateLimitHeaders({ ...base, allowed: false, resetAt: 1_800_000_000_000 })["Retry-After"],
    ).toBe("1");
  });

  it("matches what checkRateLimit decided", async () => {
    const { checkRateLimit, rateLimitHeaders } = await withEnv({ RATE_LIMIT_VIDEO: "1/30s" });
    await checkRateLimit("video-complete", "192.0.2.1");
    const refused = await checkRateLimit("video-complete", "192.0.2.1");
    const headers = rateLimitHeaders(refused);
    expect(headers["X-RateLimit-Limit"]).toBe("1");
    expect(Number(headers["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(Number(headers["Retry-After"])).toBeLessThanOrEqual(30);
    expect(Number(headers["X-RateLimit-Reset"]) * 1000).toBeGreaterThanOrEqual(refused.resetAt);
  });
});

describe("clientIp (CONTRACT.md §2: the TRUSTED_PROXY_HOPS-th X-Forwarded-For entry from the right)", () => {
  const request = (headers: Record<string, string>) =>
    new Request("http://localhost/api/webhooks/video-complete", { headers });

  it("takes the entry our one proxy appended by default, never the client's own entries", async () => {
    const { clientIp } = await withEnv({ TRUSTED_PROXY_HOPS: undefined });
    // The client wrote "1.2.3.4, 5.6.7.8"; our proxy appended 203.0.113.9.
    expect(clientIp(request({ "X-Forwarded-For": "1.2.3.4, 5.6.7.8, 203.0.113.9" }))).toBe(
      "203.0.113.9",
    );
    expect(clientIp(request({ "X-Forwarded-For": " 203.0.113.9 " }))).toBe("203.0.113.9");
    expect(clientIp(request({ "X-Forwarded-For": "2001:DB8::1", "X-Real-IP": "10.0.0.5" }))).toBe(
      "2001:db8::1",
    );
  });

  it("gives the same address whatever the client prepends", async () => {
    const { clientIp } = await withEnv({ TRUSTED_PROXY_HOPS: undefined });
    const seen = new Set(
      ["", "9.9.9.9, ", "1.1.1.1, 2.2.2.2, ", "garbage, , "].map((forged) =>
        clientIp(request({ "X-Forwarded-For": `${forged}198.51.100.7` })),
      ),
    );
    expect([...seen]).toEqual(["198.51.100.7"]);
  });

  it("counts TRUSTED_PROXY_HOPS from the right, and takes the leftmost of a shorter list", async () => {
    const { clientIp } = await withEnv({ TRUSTED_PROXY_HOPS: "2" });
    // client forged 1.2.3.4; CDN appended the client's 198.51.100.7; LB appended the CDN's 10.0.0.2
    expect(clientIp(request({ "X-Forwarded-For": "1.2.3.4, 198.51.100.7, 10.0.0.2" }))).toBe(
      "198.51.100.7",
    );
    // reached the LB directly: only its entry
    expect(clientIp(request({ "X-Forwarded-For": "198.51.100.8" }))).toBe("198.51.100.8");
    expect(clientIp(request({ "X-Forwarded-For": "a, b, c, d" }), 3)).toBe("b");
  });

  it("falls back to X-Real-IP, then unknown; trusts no header with TRUSTED_PROXY_HOPS=0", async () => {
    const { clientIp } = await withEnv({ TRUSTED_PROXY_HOPS: undefined });
    expect(clientIp(request({ "X-Real-IP": "10.0.0.5" }))).toBe("10.0.0.5");
    expect(clientIp(request({ "X-Forwarded-For": " , ", "X-Real-IP": "10.0.0.6" }))).toBe(
      "10.0.0.6",
    );
    expect(clientIp(request({}))).toBe("unknown");
    const none = await withEnv({ TRUSTED_PROXY_HOPS: "0" });
    expect(
      none.clientIp(request({ "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "10.0.0.5" })),
    ).toBe("unknown");
  });

  it("refuses a TRUSTED_PROXY_HOPS that is not a small whole number", async () => {
    await expect(withEnv({ TRUSTED_PROXY_HOPS: "-1" })).rejects.toThrow(/TRUSTED_PROXY_HOPS/);
    await expect(withEnv({ TRUSTED_PROXY_HOPS: "two" })).rejects.toThrow(/TRUSTED_PROXY_HOPS/);
  });
});
