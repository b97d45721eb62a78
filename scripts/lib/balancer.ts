import { once } from "node:events";
import { Agent, createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A round-robin load balancer on a loopback port, in front of several web processes: the one
 * public address (APP_URL) that callback URLs point at, so the services' callbacks spread over
 * every instance. Like a real one with passive health checks, a request whose upstream refuses
 * the connection (a killed instance) is retried on the next one; an upstream that answers is
 * never asked twice. Counts what each upstream answered, so a run can show the spread.
 */
export async function startBalancer(upstreams: string[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const answered = upstreams.map(() => 0);
  let turn = 0;

  const forward = (upstream: string, req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>(
      (resolve, reject) => {
        const url = new URL(upstream);
        const out = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: url.host, "content-length": String(body.length) },
            timeout: 30_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 502,
                headers: res.headers,
                body: Buffer.concat(chunks),
              }),
            );
            res.on("error", reject);
          },
        );
        out.on("timeout", () => out.destroy(new Error("upstream timeout")));
        out.on("error", reject);
        out.end(body);
      },
    );

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const first = turn++ % upstreams.length;
    for (let i = 0; i < upstreams.length; i++) {
      const index = (first + i) % upstreams.length;
      try {
        const answer = await forward(upstreams[index]!, req, body);
        answered[index]!++;
        const headers = { ...answer.headers };
        delete headers["transfer-encoding"];
        delete headers.connection;
        delete headers["keep-alive"];
        res.writeHead(answer.status, { ...headers, "content-length": String(answer.body.length) });
        res.end(answer.body);
        return;
      } catch {
        // that instance is down: the next one
      }
    }
    res.writeHead(502, { "content-type": "application/json" }).end('{"error":"no upstream"}');
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Requests each upstream answered, in the order given. */
    answered,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
