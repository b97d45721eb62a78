import "server-only";
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { closeDb, statementCount } from "@/lib/db/client";
import { type ThreadSeries, threadSeries } from "@/lib/observability/metrics";
import type { ClaimedNewJob } from "@/lib/pipeline/store";
import { deliverHandedJobs, shareDeliveryGate } from "./schedule";
import { startDispatchWorker } from "./worker";

/**
 * Entry of the dispatch worker thread that the web server starts (lib/jobs/worker-host.ts).
 * Next bundles it from `new Worker(new URL(…))`, so the path alias and `server-only` resolve
 * as in the server's own code, under `next dev` and `next build` alike.
 *
 * Messages: from the parent `{type:"jobs", jobs}` (jobs its writes claimed, to deliver
 * here) and `{type:"stop"}`; to it `{type:"ready"}` (listening: post jobs from now on),
 * `{type:"statements", count}` (this thread's database statements, for /api/metrics),
 * `{type:"metrics", series}` (its outbound calls and webhook deliveries, shown by the web
 * thread's /api/metrics) and `{type:"stopped"}`.
 */
export type ThreadData = { gate: SharedArrayBuffer };
export type ToThread = { type: "jobs"; jobs: ClaimedNewJob[] } | { type: "stop" };
export type FromThread =
  | { type: "ready" }
  | { type: "statements"; count: number }
  | { type: "metrics"; series: ThreadSeries }
  | { type: "stopped" };

const port = parentPort;
if (!port) throw new Error("lib/jobs/worker-thread.ts runs as a worker thread only");

writeLogsDirectly();

const send = (message: FromThread) => port.postMessage(message);
let reported = -1;
const reportStatements = async () => {
  const count = statementCount();
  if (count !== reported) {
    send({ type: "statements", count });
    send({ type: "metrics", series: await threadSeries() });
  }
  reported = count;
};
const reporter = setInterval(reportStatements, 1000);

shareDeliveryGate((workerData as ThreadData).gate);
// Jobs posted before a stop was asked for are delivered, even while stopping: they are claimed.
port.on("message", (message: ToThread) => {
  if (message?.type === "jobs") deliverHandedJobs(message.jobs);
});
const worker = await startDispatchWorker();
send({ type: "ready" });
port.on("message", async (message: ToThread) => {
  if (message?.type !== "stop") return;
  clearInterval(reporter);
  await worker.stop();
  await closeDb();
  await reportStatements();
  send({ type: "stopped" });
  process.exit(0); // in a worker thread: ends this thread only
});

/**
 * A worker thread's stdout and stderr are relayed through the parent thread's event loop,
 * which is the web thread here. Write this thread's lines straight to the process's file
 * descriptors instead (one write per line, as the main thread does); relay only what a
 * direct write cannot take (a full non-blocking pipe).
 */
function writeLogsDirectly() {
  for (const [stream, fd] of [
    [process.stdout, 1],
    [process.stderr, 2],
  ] as const) {
    const relay = stream.write.bind(stream) as (chunk: Uint8Array, done?: () => void) => boolean;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
      const done = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
      let written = 0;
      try {
        while (written < bytes.length) written += writeSync(fd, bytes, written);
      } catch {
        return relay(bytes.subarray(written), done);
      }
      done?.();
      return true;
    }) as typeof stream.write;
  }
}
