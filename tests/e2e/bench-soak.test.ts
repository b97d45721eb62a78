import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { APP_DIR } from "./harness/app-server";

/**
 * Short runs of `npm run bench` and `npm run soak` (issue 7), so a regression in the callback
 * path or in crash recovery shows in CI. Correctness only: exit codes and the final lines —
 * never a figure of speed. The e2e project's globalSetup (harness/global-build.ts) first
 * (re)builds APP_DIR (E2E_APP_DIR) when its sources are newer than the build, so the scripts,
 * which reuse any build, never run a stale one. The soak needs PostgreSQL
 * (TEST_DATABASE_URL): skipped without it outside CI, failing in CI.
 */

const ROOT = path.resolve(__dirname, "..", "..");
const postgresUrl = process.env.TEST_DATABASE_URL;

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

/** A number as the scripts print it ("12", "3.45"), or "n/a" when the source is unavailable. */
const NUM = String.raw`\d+(?:\.\d+)?`;

describe("npm run bench (short)", () => {
  it("measures bare, callback and slow-downstream runs (max and paced), statements per stage and a whole project, every callback applied, and ends with the summary line", async () => {
    // Count-bounded everywhere it is measured (requests, not seconds), so a busy machine makes
    // the run slower, never emptier: every figure rests on the same number of samples.
    const { code, output, lastLine } = await runScript("bench", [], {
      BENCH_REQUESTS: "300",
      BENCH_WARMUP: "1",
      BENCH_ROUNDS: "1",
      BENCH_RATE: "50",
      BENCH_PACED_REQUESTS: "100",
      BENCH_SCENES: "4",
      BENCH_ORCHESTRATION_RUNS: "1",
      // Slow enough to hold the connections (the run is about the dispatch, not the wait).
      BENCH_SLOW_MS: "100",
      BENCH_SEED: "1500",
      ...(postgresUrl
        ? {
            DATABASE_URL: postgresUrl,
            BENCH_FLAT: "true",
            BENCH_FLAT_PROJECTS: "10,300",
            BENCH_FLAT_REQUESTS: "60",
            BENCH_FLAT_ROUNDS: "1",
            BENCH_LONG: "4",
          }
        : {}),
    });
    expect(code, output).toBe(0);
    expect(output).not.toContain("INVALID RUN");
    // Every measured run is a table row whose figures parse (p50, p99, requests, CPU per request).
    for (const row of [
      /^bare +round 1 /m,
      /^callback +round 1 /m,
      /^callback, slow downstream +round 1 /m,
      /^callback +paced 50\/s /m,
      /^callback, slow downstream +paced 50\/s /m,
    ]) {
      const line = output.split("\n").find((l) => row.test(l));
      expect(line, output).toBeDefined();
      const cells = line!.trim().split(/ {2,}/);
      // run, label, req/s, p50, p99, errors, non-2xx, not applied, requests, app cpu, db cpu, stmts app, stmts db
      expect(cells, line).toHaveLength(13);
      for (const cell of cells.slice(2, 10)) expect(cell, line).toMatch(new RegExp(`^${NUM}$`));
    }
    expect(output).toMatch(/^ {2}max runs: autocannon, .* paced runs: 100 requests each/m);
    expect(output).toMatch(/orchestration: 4-scene project, .* 9 stages/);
    // The app's own statement counter is always there; the database's count may be "n/a (reason)".
    const statements = output.match(
      /^statements per stage \(callback \+ its dispatch, .*\): app counter (\S+), database (.+)$/m,
    );
    expect(statements, output).not.toBeNull();
    expect(statements![1]).toMatch(new RegExp(`^${NUM}$`));
    expect(statements![2]).toMatch(new RegExp(`^(${NUM} \\(.+\\)|n/a \\(.+\\))$`));
    expect(output).toMatch(
      new RegExp(
        `^app CPU per request \\(max runs, medians\\): bare ${NUM} ms, callback ${NUM} ms`,
        "m",
      ),
    );
    if (postgresUrl) {
      expect(output).toMatch(new RegExp(`^database CPU per callback: ${NUM} ms`, "m"));
      expect(output).toMatch(
        new RegExp(`^flatness: CPU per callback \\(app \\+ database\\) ${NUM} → ${NUM} ms`, "m"),
      );
      expect(output).toMatch(
        new RegExp(
          `^long run: database CPU per callback first window ${NUM} ms, last ${NUM} ms`,
          "m",
        ),
      );
    }
    // The ratio is a speed figure: its value is never checked, and "n/a" (a max run too short
    // for autocannon's per-second samples on a fast or a starved machine) is a valid shape.
    expect(lastLine).toMatch(
      /^callback\/bare throughput ratio: (\d+\.\d\d|n\/a) {2}p99 callback: \d+ ms {2}p99 with slow downstream: \d+ ms {2}statements per stage: \d+\.\d$/,
    );
  }, 300_000);
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
      // The dead endpoint is disabled after this long of failures: short, so the run is too.
      SOAK_DISABLE_AFTER_HOURS: "0.002",
    });
    expect(output).toMatch(/SIGKILL to the server's process group/);
    expect(output).toMatch(/projects completed\s+10\/10/);
    // What issues 14 and 15 added ran and was audited (the audit's findings fail the exit code).
    expect(output).toMatch(/chain \/ independent\s+\d+ \/ [1-9]\d*/);
    expect(output).toMatch(/re-shoots \(following \/ scene\) \/ takes selected\s+[1-9]/);
    expect(output).toMatch(/healthy subscriber: events verified\s+([1-9]\d*)\/\1\b/);
    expect(output).toMatch(/flaky subscriber: events verified\s+([1-9]\d*)\/\1\b/);
    expect(output).toMatch(/dead subscriber: disabled \(error log\)\s+yes/);
    expect(lastLine).toBe("lost: 0 doubled: 0");
    expect(code, output).toBe(0);
  }, 180_000);

  it("scales out: two web processes (DISPATCH_IN_WEB=false) and a worker on one database, web 1 and the worker SIGKILLed midway, nothing lost or doubled", async () => {
    if (!postgresUrl) throw new Error("the soak needs PostgreSQL: set TEST_DATABASE_URL");
    const { code, output, lastLine } = await runScript("soak", ["--instances", "2", "--worker"], {
      DATABASE_URL: postgresUrl,
      SOAK_PROJECTS: "8",
      SOAK_SCENES: "3",
      SOAK_TIME_LIMIT: "120",
      SOAK_DISABLE_AFTER_HOURS: "0.002",
    });
    expect(output).toMatch(
      /^2 web instances \(.*DISPATCH_IN_WEB=false\) behind http:\/\/127\.0\.0\.1:\d+ \+ /m,
    );
    expect(output).toMatch(/SIGKILL to web instance 1 and the worker/);
    expect(output).toMatch(/projects completed\s+8\/8/);
    // Both web instances answered callbacks (round robin: deterministic, not a timing).
    const spread = output.match(/requests answered per web instance .*: #1 (\d+), #2 (\d+)/);
    expect(spread, output).not.toBeNull();
    expect(Number(spread![1])).toBeGreaterThan(0);
    expect(Number(spread![2])).toBeGreaterThan(0);
    expect(lastLine).toBe("lost: 0 doubled: 0");
    expect(code, output).toBe(0);
  }, 240_000);
});
