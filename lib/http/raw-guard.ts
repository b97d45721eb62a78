import type { EventEmitter } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";

/**
 * Requests Next.js cannot represent, refused at the HTTP server before Next sees them:
 * TRACE, TRACK and CONNECT (a fetch `Request` cannot carry these methods, so Next's
 * proxy and route handlers throw on them: 500) get 405; a request target that is not a
 * path (`GET *`, `OPTIONS *`, an absolute-form URL meant for a forward proxy) gets 400 —
 * Next fails to parse it as a URL (500). Installed once per process from instrumentation.ts.
 */

const UNSUPPORTED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);
const ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

export type RawRefusal = { status: 400 | 405; headers: Record<string, string>; body: string };

/** The answer to a request no route can take, or null. */
export function rawRefusal(
  method: string | undefined,
  target: string | undefined,
): RawRefusal | null {
  if (method && UNSUPPORTED_METHODS.has(method.toUpperCase())) {
    return refusal(405, { allow: ALLOW }, "Method not allowed");
  }
  if (!target?.startsWith("/")) return refusal(400, {}, "Bad request target");
  return null;
}

function refusal(status: 400 | 405, headers: Record<string, string>, error: string): RawRefusal {
  const body = JSON.stringify({ error });
  return {
    status,
    body,
    headers: {
      ...headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      connection: "close",
    },
  };
}

type Emitter = Pick<EventEmitter, "emit">;
const GUARDED = Symbol.for("framechain.rawRequestGuard");

/** Wraps `target.emit` so a refused "request" event is answered here and never reaches a listener. */
export function guardRequests(target: Emitter): void {
  const marked = target as Emitter & { [GUARDED]?: true };
  if (marked[GUARDED]) return;
  marked[GUARDED] = true;
  const original = target.emit;
  target.emit = function guardedEmit(this: unknown, event: string | symbol, ...args: unknown[]) {
    if (event === "request") {
      const [req, res] = args as [IncomingMessage, ServerResponse];
      const refused = rawRefusal(req.method, req.url);
      if (refused) {
        req.resume(); // drain whatever body was sent
        res.writeHead(refused.status, refused.headers);
        res.end(refused.body);
        return true;
      }
    }
    return original.apply(this, [event, ...args]);
  };
}

/** Every HTTP server of this process (Next's included, whenever it was created). */
export function installRawRequestGuard(): void {
  guardRequests(http.Server.prototype as unknown as Emitter);
}
