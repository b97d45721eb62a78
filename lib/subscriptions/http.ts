import "server-only";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";

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

class Timeout extends Error {
  name = "Timeout";
}

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
  const bytes = Buffer.from(body);
  const client = target.protocol === "https:" ? https : http;
  try {
    const { status, text } = await new Promise<{ status: number; text: string }>(
      (resolve, reject) => {
        let settled = false;
        const settle = (error: Error | null, answer?: { status: number; text: string }) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(answer!);
        };
        const req = client.request(target, {
          method: "POST",
          agent,
          lookup,
          headers: {
            "content-type": "application/json",
            "user-agent": "Framechain-Webhooks/1",
            ...headers,
            "content-length": bytes.length,
          },
        });
        const timer = setTimeout(() => {
          const error = new Timeout(`no answer within ${timeoutMs} ms`);
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
              text: Buffer.concat(chunks).toString("utf8"),
            });
          res.on("data", (chunk: Buffer) => {
            const room = MAX_ANSWER_BYTES - size;
            chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
            size += Math.min(chunk.length, room);
            if (size >= MAX_ANSWER_BYTES) {
              finish();
              req.destroy(); // the rest is neither read nor waited for
            }
          });
          res.on("end", finish);
          res.on("error", (error) => settle(error));
        });
        req.end(bytes);
      },
    );
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
  if (name === "Timeout" || name === "TargetRefused") return message ?? String(error);
  // "connect ECONNREFUSED 127.0.0.1:9" says more than its code alone.
  if (message && (!code || message.includes(code))) return message;
  return code ? `${code}${message ? `: ${message}` : ""}` : String(error);
}
