import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { callService, MAX_RESPONSE_BYTES, parseRetryAfter } from "@/lib/services/http";

/** callService against a real loopback server: each path answers one way. */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes: Record<string, Handler> = {
  "/ok": (_req, res) => json(res, 200, { task_id: "t1", status: "queued" }),
  "/redirect": (_req, res) => {
    res.writeHead(302, { location: "/ok" });
    res.end();
  },
  "/silent": () => {}, // never answers
  "/huge": (_req, res) => {
    // An endless body: only a capped read can finish.
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(16 * 1024, "x");
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once("drain", pump);
    };
    pump();
  },
  "/busy": (_req, res) => json(res, 503, { error: "busy" }, { "retry-after": "7" }),
  "/slow-down": (_req, res) => json(res, 429, {}),
  "/timeout": (_req, res) => json(res, 408, {}),
  "/missing": (_req, res) => json(res, 404, { error: "no such route" }),
  "/bad": (_req, res) => json(res, 400, { error: "bad" }),
};

function json(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

let server: Server;
let base: string;
const seen: Array<{ path: string; headers: IncomingMessage["headers"]; body: string }> = [];
let connections = 0;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ path: req.url ?? "", headers: req.headers, body });
    routes[req.url ?? ""]?.(req, res);
  });
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

const call = (path: string, options?: { timeoutMs?: number }) =>
  callService(
    {
      service: "video",
      url: `${base}${path}`,
      headers: { "x-api-key": "k" },
      body: { prompt: "a" },
      idempotencyKey: "job_1",
    },
    options,
  );

describe("callService", () => {
  it("POSTs the JSON body with the idempotency key and the service's headers, and reads the answer", async () => {
    const result = await call("/ok");
    expect(result).toMatchObject({ ok: true, status: 200, json: { task_id: "t1" } });
    expect(seen[0]).toMatchObject({
      path: "/ok",
      body: '{"prompt":"a"}',
      headers: {
        "idempotency-key": "job_1",
        "x-api-key": "k",
        "content-type": "application/json",
      },
    });
  });

  it("keeps the connection alive: two calls in a row use one socket", async () => {
    await call("/ok"); // the socket of any earlier test may have been closed: start from this one
    const before = connections;
    const first = await call("/ok");
    const second = await call("/ok");
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(connections).toBe(before);
  });

  it("does not follow a redirect: a 3xx is a final error naming the status", async () => {
    const result = await call("/redirect");
    expect(result).toMatchObject({ ok: false, retryable: false, status: 302 });
    expect(!result.ok && result.error).toMatch(/302/);
    expect(seen.map((s) => s.path)).toEqual(["/redirect"]);
  });

  it("gives up on a service that never answers, as a retryable timeout", async () => {
    const result = await call("/silent", { timeoutMs: 100 });
    expect(result).toMatchObject({ ok: false, retryable: true, status: null });
    expect(!result.ok && result.error).toBe("video service did not answer within 100 ms");
  });

  it(`reads at most ${MAX_RESPONSE_BYTES} bytes of an answer and does not wait for the rest`, async () => {
    const result = await call("/huge", { timeoutMs: 60_000 });
    // Finished without the timeout: the endless body was cut, not awaited; it is no JSON object.
    expect(result).toMatchObject({ ok: true, status: 200, json: null });
  });

  it("5xx, 408 and 429 are retryable (Retry-After honoured); other 4xx are final", async () => {
    expect(await call("/busy")).toMatchObject({
      ok: false,
      retryable: true,
      status: 503,
      retryAfterMs: 7000,
    });
    expect(await call("/slow-down")).toMatchObject({ ok: false, retryable: true, status: 429 });
    expect(await call("/timeout")).toMatchObject({ ok: false, retryable: true, status: 408 });
    expect(await call("/missing")).toMatchObject({ ok: false, retryable: false, status: 404 });
    const bad = await call("/bad");
    expect(bad).toMatchObject({ ok: false, retryable: false, status: 400 });
    expect(!bad.ok && bad.error).toBe('video service answered 400: {"error":"bad"}');
  });

  it("a refused connection is a retryable network error naming its code", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const result = await callService({
      service: "stitch",
      url: `http://127.0.0.1:${port}/x`,
      headers: {},
      body: {},
      idempotencyKey: "job_2",
    });
    expect(result).toMatchObject({ ok: false, retryable: true, status: null });
    expect(!result.ok && result.error).toBe("stitch service unreachable: ECONNREFUSED");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates, and ignores what it cannot read", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("1.5")).toBe(1500);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(50_000);
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT")).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
