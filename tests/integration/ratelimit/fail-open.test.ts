import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ErrorEntry } from "@/lib/observability/error-log";
import { eventually, type Loaded, loadWith, ratelimitErrors } from "./helpers";

/**
 * CONTRACT.md §2: when the rate-limit backend fails or is slow, the request is let through
 * and the failure is logged — once per 30 s per backend, not once per request.
 * These need no Redis: the backends are dead or silent on purpose (loopback only).
 */

let loaded: Loaded | null = null;
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  await loaded?.ratelimit.closeRateLimiters();
  loaded = null;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A TCP server that accepts connections and never answers (a hung Redis or proxy). */
async function silentTcpServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/**
 * The rate-limit failures this module graph reports, as they are reported: recordError hands
 * each entry to its reporters before its database write, inside checkRateLimit's own call.
 * So what a test reads here after `await checkRateLimit(…)` is final, with no waiting.
 */
async function reportedFailures(): Promise<ErrorEntry[]> {
  const { addErrorReporter } = await import("@/lib/observability/error-log");
  const entries: ErrorEntry[] = [];
  addErrorReporter((entry) => {
    if (entry.type === "ratelimit") entries.push(entry);
  });
  return entries;
}

describe("a failing rate-limit backend lets requests through", () => {
  it("Redis refusing connections: allowed at once, failedOpen, one error-log entry", async () => {
    // The timeout is the longest allowed: a refusal must be answered on the refusal itself,
    // not by waiting out the timeout or the client's reconnect attempts.
    loaded = await loadWith({ REDIS_URL: "redis://127.0.0.1:1", RATE_LIMIT_TIMEOUT_MS: "10000" });
    const { checkRateLimit, rateLimitHeaders } = loaded.ratelimit;
    const reported = await reportedFailures();
    const { renderMetrics } = await import("@/lib/observability/metrics");
    const failedOpen = async (stage: string) => {
      const line = (await renderMetrics())
        .split("\n")
        .find((l) =>
          l.startsWith(`framechain_rate_limit_failed_open_total{stage="${stage}",backend="redis"}`),
        );
      return Number(line?.split(" ").at(-1) ?? 0);
    };
    const failedBefore =
      (await failedOpen("video-complete")) + (await failedOpen("stitch-complete"));

    const first = await checkRateLimit("video-complete", "203.0.113.10");
    expect(first).toMatchObject({ allowed: true, failedOpen: true, backend: "redis" });
    expect(reported.map((entry) => entry.message)).toEqual([
      expect.stringMatching(/redis failed, requests let through: .*ECONNREFUSED/),
    ]);
    expect(rateLimitHeaders(first)["Retry-After"]).toBeUndefined();

    for (let i = 0; i < 5; i++) {
      expect(await checkRateLimit("stitch-complete", `203.0.113.${20 + i}`)).toMatchObject({
        allowed: true,
        failedOpen: true,
      });
    }
    expect((await failedOpen("video-complete")) + (await failedOpen("stitch-complete"))).toBe(
      failedBefore + 6,
    );
    // Six failures, one report: the others fell inside the 30 s throttle.
    expect(reported).toHaveLength(1);

    // …and that one report is the one error-log entry (its write is the only one started).
    const entries = await eventually(async () => {
      const items = await ratelimitErrors(loaded!.queries);
      return items.length > 0 ? items : null;
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      type: "ratelimit",
      severity: "warning",
      context: { stage: "video-complete", backend: "redis" },
    });
    expect(entries[0]?.message).toMatch(/redis failed, requests let through/);
  });

  it("Redis accepting connections but never answering: allowed after RATE_LIMIT_TIMEOUT_MS", async () => {
    const port = await silentTcpServer();
    loaded = await loadWith({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      RATE_LIMIT_TIMEOUT_MS: "300",
    });
    const before = (await ratelimitErrors(loaded.queries)).length;
    const reported = await reportedFailures();

    const value = await loaded.ratelimit.checkRateLimit("last-frame-complete", "198.51.100.7");
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "redis" });
    // It waited for the backend, and what ended the wait was the configured timeout.
    expect(reported.map((entry) => entry.message)).toEqual([
      expect.stringMatching(/no answer within 300 ms/),
    ]);
    const entries = await eventually(async () => {
      const items = await ratelimitErrors(loaded!.queries);
      return items.length > before ? items : null;
    });
    expect(entries[0]?.message).toMatch(/no answer within 300 ms/);
    expect(await loaded.ratelimit.pingRateLimitBackend()).toMatchObject({
      backend: "redis",
      ok: false,
    });
  });

  it("Upstash unreachable: allowed, failedOpen, logged", async () => {
    loaded = await loadWith({
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
      UPSTASH_REDIS_REST_TOKEN: "token",
      // The longest timeout allowed: a refusal must not be waited out (nor retried).
      RATE_LIMIT_TIMEOUT_MS: "10000",
    });
    const before = (await ratelimitErrors(loaded.queries)).length;
    const reported = await reportedFailures();
    const value = await loaded.ratelimit.checkRateLimit("video-complete", "192.0.2.44");
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "upstash" });
    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).not.toMatch(/no answer within|timeout|aborted/i);
    const entries = await eventually(async () => {
      const items = await ratelimitErrors(loaded!.queries);
      return items.length > before ? items : null;
    });
    expect(entries[0]?.context).toMatchObject({ backend: "upstash" });
  });

  it("Upstash answering too slowly: allowed after RATE_LIMIT_TIMEOUT_MS", async () => {
    const pending = new Set<http.ServerResponse>();
    const server = http.createServer((_req, res) => void pending.add(res)); // never answers
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    loaded = await loadWith({
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
      UPSTASH_REDIS_REST_TOKEN: "token",
      RATE_LIMIT_TIMEOUT_MS: "300",
    });
    const reported = await reportedFailures();
    const value = await loaded.ratelimit.checkRateLimit("stitch-complete", "192.0.2.45");
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "upstash" });
    expect(pending.size).toBeGreaterThan(0); // the request did reach the (silent) backend…
    // …and what ended the wait was the configured timeout (ours, or the request's own abort).
    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toMatch(/no answer within 300 ms|timeout|aborted/i);
  });
});
