import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach } from "vitest";

/** A callback received by the local receiver: the exact bytes and headers the simulator sent. */
export type Received = {
  path: string;
  url: URL;
  headers: Record<string, string>;
  raw: string;
  body: Record<string, unknown>;
};

/**
 * A real HTTP server on 127.0.0.1 standing in for our webhook endpoints. `answers` is a
 * queue of status codes to answer with (then 200).
 */
export async function startReceiver() {
  const received: Received[] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      received.push({
        path: url.pathname,
        url,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        raw,
        body: JSON.parse(raw),
      });
      const status = answers.shift() ?? 200;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    answers,
    /** A callback URL like the app's, with our job id as `ref` (no `sig`: only the header can authenticate it). */
    callbackUrl: (stage: string, jobId: string) => `${base}/api/webhooks/${stage}?ref=${jobId}`,
    forTask: (taskId: string) => received.filter((r) => r.body.task_id === taskId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** One receiver for a test file, emptied before each test, with the simulator reset around them. */
export function receiverPerFile(resetSimulator: () => void): Receiver {
  const receiver = {} as Receiver;
  beforeAll(async () => {
    Object.assign(receiver, await startReceiver());
  });
  afterAll(async () => {
    resetSimulator();
    await receiver.close();
  });
  beforeEach(() => {
    resetSimulator();
    receiver.received.length = 0;
    receiver.answers.length = 0;
  });
  return receiver;
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Independent of lib/webhooks: the hex HMAC-SHA256 of the raw body with the stage's key bytes. */
export function expectedSignature(secret: string, raw: string): string {
  const key = secret.startsWith("whsec_")
    ? Buffer.from(secret.slice(6), "base64")
    : Buffer.from(secret, "utf8");
  return `sha256=${createHmac("sha256", key).update(raw).digest("hex")}`;
}

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely shaped JSON answers
export type Json = any;
type Method = "GET" | "POST" | "DELETE";
type RouteModule = Record<
  Method,
  (request: Request, ctx: { params: Promise<{ path: string[] }> }) => Promise<Response>
>;

/** Calls the real `/api/simulator/[...path]` route handler with a real Request. */
export function simulatorCaller(route: RouteModule, appUrl: string) {
  return async (
    method: Method,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const request = new Request(`${appUrl}/api/simulator/${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const response = await route[method](request, {
      params: Promise.resolve({ path: path.split("/") }),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let json: Json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: response.status, headers: response.headers, bytes, text, json };
  };
}
