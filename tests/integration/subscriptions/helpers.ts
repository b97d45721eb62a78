import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a test receiver got: its headers and the exact body bytes, as text. */
export type Received = { path: string; headers: IncomingHttpHeaders; body: string };

/** How the receiver answers the n-th request (0-based) for one webhook-id on a path. */
export type Behaviour = (nth: number) => "ok" | "500" | "hang" | "503" | "302" | "big";

/**
 * A loopback receiver of users' webhooks: records every request and answers per path
 * (default 200). "hang" never answers (until close): the sender's timeout ends it.
 */
export async function startReceiver() {
  const received: Received[] = [];
  const behaviours = new Map<string, Behaviour>();
  const seen = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = req.url ?? "/";
    received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    const key = `${path} ${req.headers["webhook-id"]}`;
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const answer = behaviours.get(path)?.(nth) ?? "ok";
    if (answer === "hang") {
      hanging.add(res);
      return;
    }
    if (answer === "302") {
      res.writeHead(302, { location: `${path}/redirected` }).end();
      return;
    }
    if (answer === "big") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("x".repeat(200 * 1024));
      return;
    }
    res.writeHead(answer === "ok" ? 200 : Number(answer), { "content-type": "text/plain" });
    res.end(answer === "ok" ? "thanks" : `failing on purpose (${answer})`);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    on(path: string, behaviour: Behaviour) {
      behaviours.set(path, behaviour);
    },
    at(path: string) {
      return received.filter((r) => r.path === path);
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Polls until `check` holds: a safety net with a generous limit, never a timing assertion. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  limitMs = 60_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The management routes of CONTRACT §6, called with real Requests. */
export async function loadEndpointApi() {
  const [list, one, rotate, test, deliveries, resend] = await Promise.all([
    import("@/app/api/v1/webhook-endpoints/route"),
    import("@/app/api/v1/webhook-endpoints/[id]/route"),
    import("@/app/api/v1/webhook-endpoints/[id]/rotate-secret/route"),
    import("@/app/api/v1/webhook-endpoints/[id]/test/route"),
    import("@/app/api/v1/webhook-endpoints/[id]/deliveries/route"),
    import("@/app/api/v1/webhook-endpoints/[id]/deliveries/[delivery_id]/resend/route"),
  ]);
  const base = "http://127.0.0.1:3999/api/v1/webhook-endpoints";
  const json = (method: string, url: string, body?: unknown) =>
    new Request(url, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ctx = (id: string) => ({ params: Promise.resolve({ id }) });
  return {
    create: (body: unknown) => list.POST(json("POST", base, body)),
    list: () => list.GET(),
    get: (id: string) => one.GET(new Request(`${base}/x`), ctx(id)),
    patch: (id: string, body: unknown) => one.PATCH(json("PATCH", `${base}/x`, body), ctx(id)),
    remove: (id: string) => one.DELETE(new Request(`${base}/x`, { method: "DELETE" }), ctx(id)),
    rotate: (id: string) => rotate.POST(json("POST", `${base}/x/rotate-secret`), ctx(id)),
    test: (id: string) => test.POST(json("POST", `${base}/x/test`), ctx(id)),
    deliveries: (id: string, query = "") =>
      deliveries.GET(new Request(`${base}/x/deliveries${query}`), ctx(id)),
    resend: (id: string, deliveryId: string) =>
      resend.POST(json("POST", `${base}/x/deliveries/y/resend`), {
        params: Promise.resolve({ id, delivery_id: deliveryId }),
      }),
  };
}

export type CreatedEndpoint = { id: string; secret: string; url: string; events: string[] | null };
