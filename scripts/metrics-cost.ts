/**
 * `npx tsx --conditions=react-server scripts/metrics-cost.ts [calls]` – the CPU cost of the
 * metric calls one inbound callback makes (metrics.callback: a counter and a histogram),
 * measured in this process with the labels a busy run sees. A micro-benchmark to compare
 * implementations on one machine, not a test: its figures depend on the machine.
 */
import { loadavg } from "node:os";
import { metrics } from "@/lib/observability/metrics";

const calls = Number(process.argv[2] ?? 1_000_000);
const stages = ["video-complete", "last-frame-complete", "stitch-complete"];
const outcomes = ["applied", "duplicate", "parked", "rejected"];

function run(n: number) {
  for (let i = 0; i < n; i++) {
    const outcome = outcomes[i % outcomes.length]!;
    metrics.callback(
      stages[i % stages.length]!,
      outcome,
      outcome === "rejected" ? 401 : 200,
      (i % 500) / 1000,
    );
  }
}

run(Math.min(calls, 100_000)); // warm-up: every series exists, the JIT has compiled the path
const rounds: number[] = [];
for (let round = 0; round < 5; round++) {
  const started = process.hrtime.bigint();
  run(calls);
  rounds.push(Number(process.hrtime.bigint() - started) / calls);
}
rounds.sort((a, b) => a - b);
console.log(
  `metrics.callback: median ${rounds[2]!.toFixed(0)} ns per callback (min ${rounds[0]!.toFixed(0)}, max ${rounds[4]!.toFixed(0)}; ${calls} calls × 5 rounds; load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")})`,
);
process.exit(0);
