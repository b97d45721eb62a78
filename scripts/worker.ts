/**
 * `npm run worker` – a dispatcher process (lib/jobs/worker.ts) for deployments that split web
 * and workers: it delivers the jobs any web process queues in the same PostgreSQL database.
 * Run any number of them; web processes started with DISPATCH_IN_WEB=false leave all
 * dispatching to them. Stops cleanly on SIGTERM/SIGINT (or a "stop" message when forked):
 * deliveries under way finish first.
 */
import { createRequire } from "node:module";
import path from "node:path";

async function main() {
  // The same .env files `next start`/`next dev` would load, so web and worker agree.
  const { loadEnvConfig } = createRequire(path.join(process.cwd(), "package.json"))("@next/env");
  loadEnvConfig(process.cwd(), process.env.NODE_ENV !== "production", {
    info: () => {},
    error: console.error,
  });
  const { env } = await import("@/lib/env"); // parses every setting: a bad one stops here, named
  if (!env.DATABASE_URL) {
    console.error(
      "npm run worker needs DATABASE_URL (PostgreSQL). With the embedded PGlite database the web process dispatches by itself.",
    );
    process.exit(1);
  }
  const { closeDb, redact } = await import("@/lib/db/client");
  const { log } = await import("@/lib/observability/log");
  const { startDispatchWorker } = await import("@/lib/jobs/worker");

  const worker = await startDispatchWorker();
  log("info", "worker.process", { pid: process.pid, database: redact(env.DATABASE_URL) });

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "worker.stopping", { reason: why });
    await worker.stop();
    await closeDb();
    process.exit(0);
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  if (process.send) {
    process.on("message", (message) => message === "stop" && stop("parent message"));
    process.once("disconnect", () => stop("parent gone"));
  }
}

main().catch((error: Error) => {
  console.error(`Framechain worker cannot start: ${error.message}`);
  process.exit(1);
});
