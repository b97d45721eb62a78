import { spawn } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { APP_DIR, buildApp } from "./harness/app-server";

/**
 * Short runs of `npm run bench` and `npm run soak` (issue 7), so a regression in the callback
 * path or in crash recovery shows in CI. Correctness only: exit codes and the final lines —
 * never a figure of speed. The harness first (re)builds APP_DIR (E2E_APP_DIR) when its sources
 * are newer than the build, so the scripts, which reuse any build, never run a stale one. The soak needs PostgreSQL (TEST_DATABASE_URL): skipped without
 * it outside CI, failing in CI.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const postgresUrl = process.env.TEST_DATABASE_URL;

beforeAll(() => buildApp(), 300_000);

function runScript(script: "bench" | "soak", args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string; lastLine: string }>(
    (resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"),
          path.join(ROOT, "scripts", `${script}.ts`),
          "--app-dir",
          APP_DIR,
          ...args,
        ],
        {
          cwd: ROOT,
          env: { ...cleanEnv(), ...env } as NodeJS.ProcessEnv,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      child.on("error", reject);
      child.on("exit", (code) => {
        const lines = output.trimEnd().split("\n");
        resolve({ code, output, lastLine: lines.at(-1) ?? "" });
      });
    },
  );
}

/** The runner's own settings must not reach the scripts (they set the app's environment themselves). */
function cleanEnv() {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      value !== undefined &&
      !key.startsWith("VITEST") &&
      key !== "NODE_ENV" &&
      key !== "DATABASE_URL"
    )
      env[key] = value;
  }
  return env;
}

describe("npm run bench (short)", () => {
  it("measures bare, callback and slow-downstream runs and a whole project, every callback applied, and ends with the summary line", async () => {
    const { code, output, lastLine } = await runScript("bench", [], {
      BENCH_DURATION: "1",
      BENCH_WARMUP: "1",
      BENCH_ROUNDS: "1",
      BENCH_SCENES: "4",
      BENCH_ORCHESTRATION_RUNS: "1",
      BENCH_SLOW_MS: "500",
      BENCH_SEED: "2500",
      ...(postgresUrl ? { DATABASE_URL: postgresUrl } : {}),
    });
    expect(code, output).toBe(0);
    expect(output).not.toContain("INVALID RUN");
    expect(output).toMatch(/orchestration: 4-scene project, .* 9 stages/);
    expect(lastLine).toMatch(
      /^callback\/bare throughput ratio: \d+\.\d\d {2}p99 callback: \d+ ms {2}p99 with slow downstream: \d+ ms$/,
    );
  }, 180_000);
});

const skipSoak = !postgresUrl && process.env.CI !== "true";
if (skipSoak) console.warn("\n⚠ soak skipped: it needs PostgreSQL (set TEST_DATABASE_URL)\n");

describe.skipIf(skipSoak)("npm run soak (short)", () => {
  it("completes every project through duplicates, shuffled and early callbacks, 503s and a SIGKILL, losing and doubling nothing", async () => {
    if (!postgresUrl) throw new Error("the soak needs PostgreSQL: set TEST_DATABASE_URL");
    const { code, output, lastLine } = await runScript("soak", [], {
      DATABASE_URL: postgresUrl,
      SOAK_PROJECTS: "10",
      SOAK_SCENES: "3",
      SOAK_TIME_LIMIT: "100",
    });
    expect(output).toMatch(/SIGKILL to the server's process group/);
    expect(output).toMatch(/projects completed\s+10\/10/);
    expect(lastLine).toBe("lost: 0 doubled: 0");
    expect(code, output).toBe(0);
  }, 180_000);
});
