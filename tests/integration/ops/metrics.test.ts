import { describe, expect, it } from "vitest";
import { GET } from "@/app/api/metrics/route";
import { getDb } from "@/lib/db/client";
import { errorLog, jobs, projects, webhookEvents } from "@/lib/db/schema";
import { metrics } from "@/lib/observability/metrics";

async function scrape(): Promise<string> {
  const response = await GET();
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample, or undefined when the series is absent (labels in any order, as in Prometheus). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => !l.startsWith("#") && seriesOf(l) === seriesOf(series));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** `name{b="2",a="1"} 7` → `name{a="1",b="2"}`: one spelling of a series whatever its label order. */
function seriesOf(sample: string): string {
  const match = /^(\w+)(?:\{(.*)\})?/.exec(sample);
  const labels = match?.[2]?.match(/\w+="(?:[^"\\]|\\.)*"/g) ?? [];
  return `${match?.[1]}{${labels.sort().join(",")}}`;
}

describe("GET /api/metrics", () => {
  it("counts the SQL statements this process sent, not those of the scrape itself", async () => {
    const { statementCount } = await import("@/lib/db/client");
    const first = value(await scrape(), "framechain_db_statements_total");
    const second = value(await scrape(), "framechain_db_statements_total");
    // The first scrape's own gauge queries are counted by the second, and nothing else ran.
    expect(second!).toBeGreaterThan(first!);
    const before = statementCount();
    const third = value(await scrape(), "framechain_db_statements_total");
    expect(third).toBe(before);
  });

  it("counts callbacks by stage, outcome and status, with a latency histogram", async () => {
    const series =
      'framechain_callbacks_total{stage="video-complete",outcome="applied",status="200"}';
    const sumSeries =
      'framechain_callback_duration_seconds_sum{stage="video-complete",outcome="applied"}';
    const first = await scrape();
    const before = value(first, series) ?? 0;
    const sumBefore = value(first, sumSeries) ?? 0;
    metrics.callback("video-complete", "applied", 200, 0.02);
    metrics.callback("video-complete", "applied", 200, 0.3);
    metrics.callback("video-complete", "rejected", 401, 0.001);
    const text = await scrape();
    expect(value(text, series)).toBe(before + 2);
    expect(
      value(
        text,
        'framechain_callbacks_total{stage="video-complete",outcome="rejected",status="401"}',
      ),
    ).toBeGreaterThanOrEqual(1);

    const h =
      'framechain_callback_duration_seconds_bucket{stage="video-complete",outcome="applied",le=';
    // Cumulative buckets: 0.02 s falls in le=0.025 and above, 0.3 s only from le=0.5.
    expect(value(text, `${h}"0.025"}`)).toBe(before + 1);
    expect(value(text, `${h}"0.5"}`)).toBe(before + 2);
    expect(value(text, `${h}"+Inf"}`)).toBe(before + 2);
    expect(
      value(
        text,
        'framechain_callback_duration_seconds_count{stage="video-complete",outcome="applied"}',
      ),
    ).toBe(before + 2);
    expect(value(text, sumSeries)).toBeCloseTo(sumBefore + 0.32, 5);
    expect(text).toContain("# TYPE framechain_callback_duration_seconds histogram");
  });

  it("counts rate-limit refusals and outbound calls by service and result", async () => {
    metrics.rateLimited("stitch-complete");
    metrics.outbound("video", "ok", 0.2);
    metrics.outbound("video", "retryable", 10);
    metrics.outbound("stitch", "final", 0.05);
    const text = await scrape();
    expect(value(text, 'framechain_rate_limited_total{stage="stitch-complete"}')).toBe(1);
    expect(value(text, 'framechain_outbound_requests_total{service="video",result="ok"}')).toBe(1);
    expect(
      value(text, 'framechain_outbound_requests_total{service="video",result="retryable"}'),
    ).toBe(1);
    expect(value(text, 'framechain_outbound_requests_total{service="stitch",result="final"}')).toBe(
      1,
    );
    expect(value(text, 'framechain_outbound_duration_seconds_count{service="video"}')).toBe(2);
    expect(value(text, 'framechain_outbound_duration_seconds_bucket{service="video",le="5"}')).toBe(
      1,
    );
  });

  it("reflects projects, jobs, parked callbacks and open errors from the database", async () => {
    const db = await getDb();
    await db.insert(projects).values([
      { id: "prj_m1", name: "one", status: "generating" },
      { id: "prj_m2", name: "two", status: "generating" },
      { id: "prj_m3", name: "three", status: "failed" },
    ]);
    await db.insert(jobs).values([
      {
        id: "job_m1",
        kind: "notify",
        key: "notify:prj_m3:1:1",
        projectId: "prj_m3",
        status: "dead",
      },
      {
        id: "job_m2",
        kind: "generate_video",
        key: "gv:prj_m1:1:1",
        projectId: "prj_m1",
        status: "queued",
      },
    ]);
    await db.insert(webhookEvents).values({
      source: "video-complete",
      outcome: "parked",
      httpStatus: 202,
      taskId: "t9",
      dedupKey: "t9:completed",
    });
    await db
      .insert(errorLog)
      .values({ type: "service", severity: "critical", message: "dead job" });

    const text = await scrape();
    expect(value(text, "framechain_database_up")).toBe(1);
    expect(value(text, 'framechain_projects{status="generating"}')).toBe(2);
    expect(value(text, 'framechain_projects{status="failed"}')).toBe(1);
    expect(value(text, 'framechain_jobs{kind="notify",status="dead"}')).toBe(1);
    expect(value(text, 'framechain_jobs{kind="generate_video",status="queued"}')).toBe(1);
    expect(value(text, "framechain_webhook_events_parked")).toBe(1);
    expect(value(text, 'framechain_errors_open{severity="critical"}')).toBe(1);

    await db.insert(projects).values({ id: "prj_m4", name: "four", status: "failed" });
    expect(value(await scrape(), 'framechain_projects{status="failed"}')).toBe(2);
  });

  it("escapes label values and writes a well-formed exposition", async () => {
    metrics.rateLimited('odd"stage\\with\nnewline');
    const text = await scrape();
    expect(text).toContain(
      'framechain_rate_limited_total{stage="odd\\"stage\\\\with\\nnewline"} 1',
    );
    expect(text.endsWith("\n")).toBe(true);
    // Blank lines between families are part of the format, and Prometheus reads NaN in any
    // case (prom-client writes them, and "Nan" for an event-loop lag with no sample yet).
    for (const line of text.trimEnd().split("\n").filter(Boolean)) {
      expect(line, line).toMatch(
        /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? (-?\d+(\.\d+)?(e[-+]?\d+)?|NaN|Nan|[+-]Inf))$/,
      );
    }
  });
});
