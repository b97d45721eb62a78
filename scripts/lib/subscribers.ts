import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/**
 * Users' webhook endpoints for the soak (issue 14), on loopback in the script's process so they
 * outlive a killed app: `healthy` answers 200; `flaky` answers 500 to a share of requests but at
 * most `maxFailuresPerEvent` times per webhook-id, so every event gets through within the retry
 * schedule; `dead` answers 500 to everything, so its deliveries fail and the app must disable
 * it. Every request is verified with the `standardwebhooks` library against the secret the app
 * returned at registration; a verified event is recorded by its webhook-id.
 */

export type SubscriberName = "healthy" | "flaky" | "dead";

export type ReceivedEvent = {
  type: string;
  projectId: string | null;
  sequence: number | null;
  /** Verified requests carrying this webhook-id (more than 1: redelivered, which at-least-once allows). */
  count: number;
};

export type Subscriber = {
  name: SubscriberName;
  url: string;
  /** Verified events by webhook-id. */
  events: Map<string, ReceivedEvent>;
  requests: number;
  /** Answered 5xx on purpose. */
  failed: number;
  /** Requests whose signature, timestamp or body did not verify. */
  invalid: number;
  /** Set once the endpoint is registered: its id, and the `whsec_` secret the app signs with. */
  endpointId: string | null;
  secret: string | null;
};

export async function startSubscribers(options: {
  flakyFailureRate: number;
  maxFailuresPerEvent: number;
  random?: () => number;
}) {
  const random = options.random ?? Math.random;
  const failuresOf = new Map<string, number>();
  const subscribers = {} as Record<SubscriberName, Subscriber>;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const name = (req.url ?? "").slice(1) as SubscriberName;
    const subscriber = subscribers[name];
    if (!subscriber) {
      res.writeHead(404).end();
      return;
    }
    subscriber.requests++;
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const id = headers["webhook-id"];
    const fail = () => {
      subscriber.failed++;
      res.writeHead(500, { "content-type": "text/plain" }).end("failing on purpose");
    };
    if (name === "dead") return fail();
    if (name === "flaky") {
      const failures = failuresOf.get(id) ?? 0;
      if (failures < options.maxFailuresPerEvent && random() < options.flakyFailureRate) {
        failuresOf.set(id, failures + 1);
        return fail();
      }
    }
    let event: { type?: string; data?: { project_id?: string; sequence?: number } };
    try {
      if (!subscriber.secret) throw new WebhookVerificationError("not registered yet");
      event = new Webhook(subscriber.secret).verify(body, headers) as typeof event;
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      subscriber.invalid++;
      res.writeHead(401).end();
      return;
    }
    const seen = subscriber.events.get(id);
    if (seen) seen.count++;
    else
      subscriber.events.set(id, {
        type: String(event.type),
        projectId: event.data?.project_id ?? null,
        sequence: event.data?.sequence ?? null,
        count: 1,
      });
    res.writeHead(204).end();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const name of ["healthy", "flaky", "dead"] as const)
    subscribers[name] = {
      name,
      url: `${base}/${name}`,
      events: new Map(),
      requests: 0,
      failed: 0,
      invalid: 0,
      endpointId: null,
      secret: null,
    };
  return {
    ...subscribers,
    all: Object.values(subscribers),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
export type Subscribers = Awaited<ReturnType<typeof startSubscribers>>;
