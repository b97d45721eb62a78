import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
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

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

describe("a failing rate-limit backend lets requests through", () => {
  it("Redis refusing connections: allowed at once, failedOpen, one error-log entry", async () => {
    loaded = await loadWith({ REDIS_URL: "redis://127.0.0.1:1", RATE_LIMIT_TIMEOUT_MS: "1000" });
    const { checkRateLimit, rateLimitHeaders } = loaded.ratelimit;
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

    const first = await timed(() => checkRateLimit("video-complete", "203.0.113.10"));
    expect(first.value).toMatchObject({ allowed: true, failedOpen: true, backend: "redis" });
    // Bounded by RATE_LIMIT_TIMEOUT_MS (1 s), not by reconnect attempts or the library's 5 s.
    expect(first.ms).toBeLessThan(2000);
    expect(rateLimitHeaders(first.value)["Retry-After"]).toBeUndefined();

    for (let i = 0; i < 5; i++) {
      expect(await checkRateLimit("stitch-complete", `203.0.113.${20 + i}`)).toMatchObject({
        allowed: true,
        failedOpen: true,
      });
    }
    expect((await failedOpen("video-complete")) + (await failedOpen("stitch-complete"))).toBe(
      failedBefore + 6,
    );

    const [entry] = await eventually(async () => {
      const items = await ratelimitErrors(loaded!.queries);
      return items.length > 0 ? items : null;
    });
    expect(entry).toMatchObject({
      type: "ratelimit",
      severity: "warning",
      context: { stage: "video-complete", backend: "redis" },
    });
    expect(entry?.message).toMatch(/redis failed, requests let through/);
    // Six failures, one entry: the others fell inside the 30 s throttle.
    await new Promise((r) => setTimeout(r, 300));
    expect(await ratelimitErrors(loaded.queries)).toHaveLength(1);
  });

  it("Redis accepting connections but never answering: allowed after RATE_LIMIT_TIMEOUT_MS", async () => {
    const port = await silentTcpServer();
    loaded = await loadWith({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      RATE_LIMIT_TIMEOUT_MS: "300",
    });
    const before = (await ratelimitErrors(loaded.queries)).length;

    const { value, ms } = await timed(() =>
      loaded!.ratelimit.checkRateLimit("last-frame-complete", "198.51.100.7"),
    );
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "redis" });
    expect(ms).toBeGreaterThanOrEqual(250); // it did wait for the backend…
    expect(ms).toBeLessThan(2000); // …but only about the configured timeout
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
      RATE_LIMIT_TIMEOUT_MS: "1000",
    });
    const before = (await ratelimitErrors(loaded.queries)).length;
    const { value, ms } = await timed(() =>
      loaded!.ratelimit.checkRateLimit("video-complete", "192.0.2.44"),
    );
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "upstash" });
    expect(ms).toBeLessThan(2000);
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
    const { value, ms } = await timed(() =>
      loaded!.ratelimit.checkRateLimit("stitch-complete", "192.0.2.45"),
    );
    expect(value).toMatchObject({ allowed: true, failedOpen: true, backend: "upstash" });
    expect(pending.size).toBeGreaterThan(0); // the request did reach the (silent) backend
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(2000);
  });
});
