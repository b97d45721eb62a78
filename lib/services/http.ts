import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { metrics } from "@/lib/observability/metrics";

export type ServiceName = "video" | "last-frame" | "stitch" | "notify";

export type ServiceRequest = {
  service: ServiceName;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The job id: the service can tell a retried request from a new one. */
  idempotencyKey: string;
};

export type ServiceResult =
  | { ok: true; status: number; json: Record<string, unknown> | null; ms: number }
  | {
      ok: false;
      retryable: boolean;
      status: number | null;
      error: string;
      retryAfterMs?: number;
      ms: number;
    };

/** More of an answer than this is not read: the services answer a task id, not a payload. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One keep-alive agent per protocol: a connection to a service is reused across calls
 * (~0.3 ms per call instead of ~1.3 ms for `fetch`). Sockets per service are bounded — calls
 * beyond that wait for one, inside their timeout — and an idle socket is closed before a
 * typical server's 5 s keep-alive would close it under us (a shorter `Keep-Alive: timeout`
 * hint from the server wins). Every socket a burst opened may stay idle until then: with
 * fewer kept, each burst closed the rest and the next one connected again (~2 % of the
 * dispatch thread's CPU went to connecting and closing sockets at a steady 700 stages/s).
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: 4_000 };
const agents = { "http:": new http.Agent(AGENT_OPTIONS), "https:": new https.Agent(AGENT_OPTIONS) };

export type Answer = { status: number; headers: http.IncomingHttpHeaders; text: string };

export class TimeoutError extends Error {
  name = "TimeoutError";
}

/**
 * One HTTP attempt with a timeout covering the whole exchange (waiting for a socket,
 * connecting, sending, the answer and its body). Retrying is the dispatcher's job (durably,
 * via the job's run_at): network errors, timeouts, 5xx, 408 and 429 are retryable; other 4xx
 * final. Redirects are never followed: a 3xx is a final error.
 */
export async function callService(
  request: ServiceRequest,
  { timeoutMs = env.SERVICE_TIMEOUT_MS }: { timeoutMs?: number } = {},
): Promise<ServiceResult> {
  const started = performance.now();
  const done = (result: ServiceResult) => {
    metrics.outbound(
      request.service,
      result.ok ? "ok" : result.retryable ? "retryable" : "final",
      result.ms / 1000,
    );
    log(result.ok ? "info" : "warn", "outbound", {
      service: request.service,
      job_id: request.idempotencyKey,
      status: result.status,
      ms: Math.round(result.ms),
      error: result.ok ? undefined : result.error,
    });
    return result;
  };
  try {
    const { status, headers, text } = await post(request, timeoutMs);
    const ms = performance.now() - started;
    if (status >= 200 && status < 300)
      return done({ ok: true, status, json: parseObject(text), ms });
    if (status >= 300 && status < 400) {
      const to = headers.location ? ` to ${headers.location}` : "";
      return done({
        ok: false,
        retryable: false,
        status,
        error: `${request.service} service answered ${status}, a redirect${to}; redirects are not followed`,
        ms,
      });
    }
    const retryable = status >= 500 || status === 408 || status === 429;
    const retryAfter = headers["retry-after"];
    return done({
      ok: false,
      retryable,
      status,
      error: `${request.service} service answered ${status}${text ? `: ${text.slice(0, 200)}` : ""}`,
      retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
      ms,
    });
  } catch (error) {
    const ms = performance.now() - started;
    return done({
      ok: false,
      retryable: true,
      status: null,
      error:
        error instanceof TimeoutError
          ? `${request.service} service did not answer within ${timeoutMs} ms`
          : `${request.service} service unreachable: ${describeNetworkError(error)}`,
      ms,
    });
  }
}

/** POSTs the JSON body; resolves with the status, headers and up to MAX_RESPONSE_BYTES of body. */
function post(request: ServiceRequest, timeoutMs: number): Promise<Answer> {
  const url = new URL(request.url);
  const agent = agents[url.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  return postCapped(url, {
    agent,
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      "idempotency-key": request.idempotencyKey,
      ...request.headers,
    },
    body: Buffer.from(JSON.stringify(request.body)),
    timeoutMs,
    maxBytes: MAX_RESPONSE_BYTES,
  });
}

/**
 * One POST over node:http(s), shared by the service calls and the outgoing webhooks: a
 * timeout over the whole exchange (rejects with TimeoutError), redirects never followed, and
 * at most `maxBytes` of the answer read — the rest is neither buffered nor waited for (that
 * socket is not reused).
 */
export function postCapped(
  url: URL,
  options: {
    agent: http.Agent;
    lookup?: LookupFunction;
    headers: Record<string, string>;
    body: Buffer;
    timeoutMs: number;
    maxBytes: number;
  },
): Promise<Answer> {
  const { agent, lookup, headers, body, timeoutMs, maxBytes } = options;
  const client = url.protocol === "https:" ? https : http;
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const settle = (error: Error | null, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(answer as Answer);
    };
    const req = client.request(url, {
      method: "POST",
      agent,
      lookup,
      headers: { ...headers, "content-length": body.length },
    });
    const timer = setTimeout(() => {
      const error = new TimeoutError(`no answer within ${timeoutMs} ms`);
      settle(error);
      req.destroy(error);
    }, timeoutMs);
    req.on("error", (error) => settle(error));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () =>
        settle(null, {
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
        });
      res.on("data", (chunk: Buffer) => {
        const room = maxBytes - size;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
        if (size >= maxBytes) {
          finish();
          req.destroy();
        }
      });
      res.on("end", finish);
      res.on("error", (error) => settle(error));
    });
    req.end(body);
  });
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function describeNetworkError(error: unknown): string {
  const { code, message, cause } = error as {
    code?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  return code ?? cause?.code ?? message ?? cause?.message ?? String(error);
}
