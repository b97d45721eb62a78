import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The dispatch worker (lib/jobs/worker.ts): woken by NOTIFY on PostgreSQL, one pass at start,
 * a clean stop; and the same module as `npm run worker`, a separate process.
 */

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/** A stand-in for the video service that can hold its answers (a delivery in flight). */
async function startVideoService() {
  const received: Array<Record<string, unknown>> = [];
  let gate: Promise<void> = Promise.resolve();
  let tasks = 0;
  const server = createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    received.push(JSON.parse(raw));
    await gate;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ task_id: `task_${++tasks}`, status: "queued" }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    /** Holds every answer until the returned function is called. */
    hold() {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      return release;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls a condition; the bound is generous (a loaded machine starts a tsx process slowly). */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 90_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Spawning a process: bounded only so a hang still ends the run. */
const PROCESS_TEST_TIMEOUT = 120_000;

let service: Awaited<ReturnType<typeof startVideoService>>;

beforeAll(async () => {
  service = await startVideoService();
  Object.assign(process.env, {
    VIDEO_GENERATION_SERVICE: `${service.base}/video`,
    LAST_FRAME_SERVICE_URL: `${service.base}/frame`,
    STITCH_SERVICE_URL: `${service.base}/stitch`,
    SIMULATOR_ENABLED: "false",
  });
});
afterAll(() => service.close());

/** A one-scene project, started: its first job (generate video) is queued. */
async function queueJob(): Promise<string> {
  const { POST } = await import("@/app/api/v1/projects/route");
  const response = await POST(
    new Request("http://127.0.0.1:3999/api/v1/projects", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "worker",
        scenes: [{ prompt: "a", duration: 4 }],
        autostart: true,
      }),
    }),
  );
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const deliveredFor = (projectId: string) =>
  service.received.filter((b) => b.project_id === projectId);

/** A NOTIFY with no job behind it (a worker must not mind, nor start anything while stopping). */
async function notify() {
  const { getConnection } = await import("@/lib/db/client");
  const connection = await getConnection();
  if (connection.kind === "postgres") await connection.sql`select pg_notify('framechain_jobs', '')`;
}

describe.runIf(onPostgres)("the dispatch worker on PostgreSQL", () => {
  it(
    "delivers at start what was queued while no worker ran, then what a NOTIFY announces, and stops only once its deliveries are done",
    async () => {
      const { startDispatchWorker } = await import("@/lib/jobs/worker");
      const { setDispatchMode } = await import("@/lib/jobs/schedule");

      const before = await queueJob();
      const worker = await startDispatchWorker({ sweepIntervalMs: 0 });
      // From here the web side of this process does nothing: only the NOTIFY can wake the worker.
      setDispatchMode("elsewhere");
      try {
        await waitFor(() => deliveredFor(before).length === 1, "the start-up pass");

        const release = service.hold();
        // The statement that queues the job sends the NOTIFY itself: nothing else wakes the worker.
        const after = await queueJob();
        await waitFor(() => deliveredFor(after).length === 1, "the NOTIFY wake-up");

        let stopped = false;
        const stopping = worker.stop().then(() => {
          stopped = true;
        });
        await notify(); // heard no more: nothing new may start while stopping
        // Time for stop() to get past unlistening (a round trip on its own connection). A stop
        // that did not wait for its deliveries would resolve meanwhile; one that does cannot.
        const { getConnection } = await import("@/lib/db/client");
        const connection = await getConnection();
        for (let i = 0; i < 5 && connection.kind === "postgres"; i++)
          await connection.sql`select 1`;
        expect(stopped).toBe(false); // the held delivery is still in flight
        release();
        await stopping;
        expect(deliveredFor(after)).toHaveLength(1);
      } finally {
        setDispatchMode("after-response");
      }
    },
    PROCESS_TEST_TIMEOUT,
  );

  it(
    "`npm run worker` is a separate process doing the same, and exits cleanly on SIGTERM",
    async () => {
      const projectId = await queueJob(); // this process dispatches nothing: its after() never runs here
      const child = startWorkerProcess({});
      try {
        await waitFor(() => deliveredFor(projectId).length === 1, "the worker process");
        const later = await queueJob();
        await waitFor(() => deliveredFor(later).length === 1, "the worker process, woken");
      } finally {
        child.kill("SIGTERM");
      }
      const [code] = await once(child, "exit");
      expect(code).toBe(0);
    },
    PROCESS_TEST_TIMEOUT,
  );
});

describe.runIf(!onPostgres)("the dispatch worker on PGlite", () => {
  it("refuses to start: PGlite's dispatch stays on the web thread", async () => {
    const { startDispatchWorker } = await import("@/lib/jobs/worker");
    await expect(startDispatchWorker({ sweepIntervalMs: 0 })).rejects.toThrow(/DATABASE_URL/);
  });
});

it(
  "`npm run worker` without DATABASE_URL stops with a message naming it",
  async () => {
    const child = startWorkerProcess({ DATABASE_URL: "" });
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, "exit");
    expect(code).toBe(1);
    expect(stderr).toMatch(/npm run worker needs DATABASE_URL/);
  },
  PROCESS_TEST_TIMEOUT,
);

function startWorkerProcess(env: Record<string, string>): ChildProcess {
  const root = path.resolve(import.meta.dirname, "../../..");
  return spawn(
    process.execPath,
    [
      path.join(root, "node_modules/tsx/dist/cli.mjs"),
      "--conditions=react-server",
      "scripts/worker.ts",
    ],
    { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] },
  );
}
