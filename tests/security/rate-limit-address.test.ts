import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP, applySettings, restoreSettings, warmDatabase } from "./helpers";

/**
 * Issue 11 item 1 (CONTRACT.md §2): the callback rate limit trusted the client's own
 * X-Forwarded-For — changing it on each request gave 300 bad-signature POSTs 300×401 and no
 * 429. The address is now the TRUSTED_PROXY_HOPS-th entry from the right (default 1: the
 * one our proxy appended). Replayed against the real video-complete route.
 */

afterAll(restoreSettings);

let route: typeof import("@/app/api/webhooks/video-complete/route");
beforeAll(async () => {
  applySettings({ RATE_LIMIT_VIDEO: "10/1m" });
  await (await import("@/lib/ratelimit")).closeRateLimiters();
  await warmDatabase();
  route = await import("@/app/api/webhooks/video-complete/route");
});

const badlySigned = (xff: string) =>
  new Request(`${APP}/api/webhooks/video-complete`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-signature": `sha256=${"0".repeat(64)}`,
      "x-forwarded-for": xff,
    },
    body: JSON.stringify({ task_id: "task_forged", status: "completed" }),
  });

describe("a sender rotating its own X-Forwarded-For entries", () => {
  it("still spends one budget: 401 ten times, then 429", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const forged = `${i}.${i}.${i}.${i}, 10.0.${i}.1`;
      const response = await route.POST(badlySigned(`${forged}, 203.0.113.99`));
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(5).fill(429));
  });

  it("while the address our proxy appended is what tells senders apart", async () => {
    const response = await route.POST(badlySigned("203.0.113.99, 203.0.113.100"));
    expect(response.status).toBe(401);
  });
});
