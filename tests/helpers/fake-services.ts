import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type RecordedRequest = {
  path: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
  taskId: string | null;
};

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * Stand-ins for the video, last-frame, stitch and notification services on a loopback
 * port: they record every request and answer like the real ones (a task id), unless a
 * test scripts other answers (`answerNext`). Callbacks are the test's to send.
 */
export async function startFakeServices() {
  const requests: RecordedRequest[] = [];
  const scripted = new Map<string, Answer[]>();
  const byIdempotencyKey = new Map<string, string>();
  let counter = 0;

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
    const path = req.url ?? "/";
    const queue = scripted.get(path);
    const answer = queue?.shift();
    if (answer) {
      requests.push({ path, headers: req.headers, body, taskId: null });
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(JSON.stringify(answer.body ?? { error: "scripted" }));
      return;
    }
    const key = String(req.headers["idempotency-key"] ?? "");
    let taskId = byIdempotencyKey.get(key) ?? null;
    if (path !== "/notify") {
      taskId ??= `task_${++counter}`;
      byIdempotencyKey.set(key, taskId);
    }
    requests.push({ path, headers: req.headers, body, taskId });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(taskId ? { task_id: taskId, status: "queued" } : { ok: true }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    base,
    requests,
    /** Env for lib/env.ts so the app's clients call these stand-ins. */
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
    answerNext(path: string, ...answers: Answer[]) {
      scripted.set(path, [...(scripted.get(path) ?? []), ...answers]);
    },
    of(path: string) {
      return requests.filter((r) => r.path === path && r.taskId !== null);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type FakeServices = Awaited<ReturnType<typeof startFakeServices>>;
