import "server-only";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { postCapped, TimeoutError } from "@/lib/services/http";

/** The most of an endpoint's answer that is read and kept; the rest is not waited for. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Sockets to one endpoint (host:port) at a time, per process: the delivery loop also caps
 * deliveries in flight per endpoint, so a slow one never holds the sockets of the others.
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 8, maxFreeSockets: 4, timeout: 4_000 };
const agents = { "http:": new http.Agent(AGENT_OPTIONS), "https:": new https.Agent(AGENT_OPTIONS) };

export type WebhookAnswer =
  | { ok: boolean; status: number; body: string; ms: number }
  | { ok: false; status: null; body: null; ms: number; error: string };

/**
 * POSTs one signed webhook: the exact bytes that were signed, a timeout over the whole
 * exchange, redirects never followed (a 3xx is just a non-2xx answer), the answer read up to
 * MAX_ANSWER_BYTES. `lookup` checks every address connected to (lib/subscriptions/targets.ts).
 * Never throws: a network failure is an answer without a status.
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  { timeoutMs, lookup }: { timeoutMs: number; lookup?: LookupFunction },
): Promise<WebhookAnswer> {
  const started = performance.now();
  const target = new URL(url);
  const agent = agents[target.protocol as keyof typeof agents];
  if (!agent)
    return {
      ok: false,
      status: null,
      body: null,
      ms: 0,
      error: `unsupported protocol ${target.protocol}`,
    };
  try {
    const { status, text } = await postCapped(target, {
      agent,
      lookup,
      headers: {
        "content-type": "application/json",
        "user-agent": "Framechain-Webhooks/1",
        ...headers,
      },
      body: Buffer.from(body),
      timeoutMs,
      maxBytes: MAX_ANSWER_BYTES,
    });
    return {
      ok: status >= 200 && status < 300,
      status,
      body: storable(text),
      ms: performance.now() - started,
    };
  } catch (error) {
    return {
      ok: false,
      status: null,
      body: null,
      ms: performance.now() - started,
      error: describe(error),
    };
  }
}

/** PostgreSQL text cannot hold NUL. */
function storable(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD");
}

function describe(error: unknown): string {
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (error instanceof TimeoutError || name === "TargetRefused") return message ?? String(error);
  // "connect ECONNREFUSED 127.0.0.1:9" says more than its code alone.
  if (message && (!code || message.includes(code))) return message;
  return code ? `${code}${message ? `: ${message}` : ""}` : String(error);
}
