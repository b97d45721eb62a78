import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { APP_DIR, freePort } from "./harness/app-server";

/**
 * The production demo exactly as the README runs it — `npm start` (so the prestart check
 * too) with ADMIN_TOKEN, the three webhook secrets and SIMULATOR_ENABLED=true — runs a
 * project to completion; without its secrets, or with a bad setting, it refuses to start
 * with only a message naming the problem. Its media survive a restart on another port.
 */

const TOKEN = "demo-admin-token-0123456789";
const SECRETS = {
  VIDEO_WEBHOOK_SECRET: "demo-video-secret",
  LAST_FRAME_WEBHOOK_SECRET: "demo-last-frame-secret",
  STITCH_WEBHOOK_SECRET: "demo-stitch-secret",
};

const dataRoot = mkdtempSync(path.join(tmpdir(), "framechain-demo-"));
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

/** A clean environment: what a user's shell would have, plus the demo's settings. */
/** Environment variables for a child process (NODE_ENV left unset: `npm start` sets it). */
type ChildEnv = Record<string, string | undefined>;

function demoEnv(port: number, extra: Record<string, string>): ChildEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    PGLITE_DATA_DIR: path.join(dataRoot, "pglite"),
    SIMULATOR_DELAY_MS: "150",
    ...extra,
  };
}

type Running = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

function npmStart(env: ChildEnv): Running {
  // Its own process group: npm, the prestart check, next and next-server stop together.
  const child = spawn("npm", ["start"], {
    cwd: APP_DIR,
    env: env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => output, exited };
}

async function stop(running: Running) {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-running.child.pid!, sig);
    } catch {
      // gone
    }
  };
  signal("SIGTERM");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000));
  if ((await Promise.race([running.exited, timeout])) === "timeout") signal("SIGKILL");
  signal("SIGKILL");
}

async function untilHealthy(url: string, running: Running) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null)
      throw new Error(`npm start exited ${running.child.exitCode}:\n${running.output()}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm start did not answer within 120 s:\n${running.output()}`);
}

const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

type Project = {
  id: string;
  status: string;
  final_video_url: string | null;
  thumbnail_url: string | null;
};

async function getProject(url: string, id: string): Promise<Project> {
  return (await (await fetch(`${url}/api/v1/projects/${id}`, { headers: auth })).json()) as Project;
}

async function bytes(url: string): Promise<Buffer> {
  const response = await fetch(url, { headers: auth });
  expect(response.status, url).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

describe("the production demo, started as the README says", () => {
  it("refuses to start without the webhook secrets, naming each, before Next says Ready", async () => {
    const running = npmStart(
      demoEnv(await freePort(), { ADMIN_TOKEN: TOKEN, SIMULATOR_ENABLED: "true" }),
    );
    expect(await running.exited).toBe(1);
    const output = running.output();
    for (const name of Object.keys(SECRETS)) expect(output).toContain(name);
    expect(output).toContain("Framechain cannot start.");
    expect(output).not.toContain("Ready");
  });

  it("refuses a malformed setting with only the message: no Ready, no config-loading stack", async () => {
    for (const [bad, message] of [
      [{ ADMIN_TOKEN: "short" }, "ADMIN_TOKEN: must be at least 16 characters"],
      [{ SIMULATOR_ENABLED: "maybe" }, "SIMULATOR_ENABLED: must be true or false"],
    ] as const) {
      const running = npmStart(
        demoEnv(await freePort(), {
          ADMIN_TOKEN: TOKEN,
          SIMULATOR_ENABLED: "true",
          ...SECRETS,
          ...bad,
        }),
      );
      expect(await running.exited).toBe(1);
      const output = running.output();
      expect(output).toContain(message);
      expect(output).not.toContain("Ready");
      expect(output).not.toContain("Failed to load next.config");
      expect(output).not.toMatch(/^\s+at /m); // no stack trace
    }
  });

  it("runs a project to completion, and its media survive a restart on another port", async () => {
    const settings = { ADMIN_TOKEN: TOKEN, SIMULATOR_ENABLED: "true", ...SECRETS };
    let port = await freePort();
    let url = `http://localhost:${port}`;
    let running = npmStart(demoEnv(port, settings));
    let stopped = false;
    try {
      await untilHealthy(url, running);
      const health = (await (await fetch(`${url}/api/health`)).json()) as {
        config: Record<string, unknown>;
      };
      expect(health.config).toMatchObject({
        environment: "production",
        database: "pglite",
        rate_limit: "memory",
        services: { video: "simulator", last_frame: "simulator", stitch: "simulator" },
        secrets_missing: [],
        admin_auth: "on",
        unsigned_callbacks_accepted: [],
        callbacks_refused: [],
      });

      const created = await fetch(`${url}/api/v1/projects`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          name: "Demo: lighthouse",
          scenes: [{ prompt: "A lighthouse at dawn" }, { prompt: "Gulls over the tower" }],
          autostart: true,
        }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as Project;
      let project = await getProject(url, id);
      while (!["completed", "failed", "cancelled"].includes(project.status)) {
        await new Promise((r) => setTimeout(r, 200));
        project = await getProject(url, id);
      }
      expect(project.status, running.output().slice(-3000)).toBe("completed");
      const video = await bytes(project.final_video_url!);
      const poster = (await bytes(project.thumbnail_url!)).toString("utf8");
      // The stitch service's poster, or scene 1's thumbnail when its callback has none: both name scene 1.
      expect(poster).toContain("A lighthouse at dawn");

      // The same data directory, another port: the stored URLs named the old one.
      await stop(running);
      stopped = true;
      port = await freePort();
      url = `http://localhost:${port}`;
      running = npmStart(demoEnv(port, settings));
      stopped = false;
      await untilHealthy(url, running);
      const after = await getProject(url, id);
      expect(new URL(after.final_video_url!).port).toBe(String(port));
      expect((await bytes(after.final_video_url!)).equals(video)).toBe(true);
      expect((await bytes(after.thumbnail_url!)).toString("utf8")).toBe(poster);
    } finally {
      if (!stopped) await stop(running);
    }
  }, 300_000);
});
