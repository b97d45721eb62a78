import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

/**
 * A built Framechain server (`next start`) in a directory, in its own process group so the
 * whole tree (launcher and next-server) can be stopped — or killed, for crash tests — at once.
 */

export type BuildMode = "auto" | "always" | "never";

/** Reuses `<appDir>/.next` when it holds a build (unless `always`), else runs `next build` there. */
export function ensureBuild(appDir: string, mode: BuildMode, log: (line: string) => void) {
  const built = existsSync(path.join(appDir, ".next", "BUILD_ID"));
  if (built && mode !== "always") {
    log(`reusing the build in ${path.join(appDir, ".next")}`);
    return;
  }
  if (mode === "never") throw new Error(`--no-build given but ${appDir} has no .next build`);
  log(`building in ${appDir} (next build)…`);
  const result = spawnSync(process.execPath, [nextBin(appDir), "build"], {
    cwd: appDir,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
  });
  if (result.status !== 0)
    throw new Error(`next build failed in ${appDir} (exit ${result.status})`);
}

function nextBin(appDir: string) {
  return path.join(appDir, "node_modules", "next", "dist", "bin", "next");
}

/**
 * A loopback port nobody listens on, chosen by the OS (not the first free one of a range: two
 * scripts started at once, e.g. the e2e bench and soak, would both pick it), and none of `taken`
 * (ports chosen for servers that have not started yet).
 */
export async function freePort(taken: number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = createServer();
      probe.once("error", reject);
      probe.listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    if (port > 0 && !taken.includes(port)) return port;
  }
}

export type AppServer = {
  url: string;
  pid: number;
  /** SIGTERM to the process group, SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL to the process group: a crash, nothing gets to clean up. */
  kill(): Promise<void>;
};

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Never leave a server behind when the script ends or is interrupted. */
function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const child of running) signalGroup(child, "SIGKILL");
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts `next start` on 127.0.0.1:`port` with exactly `env` (plus PATH/HOME), appending
 * its output to `logFile`, and resolves once GET /api/ping answers.
 */
export async function startServer(options: {
  appDir: string;
  port: number;
  env: Record<string, string>;
  logFile: string;
  /** Extra node flags (e.g. --cpu-prof, which NODE_OPTIONS refuses); next-server inherits them. */
  nodeArgs?: string[];
}): Promise<AppServer> {
  const group = spawnGroup({
    appDir: options.appDir,
    command: [
      process.execPath,
      ...(options.nodeArgs ?? []),
      nextBin(options.appDir),
      "start",
      "-p",
      String(options.port),
      "-H",
      "127.0.0.1",
    ],
    env: options.env,
    logFile: options.logFile,
  });
  const { child } = group;
  const url = `http://127.0.0.1:${options.port}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `the server exited during start (code ${child.exitCode}); see ${options.logFile}`,
      );
    try {
      const response = await fetch(`${url}/api/ping`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      signalGroup(child, "SIGKILL");
      throw new Error(`the server did not answer /api/ping within 60 s; see ${options.logFile}`);
    }
    await sleep(100);
  }

  return { url, pid: child.pid!, stop: group.stop, kill: group.kill };
}

/**
 * A dispatcher process without an HTTP port of its own (`npm run worker`), in its own process
 * group like the server: `command` is run in `appDir` with exactly `env` (plus PATH/HOME).
 * Resolves once it has stayed up for `settleMs` (it exits at once on a bad setting).
 */
export async function startProcess(options: {
  appDir: string;
  command: string[];
  env: Record<string, string>;
  logFile: string;
  settleMs?: number;
}): Promise<Omit<AppServer, "url">> {
  const group = spawnGroup(options);
  const { child } = group;
  await sleep(options.settleMs ?? 1500);
  if (child.exitCode !== null)
    throw new Error(
      `${options.command.join(" ")} exited during start (code ${child.exitCode}); see ${options.logFile}`,
    );
  return { pid: child.pid!, stop: group.stop, kill: group.kill };
}

/**
 * Spawns `command` in `appDir` in its own process group with exactly `env` (plus PATH/HOME),
 * appending its output to `logFile`; stop() and kill() signal the whole group, so nothing
 * it started (next start's next-server) lingers.
 */
function spawnGroup(options: {
  appDir: string;
  command: string[];
  env: Record<string, string>;
  logFile: string;
}) {
  installCleanup();
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, "a");
  const [bin, ...rest] = options.command;
  const child = spawn(bin!, rest, {
    cwd: options.appDir,
    detached: true,
    stdio: ["ignore", out, out],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NEXT_TELEMETRY_DISABLED: "1",
      ...options.env,
    } as unknown as NodeJS.ProcessEnv,
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waitExit = (ms: number) =>
    Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
  return {
    child,
    async stop() {
      signalGroup(child, "SIGTERM");
      await waitExit(5000);
      // The launcher may be gone while a child lingers in the group: make sure of it.
      signalGroup(child, "SIGKILL");
      running.delete(child);
    },
    async kill() {
      signalGroup(child, "SIGKILL");
      await waitExit(5000);
      running.delete(child);
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
