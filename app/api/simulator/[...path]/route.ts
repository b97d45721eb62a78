import { checkSimulatorAccess, simulatorCallbackTarget } from "@/lib/auth/simulator-access";
import { env } from "@/lib/env";
import { AppError, handle } from "@/lib/http/errors";
import { log } from "@/lib/observability/log";
import { appUrl } from "@/lib/services/app-url";
import { simulatorEnabled } from "@/lib/services/endpoints";
import { STAGES } from "@/lib/webhooks/stages";
import type { SimulatorHost } from "@/simulator/router";

// /api/simulator/* – the built-in stand-in for the video, last-frame, stitch and
// notification services (dev, demo, tests); 404 unless the simulator is enabled. The
// simulator (simulator/) is loaded only then: nothing of it runs in a production app
// that calls real services.
const host: SimulatorHost = {
  defaults: () => ({
    delay_ms: env.SIMULATOR_DELAY_MS,
    delay_jitter_ms: 0,
    answer_delay_ms: {},
    callbacks: true,
    failure_rate: env.SIMULATOR_FAILURE_RATE,
    duplicate_rate: env.SIMULATOR_DUPLICATE_RATE,
    silence_rate: env.SIMULATOR_SILENCE_RATE,
    unavailable_rate: env.SIMULATOR_UNAVAILABLE_RATE,
    early_callback_rate: env.SIMULATOR_EARLY_CALLBACK_RATE,
    shuffle: env.SIMULATOR_SHUFFLE,
    progress_steps: env.SIMULATOR_PROGRESS_STEPS,
    payload_shape: "mixed",
  }),
  publicUrl: appUrl,
  secret: (stage) => STAGES[stage].secrets()?.[0],
  callbackTarget: simulatorCallbackTarget,
  log,
  dataDir: () => env.PGLITE_DATA_DIR,
};

function simulatorRoute(method: "GET" | "POST" | "DELETE") {
  return handle(async (request: Request, ctx: { params: Promise<{ path: string[] }> }) => {
    if (!simulatorEnabled()) throw new AppError("not_found", "Not found");
    const refused = await checkSimulatorAccess(request); // admin token when locked
    if (refused) return refused;
    const { routeSimulator } = await import("@/simulator/router");
    return routeSimulator(method, request, (await ctx.params).path.join("/"), host);
  });
}

export const GET = simulatorRoute("GET");
export const POST = simulatorRoute("POST");
export const DELETE = simulatorRoute("DELETE");
