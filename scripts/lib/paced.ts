import { Agent, request } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";

/**
 * An open-loop load generator: request i is due at start + i / rate, whatever happened to the
 * requests before it, and its latency is measured from that due time — not from when it was
 * actually sent. A server (or this process) that falls behind therefore shows the wait in the
 * figures instead of hiding it by sending less (coordinated omission). Count-bounded: exactly
 * `count` requests, so the percentiles always rest on the same number of samples.
 *
 * autocannon's `overallRate` is closed-loop per connection and sends each connection's quota
 * for a second as a burst at its start: its p99 "at half the maximum rate" is the time to clear
 * a burst. This one spreads arrivals evenly over a keep-alive `node:http` agent.
 */

export type PacedRequest = {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
};

export type PacedResult = {
  sent: number;
  /** Achieved arrival rate (requests / time from the first due time to the last). */
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Network errors and timeouts. */
  errors: number;
  non2xx: number;
  /** 2xx answers the caller's `check` refused. */
  rejected: number;
  /** How late the generator itself was in sending, at the 99th percentile (ms): should be ~0. */
  sendLagP99: number;
  /** The longest this process's event loop was blocked during the run (ms): a stall here shows as the app's latency. */
  loopStallMax: number;
  elapsedMs: number;
};

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export async function pacedRun(options: {
  baseUrl: string;
  rate: number;
  count: number;
  next: (i: number) => PacedRequest;
  /** Checks a 2xx answer's body (e.g. "the callback was applied"). */
  check?: (status: number, body: string) => boolean;
  timeoutMs?: number;
  /** Most sockets open at once (a request due while all are busy waits, and that wait counts). */
  maxSockets?: number;
}): Promise<PacedResult> {
  const url = new URL(options.baseUrl);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    scheduling: "lifo", // reuse the warmest socket: as few connections as the load needs
    // Idle sockets are closed by us before the server's keep-alive timeout (Node's default 5 s) can.
    timeout: 4000,
  });
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let rejected = 0;
  let finished = 0;
  const start = performance.now() + 5;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();

  const one = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      lags.push(performance.now() - due);
      const spec = options.next(i);
      const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
      const attempt = (tries: number) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method: spec.method ?? (body ? "POST" : "GET"),
            path: spec.path,
            headers: {
              ...spec.headers,
              ...(body ? { "content-length": String(body.length) } : {}),
            },
            timeout: options.timeoutMs ?? 30_000,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              latencies.push(performance.now() - due);
              const status = res.statusCode ?? 0;
              if (status < 200 || status >= 300) non2xx++;
              else if (options.check && !options.check(status, Buffer.concat(chunks).toString()))
                rejected++;
              resolve();
            });
            res.on("error", () => {
              errors++;
              resolve();
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error: NodeJS.ErrnoException) => {
          // A kept-alive socket the server closed just as it was reused (its keep-alive timeout
          // racing our send): the request never reached the app, so send it again — as Node's
          // documentation advises — still timed from its due time.
          if (req.reusedSocket && error.code === "ECONNRESET" && tries < 3) attempt(tries + 1);
          else {
            errors++;
            resolve();
          }
        });
        req.end(body);
      };
      attempt(1);
    }).finally(() => {
      finished++;
    });

  const pending: Promise<void>[] = [];
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out, late ones included (their lateness is in their latency).
      while (issued < options.count && start + issued * interval <= now) {
        pending.push(one(issued, start + issued * interval));
        issued++;
      }
      if (issued >= options.count) return resolve();
      setTimeout(tick, Math.max(0, start + issued * interval - performance.now()));
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await Promise.all(pending);
  loopDelay.disable();
  agent.destroy();
  const elapsedMs = performance.now() - start;
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const lastDue = (options.count - 1) * interval;
  return {
    sent: finished,
    rate: lastDue > 0 ? ((options.count - 1) * 1000) / lastDue : options.rate,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    errors,
    non2xx,
    rejected,
    sendLagP99: percentile(lags, 99),
    loopStallMax: loopDelay.max / 1e6,
    elapsedMs,
  };
}
