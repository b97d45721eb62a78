import { afterAll, describe, expect, it, vi } from "vitest";
import {
  ADMIN_TOKEN,
  APP,
  loadProxy,
  passedThrough,
  proxyRequest,
  restoreSettings,
} from "./helpers";

/**
 * Issue 11 item 8 (CONTRACT.md §4): wrong admin tokens, as a bearer token or through the
 * sign-in form, are throttled per client address (RATE_LIMIT_ADMIN_AUTH) → 429, and a
 * throttled address is refused even with the right token (else 429-vs-200 would still
 * answer every guess). The address is the one CONTRACT §2 defines, so forging
 * X-Forwarded-For entries does not buy a new budget. Plus sign-out.
 */

afterAll(restoreSettings);

const settings = { ADMIN_TOKEN, NODE_ENV: "production", RATE_LIMIT_ADMIN_AUTH: "20/1m" };
const api = (token: string, xff: string) =>
  proxyRequest("/api/v1/projects", {
    headers: { authorization: `Bearer ${token}`, "x-forwarded-for": xff },
  });

describe("wrong bearer tokens", () => {
  it("20 per minute from one address get 401, the 21st and everything after 429 — the right token too", async () => {
    const proxy = await loadProxy(settings);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await proxy(api(`guess-${i}`, "198.51.100.20"))).status);
    expect(statuses).toEqual([...Array(20).fill(401), ...Array(5).fill(429)]);

    const right = await proxy(api(ADMIN_TOKEN, "198.51.100.20"));
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(right.headers.get("x-ratelimit-limit")).toBe("20");
    expect(right.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(await right.json()).toEqual({
      error: expect.stringMatching(/Too many wrong admin tokens/),
    });

    // Another address, and the right token, are unaffected.
    expect(passedThrough(await proxy(api(ADMIN_TOKEN, "198.51.100.21")))).toBe(true);
  });

  it("a client rotating its own X-Forwarded-For entries still spends one budget", async () => {
    const proxy = await loadProxy(settings);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      // The client writes anything on the left; our proxy appends the address it saw.
      const xff = `10.${i}.0.1, 192.0.2.${i}, 198.51.100.30`;
      statuses.push((await proxy(api(`guess-${i}`, xff))).status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
  });

  it("the right token is never counted: an API client is not throttled by its own use", async () => {
    const proxy = await loadProxy(settings);
    for (let i = 0; i < 50; i++) {
      expect(passedThrough(await proxy(api(ADMIN_TOKEN, "198.51.100.40")))).toBe(true);
    }
  });

  it("RATE_LIMIT_ADMIN_AUTH sets the budget", async () => {
    const proxy = await loadProxy({ ...settings, RATE_LIMIT_ADMIN_AUTH: "2/1m" });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await proxy(api(`g${i}`, "198.51.100.50"))).status);
    expect(statuses).toEqual([401, 401, 429]);
  });
});

describe("the sign-in form", () => {
  /** The sign-in action as Next runs it: request headers and cookies from the request scope. */
  async function loadSignIn(from: string) {
    const jar = new Map<string, string>();
    vi.doMock("next/headers", () => ({
      headers: async () => new Headers({ "x-forwarded-for": from }),
      cookies: async () => ({
        get: (name: string) => (jar.has(name) ? { name, value: jar.get(name) } : undefined),
        set: (name: string, value: string) => jar.set(name, value),
        delete: (opts: { name: string } | string) =>
          jar.delete(typeof opts === "string" ? opts : opts.name),
      }),
    }));
    const actions = await import("@/app/sign-in/actions");
    return { actions, jar };
  }

  /** Where the action redirected (Next's redirect() throws with the target in its digest). */
  async function redirectOf(run: () => Promise<void>): Promise<string> {
    try {
      await run();
    } catch (error) {
      const digest = (error as { digest?: string }).digest ?? "";
      if (digest.startsWith("NEXT_REDIRECT")) return digest.split(";")[2] ?? "";
      throw error;
    }
    throw new Error("the action did not redirect");
  }

  const form = (token: string) => {
    const data = new FormData();
    data.set("token", token);
    data.set("next", "/projects");
    return data;
  };

  it("wrong tokens are counted; past the budget the action says so, and the proxy answers 429 to the form's next POST", async () => {
    const proxy = await loadProxy(settings);
    const { actions, jar } = await loadSignIn("198.51.100.60");
    const targets: string[] = [];
    for (let i = 0; i < 21; i++)
      targets.push(await redirectOf(() => actions.signIn(form(`guess-${i}`))));
    expect(targets.slice(0, 20).every((t) => t.includes("error=invalid"))).toBe(true);
    expect(targets[20]).toContain("error=throttled");
    expect(jar.size).toBe(0);

    // Even the right token is now refused, both by the action and in front of it.
    expect(await redirectOf(() => actions.signIn(form(ADMIN_TOKEN)))).toContain("error=throttled");
    expect(jar.size).toBe(0);
    const post = await proxy(
      proxyRequest("/sign-in", {
        method: "POST",
        headers: { origin: APP, "next-action": "x", "x-forwarded-for": "198.51.100.60" },
      }),
    );
    expect(post.status).toBe(429);
    expect(post.headers.get("retry-after")).toMatch(/^\d+$/);
    vi.doUnmock("next/headers");
  });

  it("the right token signs in (a derived cookie, never the token), and sign-out clears it", async () => {
    await loadProxy(settings);
    const { actions, jar } = await loadSignIn("198.51.100.61");
    expect(await redirectOf(() => actions.signIn(form(ADMIN_TOKEN)))).toBe("/projects");
    const { SESSION_COOKIE, isValidSession } = await import("@/lib/auth/session");
    const cookie = jar.get(SESSION_COOKIE);
    expect(isValidSession(cookie, ADMIN_TOKEN)).toBe(true);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    expect(await redirectOf(() => actions.signOut())).toBe("/sign-in?signed_out=1");
    expect(jar.has(SESSION_COOKIE)).toBe(false);
    vi.doUnmock("next/headers");
  });
});

describe.runIf(process.env.TEST_REDIS_URL)(
  "on the Redis backend (shared by every instance)",
  () => {
    it("counts wrong tokens and refuses a throttled address, the right token too", async () => {
      const proxy = await loadProxy({
        ...settings,
        RATE_LIMIT_ADMIN_AUTH: "3/1m",
        REDIS_URL: process.env.TEST_REDIS_URL,
        RATE_LIMIT_PREFIX: `framechain-security-${process.pid}-${Date.now()}`,
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++)
          statuses.push((await proxy(api(`g${i}`, "198.51.100.70"))).status);
        expect(statuses).toEqual([401, 401, 401, 429]);
        expect((await proxy(api(ADMIN_TOKEN, "198.51.100.70"))).status).toBe(429);
        expect(passedThrough(await proxy(api(ADMIN_TOKEN, "198.51.100.71")))).toBe(true);
      } finally {
        await (await import("@/lib/ratelimit")).closeRateLimiters();
      }
    });
  },
);
