import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type Knobs, QUIET } from "./knobs";
import { createStandIn, type StandInOptions } from "./stand-in";

/**
 * The stand-in on its own loopback port, for the integration tests and the bench/soak
 * (the simulator is the same stand-in served by the app: app/api/simulator). Its knobs
 * are a live object: change them at any time.
 */
export async function serveStandIn(
  options: Partial<Omit<StandInOptions, "knobs" | "mediaBase">> & { knobs?: Partial<Knobs> } = {},
) {
  const knobs: Knobs = { ...QUIET, ...options.knobs };
  let base = "";
  const standIn = createStandIn({
    secret: () => undefined,
    ...options,
    knobs: () => knobs,
    mediaBase: () => base,
  });
  const server = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (value !== undefined) headers[name] = String(value);
      const answer =
        req.method === "POST"
          ? await standIn.respond({
              path: new URL(req.url ?? "/", base).pathname,
              headers,
              raw: Buffer.concat(chunks).toString(),
            })
          : null;
      const {
        status,
        body,
        headers: answerHeaders,
      } = answer ?? {
        status: 404,
        body: { error: "not found" },
      };
      res.writeHead(status, { ...answerHeaders, "content-type": "application/json" });
      res.end(JSON.stringify(body));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  // Many slow answers at once in the slow-downstream bench: no socket limits here.
  server.maxConnections = 100_000;
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return Object.assign(standIn, {
    base,
    knobs,
    /** The app's service settings pointing at this stand-in. */
    env: {
      VIDEO_GENERATION_SERVICE: `${base}/video`,
      VIDEO_GENERATION_API_KEY: "video-key",
      LAST_FRAME_SERVICE_URL: `${base}/frame`,
      LAST_FRAME_API_KEY: "frame-key",
      STITCH_SERVICE_URL: `${base}/stitch`,
      STITCH_API_KEY: "stitch-key",
      NOTIFICATION_SERVICE_URL: `${base}/notify`,
      NOTIFICATION_API_KEY: "notify-key",
      SIMULATOR_ENABLED: "false",
    },
    close: () =>
      new Promise<void>((resolve) => {
        standIn.stopCallbacks();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
export type ServedStandIn = Awaited<ReturnType<typeof serveStandIn>>;
