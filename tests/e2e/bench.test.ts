import { describe, expect, it } from "vitest";
import { postgresUrl, runScript } from "./harness/scripts";

/**
 * A short run of `npm run bench` (issues 7 and 10), so a regression in the callback path shows
 * in CI. Correctness only: the exit code and the shape of every figure — never a value of speed.
 */

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
      // run, label, req/s, p50, p99, errors, non-2xx, not applied, requests, app cpu, db cpu,
      // bench cpu, stmts app, stmts db
      expect(cells, line).toHaveLength(14);
      expect(cells[11], line).toMatch(new RegExp(`^${NUM}$`));
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
