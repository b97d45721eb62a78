import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hmacSha256 } from "@/lib/services/signing";
import { sleep } from "./app-server";

/**
 * Stand-ins for the four external services (CONTRACT.md §3) on a loopback port, living in
 * the script's process so they outlive a killed app server. They record every request,
 * answer like the real services (the same task id for the same Idempotency-Key) and, when
 * asked, send the signed completion callback back — late, twice, out of order, before
 * answering the submission, or after a 503 first, as the fault settings say.
 */

export type ServiceName = "video" | "last-frame" | "stitch" | "notify";
export type CallbackStage = "video-complete" | "last-frame-complete" | "stitch-complete";

const ROUTES: Record<string, { service: ServiceName; stage: CallbackStage | null }> = {
  "/video/api/v1/tasks/submit": { service: "video", stage: "video-complete" },
  "/frame/api/v1/process": { service: "last-frame", stage: "last-frame-complete" },
  "/stitch/api/v1/stitch": { service: "stitch", stage: "stitch-complete" },
  "/notify": { service: "notify", stage: null },
};

export type Faults = {
  /** Delay before answering a submission, per service (the slow-downstream bench sets 2000). */
  answerDelayMs: Partial<Record<ServiceName, number>>;
  /** Send the completion callback of each accepted task (false: the bench sends its own). */
  callbacks: boolean;
  /** Each callback goes out after a random delay in this range: deliveries overtake each other. */
  callbackDelayMs: [number, number];
  /** Share of callbacks delivered a second time (independently delayed). */
  duplicateRate: number;
  /** Share of requests answered 503 (transient; the app retries with the same Idempotency-Key). */
  unavailableRate: number;
  /** Share of tasks whose callback is delivered, and answered, before the submission is answered. */
  earlyCallbackRate: number;
};

export const NO_FAULTS: Faults = {
  answerDelayMs: {},
  callbacks: false,
  callbackDelayMs: [0, 0],
  duplicateRate: 0,
  unavailableRate: 0,
  earlyCallbackRate: 0,
};

export type Submission = {
  service: ServiceName;
  idempotencyKey: string;
  /** Our answer: 200 with a task id, or an injected 503. */
  status: number;
  taskId: string | null;
  body: Record<string, unknown>;
  receivedAt: number;
  answeredAt: number;
};

export type Delivery = {
  stage: CallbackStage;
  taskId: string;
  /** Sent to the signed callback URL we were given, or (early ones) to the bare endpoint signed with X-Webhook-Signature. */
  via: "callback-url" | "signed-body";
  duplicate: boolean;
  early: boolean;
  attempts: number;
  /** Final HTTP status, or null when it never got through before the deadline. */
  status: number | null;
  answer: Record<string, unknown> | null;
  sentAt: number;
  answeredAt: number | null;
};

export type StandIns = Awaited<ReturnType<typeof startStandIns>>;

