import { type Knobs, knobOverridesInput } from "./knobs";
import { renderMedia } from "./media";
import { mediaDir, recallMedia, rememberMedia } from "./media-store";
import { createStandIn, type StandIn, type StandInOptions } from "./stand-in";
import { clearRequestLog, requestLog } from "./state";

/**
 * The simulator: the services' stand-in (simulator/stand-in.ts) served by the app at
 * `/api/simulator/*` for development and the demo — the three services and the
 * notification endpoint as the outbound client reaches them, the media they "produce",
 * and the controls tests and demos use. The app's route (app/api/simulator) decides who
 * may call it and hands it what it needs to know of the app: the host below.
 */
export type SimulatorHost = Pick<StandInOptions, "secret" | "callbackTarget" | "log"> & {
  /** The knobs as configured (SIMULATOR_*), before run-time overrides. */
  defaults: () => Knobs;
  /** Where the app answers: media URLs are `<publicUrl>/api/simulator/media/…`. */
  publicUrl: () => string;
  /** The PGlite data directory: media records are kept beside it across restarts. */
  dataDir: () => string;
};

type Simulator = { standIn: StandIn; host: SimulatorHost; overrides: Partial<Knobs> };

// On globalThis, so that dev-mode module reloads keep the tasks and pending callbacks; the
// host is refreshed on every request, the stand-in reads it through these closures.
const global = globalThis as unknown as { __framechainSimulator?: Simulator };

function simulator(host: SimulatorHost): Simulator {
  if (global.__framechainSimulator) {
    global.__framechainSimulator.host = host;
    return global.__framechainSimulator;
  }
  const sim: Simulator = {
    host,
    overrides: {},
    standIn: createStandIn({
      knobs: () => knobs(sim),
      mediaBase: () => `${sim.host.publicUrl()}/api/simulator`,
      secret: (stage) => sim.host.secret(stage),
      callbackTarget: (stage, handed) => sim.host.callbackTarget?.(stage, handed) ?? handed,
      log: (level, event, fields) => sim.host.log?.(level, event, fields),
      limit: 5000,
      onTask: (task) => rememberMedia(task, mediaDir(sim.host.dataDir()), sim.host.log),
    }),
  };
  global.__framechainSimulator = sim;
  return sim;
}

function knobs(sim: Simulator): Knobs {
  return { ...sim.host.defaults(), ...sim.overrides };
}

/** Everything back to a fresh start, pending callbacks cancelled (tests). */
export function resetSimulator() {
  const sim = global.__framechainSimulator;
  if (!sim) return;
  sim.standIn.reset();
  sim.overrides = {};
}

type Method = "GET" | "POST" | "DELETE";
type Handler = (sim: Simulator, request: Request, params: string[]) => Promise<Response> | Response;

const ROUTES: { method: Method; path: RegExp; handler: Handler }[] = [
  ...[
    /^video\/api\/v1\/tasks\/submit$/,
    /^last-frame\/api\/v1\/process$/,
    /^stitch\/api\/v1\/stitch$/,
    /^notify$/,
  ].map((path) => ({
    method: "POST" as const,
    path,
    handler: async (sim: Simulator, request: Request) =>
      (await sim.standIn.handle(request, new URL(request.url).pathname))!,
  })),
  {
    method: "GET",
    path: /^media\/([^/]+)\/([a-z-]+\.[a-z0-9]+)$/,
    handler: (sim, request, [taskId, file]) => media(sim, request, taskId!, file!),
  },
  { method: "GET", path: /^config$/, handler: (sim) => Response.json(knobs(sim)) },
  {
    method: "POST",
    path: /^config$/,
    handler: async (sim, request) => {
      const parsed = knobOverridesInput.safeParse(await request.json().catch(() => undefined));
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({
          path: i.path.join("."),
          message: i.message,
        }));
        return Response.json({ error: "Invalid request", issues }, { status: 400 });
      }
      for (const [key, value] of Object.entries(parsed.data)) {
        if (value === null) delete sim.overrides[key as keyof Knobs];
        else if (value !== undefined) Object.assign(sim.overrides, { [key]: value });
      }
      sim.host.log?.("info", "simulator.config", knobs(sim));
      return Response.json(knobs(sim));
    },
  },
  {
    method: "DELETE",
    path: /^config$/,
    handler: (sim) => {
      sim.overrides = {};
      return Response.json(knobs(sim));
    },
  },
  {
    method: "GET",
    path: /^requests$/,
    handler: (sim) => Response.json(requestLog(sim.standIn.state)),
  },
  {
    method: "DELETE",
    path: /^requests$/,
    handler: (sim) => {
      clearRequestLog(sim.standIn.state);
      return new Response(null, { status: 204 });
    },
  },
];

/** Answers `/api/simulator/<path>`: the app's route has already let the caller in. */
export async function routeSimulator(
  method: Method,
  request: Request,
  path: string,
  host: SimulatorHost,
): Promise<Response> {
  const matching = ROUTES.filter((route) => route.path.test(path));
  if (matching.length === 0)
    return Response.json(
      { error: `No simulator endpoint at /api/simulator/${path}` },
      { status: 404 },
    );
  const route = matching.find((r) => r.method === method);
  if (!route) {
    return Response.json(
      { error: "Method not allowed" },
      { status: 405, headers: { allow: matching.map((r) => r.method).join(", ") } },
    );
  }
  return route.handler(simulator(host), request, route.path.exec(path)!.slice(1));
}

/** A media file, whole or (for video players) the byte range asked for. */
function media(sim: Simulator, request: Request, taskId: string, file: string): Response {
  const dir = mediaDir(sim.host.dataDir());
  const found = renderMedia(taskId, file, (id) => sim.standIn.findTask(id) ?? recallMedia(id, dir));
  if (!found) return Response.json({ error: "Unknown media file" }, { status: 404 });
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
