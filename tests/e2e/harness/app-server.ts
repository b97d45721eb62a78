import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { migratePostgres } from "@/lib/db/migrations";

/**
 * Builds the app once and runs it with `next start` in its own process group, against a
 * database nobody else uses: a fresh PostgreSQL database when TEST_DATABASE_URL is set
 * (CI), otherwise a fresh PGlite data dir in a temp folder.
 *
 * The app directory defaults to the repository root; E2E_APP_DIR points it at another
 * checkout (a private copy, so a shared working tree's `.next` is never touched).
 */

export const APP_DIR = path.resolve(
  process.env.E2E_APP_DIR ?? path.join(__dirname, "..", "..", ".."),
);

/** Secrets the e2e server verifies the simulator's callbacks with. */
const E2E_SECRETS = {
  VIDEO_WEBHOOK_SECRET: "e2e-video-secret",
  LAST_FRAME_WEBHOOK_SECRET: "e2e-last-frame-secret",
  STITCH_WEBHOOK_SECRET: "whsec_ZTJlLXN0aXRjaC1zZWNyZXQ=",
};

/** Variables of the test runner that must not leak into the app's environment. */
const STRIPPED = [
  "NODE_ENV",
  "DATABASE_URL",
  "PGLITE_DATA_DIR",
  "ADMIN_TOKEN",
  "VITEST",
  "VITEST_POOL_ID",
  "VITEST_WORKER_ID",
];

function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || STRIPPED.includes(key) || key.startsWith("TEST_")) continue;
    // Service URLs from the developer's shell would bypass the simulator.
    if (/_(SERVICE|SERVICE_URL|API_KEY)$/.test(key)) continue;
    out[key] = value;
  }
  out.NEXT_TELEMETRY_DISABLED = "1";
  return out;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

const nextBin = () => path.join(APP_DIR, "node_modules", ".bin", "next");