export async function startStandIns(options: {
  /** Secrets of the three callback endpoints (the app's *_WEBHOOK_SECRET). */
  secrets: Record<CallbackStage, string>;
  faults?: Partial<Faults>;
  random?: () => number;
}) {
  const faults: Faults = { ...NO_FAULTS, ...options.faults };
  const random = options.random ?? Math.random;
  const submissions: Submission[] = [];
  const deliveries: Delivery[] = [];
  const taskOfKey = new Map<string, string>();
  let taskCounter = 0;
  let inFlight = 0;
  let deliveryDeadline = Number.POSITIVE_INFINITY;

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  // Many slow answers at once in the slow-downstream bench: no socket limits here.
  server.maxConnections = 100_000;
  server.keepAliveTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const receivedAt = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const route = ROUTES[(req.url ?? "").split("?")[0]!];
    if (!route || req.method !== "POST") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"error":"body is not JSON"}');
      return;
    }
    const idempotencyKey = String(req.headers["idempotency-key"] ?? "");
    const record = (status: number, taskId: string | null) =>
      submissions.push({
        service: route.service,
        idempotencyKey,
        status,
        taskId,
        body,
        receivedAt,
        answeredAt: performance.now(),
      });

    const delay = faults.answerDelayMs[route.service] ?? 0;
    if (delay > 0) await sleep(delay);

    if (random() < faults.unavailableRate) {
      record(503, null);
      res
        .writeHead(503, { "content-type": "application/json", "retry-after": "0" })
        .end('{"error":"temporarily unavailable"}');
      return;
    }
    if (!route.stage) {
      record(200, null);
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      return;
    }

    // A re-sent request (same Idempotency-Key) is the same submission: same task, no second callback.
    const known = taskOfKey.get(idempotencyKey);
    const taskId = known ?? `task_${route.service}_${++taskCounter}`;
    taskOfKey.set(idempotencyKey, taskId);
    if (!known && faults.callbacks) {
      const callbackUrl = String(body.callback_url ?? body.webhook_url ?? "");
      const completion = completionOf(route.stage, taskId);
      if (random() < faults.earlyCallbackRate) {
        // Before our answer: the app has no record of this task yet and must keep the callback.
        await deliver(route.stage, taskId, callbackUrl, completion, {
          early: true,
          duplicate: false,
        });
      } else {
        schedule(route.stage, taskId, callbackUrl, completion, false);
      }
      if (random() < faults.duplicateRate)
        schedule(route.stage, taskId, callbackUrl, completion, true);
    }
    record(200, taskId);
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        task_id: taskId,
        status: route.service === "video" ? "queued" : "pending",
      }),
    );
  }

  function schedule(
    stage: CallbackStage,
    taskId: string,
    url: string,
    body: Record<string, unknown>,
    duplicate: boolean,
  ) {
    const [min, max] = faults.callbackDelayMs;
    const wait = min + random() * (max - min);
    inFlight++;
    setTimeout(() => {
      deliver(stage, taskId, url, body, { early: false, duplicate }).finally(() => inFlight--);
    }, wait);
  }

  /** POSTs a callback, retrying (as real senders do) on network errors, 5xx and 429 until the deadline. */
  async function deliver(
    stage: CallbackStage,
    taskId: string,
    callbackUrl: string,
    body: Record<string, unknown>,
    how: { early: boolean; duplicate: boolean },
  ) {
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = { "content-type": "application/json" };
    let url = callbackUrl;
    if (how.early) {
      // Without the ref the app cannot match the task yet: this exercises the parked path.
      const bare = new URL(callbackUrl);
      bare.search = "";
      url = bare.toString();
      headers["x-webhook-signature"] =
        `sha256=${hmacSha256(options.secrets[stage], raw).toString("hex")}`;
    }
    const delivery: Delivery = {
      stage,
      taskId,
      via: how.early ? "signed-body" : "callback-url",
      duplicate: how.duplicate,
      early: how.early,
      attempts: 0,
      status: null,
      answer: null,
      sentAt: performance.now(),
      answeredAt: null,
    };
    deliveries.push(delivery);
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 2000)) {
      delivery.attempts++;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers,
          body: raw,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status < 500 && response.status !== 429) {
          delivery.status = response.status;
          delivery.answeredAt = performance.now();
          delivery.answer = parseObject(text);
          return;
        }
      } catch {
        // the app is down or restarting: try again
      }
      if (Date.now() + backoff > deliveryDeadline) return;
      await sleep(backoff);
    }
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    base,
    faults,
    submissions,
    deliveries,
    /** The app's service settings pointing at these stand-ins. */
    env: {
      VIDEO_GENERATION_SERVICE: `${base}/video`,
      VIDEO_GENERATION_API_KEY: "stand-in-video-key",
      LAST_FRAME_SERVICE_URL: `${base}/frame`,
      LAST_FRAME_API_KEY: "stand-in-frame-key",
      STITCH_SERVICE_URL: `${base}/stitch`,
      STITCH_API_KEY: "stand-in-stitch-key",
      NOTIFICATION_SERVICE_URL: `${base}/notify`,
      NOTIFICATION_API_KEY: "stand-in-notify-key",
      SIMULATOR_ENABLED: "false",
    },
    /** Callbacks scheduled or being delivered. */
    get pendingDeliveries() {
      return inFlight;
    },
    /** Deliveries still failing after this moment give up (bounded runs). */
    stopRetryingAt(epochMs: number) {
      deliveryDeadline = epochMs;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The completion callback a service sends for a task (both documented field names used across stages). */
export function completionOf(stage: CallbackStage, taskId: string): Record<string, unknown> {
  switch (stage) {
    case "video-complete":
      return {
        task_id: taskId,
        status: "completed",
        video_url: `https://cdn.example.test/video/${taskId}.mp4`,
        duration: 5,
      };
    case "last-frame-complete":
      return {
        task_id: taskId,
        status: "completed",
        last_frame_url: `https://cdn.example.test/frame/${taskId}.jpg`,
      };
    case "stitch-complete":
      return {
        task_id: taskId,
        status: "completed",
        final_video_url: `https://cdn.example.test/final/${taskId}.mp4`,
        duration: 25,
      };
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
