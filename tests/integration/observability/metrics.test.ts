import { Histogram, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { metrics, renderMetrics, setThreadSeries } from "@/lib/observability/metrics";

/** The samples of one family, each line whole. */
const samples = (text: string, name: string) =>
  text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe("lib/observability/metrics (prom-client)", () => {
  afterEach(() => setThreadSeries(null));

  it("serves the process metrics operators expect: event-loop lag, heap, GC, handles, CPU", async () => {
    const text = await renderMetrics();
    for (const family of [
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_gc_duration_seconds",
      "nodejs_active_handles_total",
      "process_cpu_user_seconds_total",
      "process_start_time_seconds",
    ]) {
      expect(text, family).toMatch(new RegExp(`^# TYPE ${family} `, "m"));
    }
    expect(samples(text, "nodejs_heap_size_used_bytes")).toHaveLength(1);
    expect(Number(samples(text, "nodejs_heap_size_used_bytes")[0]!.split(" ")[1])).toBeGreaterThan(
      0,
    );
  });

  it("sums the dispatch thread's histograms with this thread's, bucket by bucket", async () => {
    const service = `svc-${Date.now()}`; // series of its own, whatever else this file recorded
    metrics.outbound(service, "ok", 0.2);
    const thread = new Registry(); // what lib/jobs/worker-thread.ts posts: its registry as JSON
    new Histogram({
      name: "framechain_outbound_duration_seconds",
      help: "Duration of outbound HTTP attempts.",
      labelNames: ["service"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [thread],
    }).observe({ service }, 3);
    setThreadSeries(await thread.getMetricsAsJSON());

    const text = await renderMetrics();
    const bucket = (le: string) =>
      samples(text, "framechain_outbound_duration_seconds_bucket").find(
        (line) => line.includes(`le="${le}"`) && line.includes(`service="${service}"`),
      );
    expect(bucket("0.25")).toMatch(/ 1$/); // this thread's 0.2 s only
    expect(bucket("5")).toMatch(/ 2$/); // and the thread's 3 s
    expect(bucket("+Inf")).toMatch(/ 2$/);
    expect(
      samples(text, "framechain_outbound_duration_seconds_sum").find((l) => l.includes(service)),
    ).toMatch(/ 3\.2$/);
    // Counted once per family, however many threads reported it.
    expect(text.match(/^# TYPE framechain_outbound_duration_seconds /gm)).toHaveLength(1);
  });
});