/** What a build is made from: when none of it is newer than the last build, that build is reused. */
const BUILD_INPUT_DIRS = ["app", "lib", "simulator", "public", "drizzle"];
const ROOT_FILE = /\.(ts|tsx|mts|mjs|js|json)$/;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsFresh(): boolean {
  const buildId = path.join(APP_DIR, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return false;
  let newest = 0;
  for (const dir of BUILD_INPUT_DIRS) {
    if (existsSync(path.join(APP_DIR, dir)))
      newest = Math.max(newest, newestMtime(path.join(APP_DIR, dir)));
  }
  for (const entry of readdirSync(APP_DIR, { withFileTypes: true })) {
    if (entry.isFile() && ROOT_FILE.test(entry.name) && entry.name !== "tsconfig.tsbuildinfo") {
      newest = Math.max(newest, statSync(path.join(APP_DIR, entry.name)).mtimeMs);
    }
  }
  return statSync(buildId).mtimeMs > newest;
}

/**
 * `next build` in APP_DIR, unless the existing build is newer than every source it is made
 * from (so a rerun with nothing changed does not build again). Called once per run, by the
 * e2e project's globalSetup (global-build.ts). E2E_SKIP_BUILD=1 reuses any existing build;
 * E2E_FORCE_BUILD=1 always builds.
 */
export async function buildApp(): Promise<void> {
  const hasBuild = existsSync(path.join(APP_DIR, ".next", "BUILD_ID"));
  if (process.env.E2E_SKIP_BUILD === "1" && hasBuild) return;
  if (process.env.E2E_FORCE_BUILD !== "1" && buildIsFresh()) return;
  await run(nextBin(), ["build"], { cwd: APP_DIR, env: { ...baseEnv(), NODE_ENV: "production" } });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

type Database = { env: Record<string, string>; describe: string; drop: () => Promise<void> };

async function freshDatabase(): Promise<Database> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) {
    const name = `framechain_e2e_${randomBytes(6).toString("hex")}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    // The deploy step (`npm run db:migrate`): with NODE_ENV=production the app does not migrate.
    await migratePostgres(url.toString(), path.join(APP_DIR, "drizzle"));
    return {
      env: { DATABASE_URL: url.toString() },
      describe: `PostgreSQL database ${name}`,
      drop: async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
        await admin.end({ timeout: 2 });
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), "framechain-e2e-"));
  return {
    env: { PGLITE_DATA_DIR: path.join(dir, "pglite") },
    describe: `PGlite in ${dir}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type AppServer = {
  url: string;
  database: string;
  /** Everything the server printed so far (shown when a test fails). */
  logs: () => string;
  /** Stops the server and starts it again on the same port and database. */
  restart: (options?: { downtimeMs?: number }) => Promise<void>;
  stop: () => Promise<void>;
};

type Running = { child: ChildProcess; exited: Promise<void> };

/**
 * Starts `next start` (or, with `dev`, `next dev`: no build needed, pages compile on first
 * visit) on a free port and waits until it answers.
 */
export async function startApp(
  extraEnv: Record<string, string> = {},
  options: { dev?: boolean } = {},
): Promise<AppServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const database = await freshDatabase();
  const env: Record<string, string | undefined> = {
    ...baseEnv(),
    ...E2E_SECRETS,
    ...database.env,
    NODE_ENV: options.dev ? "development" : "test",
    PORT: String(port),
    APP_URL: url,
    SIMULATOR_ENABLED: "true",
    SIMULATOR_DELAY_MS: "150",
    DISPATCH_SWEEP_INTERVAL_MS: "500",
    LOG_LEVEL: "warn",
    ...extraEnv,
  };
  let output = "";

  const launch = async (): Promise<Running> => {
    // detached = setsid: the launcher and the next-server it forks share one process group to kill.
    const command = options.dev ? "dev" : "start";
    const child = spawn(nextBin(), [command, "-p", String(port), "-H", "127.0.0.1"], {
      cwd: APP_DIR,
      env: env as NodeJS.ProcessEnv,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    const exited = new Promise<void>((resolve) =>
      child.once("exit", (code, signal) => {
        output += `\n[next ${command} exited: ${signal ?? `code ${code}`}]\n`;
        resolve();
      }),
    );
    const running = { child, exited };
    try {
      await waitUntilReady(url, child, {
        token: env.ADMIN_TOKEN,
        // `next dev` compiles the route and migrates on the first request: minutes on a busy machine.
        timeoutMs: options.dev ? 300_000 : 60_000,
      });
    } catch (error) {
      await killGroup(running);
      throw new Error(`${(error as Error).message}\n--- server output ---\n${output.slice(-4000)}`);
    }
    return running;
  };

  let running: Running;
  try {
    running = await launch();
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    url,
    database: database.describe,
    logs: () => output,
    restart: async ({ downtimeMs = 0 } = {}) => {
      await killGroup(running);
      await new Promise((r) => setTimeout(r, downtimeMs));
      running = await launch();
    },
    stop: async () => {
      await killGroup(running);
      await database.drop();
    },
  };
}

async function waitUntilReady(
  url: string,
  child: ChildProcess,
  { token, timeoutMs }: { token?: string; timeoutMs: number },
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next exited with ${child.exitCode}`);
    try {
      // A page that touches the database: the first one creates and migrates it.
      const response = await fetch(`${url}/api/v1/projects?limit=1`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`next did not answer within ${timeoutMs / 1000} s`);
}

async function killGroup({ child, exited }: Running) {
  if (child.pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  // A graceful stop first (PGlite flushes its files); a browser's reconnects can keep it
  // waiting for a kept-alive socket to time out, hence the generous grace period.
  signal("SIGTERM");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000));
  if ((await Promise.race([exited, timeout])) === "timeout") signal("SIGKILL");
  // next-server may outlive the launcher: make sure the whole group is gone.
  signal("SIGKILL");
}

/** Fails with the tail of the server's output attached: what one needs to see when a step fails. */
export async function withServerLogs<T>(app: AppServer, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n--- server output (tail) ---\n${app.logs().slice(-3000)}`,
    );
  }
}

/** GET /api/v1/projects/{id}, as the test's own shape of it. */
export async function fetchProject<T>(app: AppServer, id: string): Promise<T> {
  return (await (await fetch(`${app.url}/api/v1/projects/${id}`)).json()) as T;
}
