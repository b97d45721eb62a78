import { NextResponse } from "next/server";
import { AppError, handle, readJson } from "@/lib/http/errors";
import { log } from "@/lib/observability/log";
import { simulatorEnabled } from "@/lib/services/endpoints";
import { clearKnobOverrides, knobOverridesInput, knobs, overrideKnobs } from "./config";
import { MEDIA_KINDS, type MediaKind, renderMedia } from "./media";
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
    path: /^media\/([^/]+)\/([a-z-]+)\.svg$/,
    handler: (_request, [taskId, kind]) => media(taskId!, kind!),
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

function media(taskId: string, kind: string): Response {
  if (!(MEDIA_KINDS as readonly string[]).includes(kind))
    throw new AppError("not_found", "Unknown media kind");
  const { svg, known } = renderMedia(taskId, kind as MediaKind);
  return new Response(svg, {
    headers: {
      "content-type": "image/svg+xml; charset=utf-8",
      // A task's card never changes; an unknown task's might once the task is known.
      "cache-control": known ? "public, max-age=31536000, immutable" : "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      "x-content-type-options": "nosniff",
    },
  });
}
