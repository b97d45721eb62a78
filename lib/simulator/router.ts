import { NextResponse } from "next/server";
import { AppError, handle, readJson } from "@/lib/http/errors";
import { log } from "@/lib/observability/log";
import { simulatorEnabled } from "@/lib/services/endpoints";
import { checkSimulatorAccess } from "./access";
import { clearKnobOverrides, knobOverridesInput, knobs, overrideKnobs } from "./config";
import { renderMedia } from "./media";
import { receiveNotification, submitLastFrame, submitStitch, submitVideo } from "./services";
import { clearRequestLog, requestLog } from "./state";

/**
 * `/api/simulator/*`: the three services and the notification endpoint as the outbound
 * client reaches them (lib/services/endpoints.ts), the media they "produce", and the
 * controls tests and the soak run use. 404 everywhere when the simulator is off.
 */
type Method = "GET" | "POST" | "DELETE";
type Handler = (request: Request, params: string[]) => Promise<Response> | Response;

const ROUTES: { method: Method; path: RegExp; handler: Handler }[] = [
  { method: "POST", path: /^video\/api\/v1\/tasks\/submit$/, handler: submitVideo },
  { method: "POST", path: /^last-frame\/api\/v1\/process$/, handler: submitLastFrame },
  { method: "POST", path: /^stitch\/api\/v1\/stitch$/, handler: submitStitch },
  { method: "POST", path: /^notify$/, handler: receiveNotification },
  {
    method: "GET",
    path: /^media\/([^/]+)\/([a-z-]+\.[a-z0-9]+)$/,
    handler: (request, [taskId, file]) => media(request, taskId!, file!),
  },
  { method: "GET", path: /^config$/, handler: () => NextResponse.json(knobs()) },
  {
    method: "POST",
    path: /^config$/,
    handler: async (request) => {
      const merged = overrideKnobs(await readJson(request, knobOverridesInput));
      log("info", "simulator.config", merged);
      return NextResponse.json(merged);
    },
  },
  { method: "DELETE", path: /^config$/, handler: () => NextResponse.json(clearKnobOverrides()) },
  { method: "GET", path: /^requests$/, handler: () => NextResponse.json(requestLog()) },
  {
    method: "DELETE",
    path: /^requests$/,
    handler: () => {
      clearRequestLog();
      return new Response(null, { status: 204 });
    },
  },
];

/** Route handler body for `app/api/simulator/[...path]/route.ts`. */
export function simulatorRoute(method: Method) {
  return handle(async (request: Request, ctx: { params: Promise<{ path: string[] }> }) => {
    if (!simulatorEnabled()) throw new AppError("not_found", "Not found");
    const refused = await checkSimulatorAccess(request); // admin token when locked (access.ts)
    if (refused) return refused;
    const path = (await ctx.params).path.join("/");
    const matching = ROUTES.filter((route) => route.path.test(path));
    if (matching.length === 0)
      throw new AppError("not_found", `No simulator endpoint at /api/simulator/${path}`);
    const route = matching.find((r) => r.method === method);
    if (!route) {
      return NextResponse.json(
        { error: "Method not allowed" },
        { status: 405, headers: { allow: matching.map((r) => r.method).join(", ") } },
      );
    }
    return route.handler(request, route.path.exec(path)!.slice(1));
  });
}

/** A media file, whole or (for video players) the byte range asked for. */
function media(request: Request, taskId: string, file: string): Response {
  const found = renderMedia(taskId, file);
  if (!found) throw new AppError("not_found", "Unknown media file");
  const body = typeof found.body === "string" ? new TextEncoder().encode(found.body) : found.body;
  const headers: Record<string, string> = {
    "content-type": found.contentType,
    // A task's media never changes; an unknown task's might once the task is known.
    "cache-control": found.known ? "public, max-age=31536000, immutable" : "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "x-content-type-options": "nosniff",
    "accept-ranges": "bytes",
  };
  const range = byteRange(request.headers.get("range"), body.length);
  if (range === "unsatisfiable") {
    return new Response(null, {
      status: 416,
      headers: { ...headers, "content-range": `bytes */${body.length}` },
    });
  }
  if (range) {
    const [start, end] = range;
    return new Response(body.slice(start, end + 1), {
      status: 206,
      headers: { ...headers, "content-range": `bytes ${start}-${end}/${body.length}` },
    });
  }
  return new Response(body, { headers });
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else means the whole file. */
export function byteRange(
  header: string | null,
  size: number,
): [number, number] | "unsatisfiable" | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!match || (match[1] === "" && match[2] === "")) return null;
  const [start, end] =
    match[1] === ""
      ? [Math.max(0, size - Number(match[2])), size - 1]
      : [Number(match[1]), match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)];
  return start > end || start >= size ? "unsatisfiable" : [start, end];
}
