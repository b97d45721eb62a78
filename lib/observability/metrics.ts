import "server-only";
import { count, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { errorLog, jobs, projects, webhookDeliveries, webhookEvents } from "@/lib/db/schema";
import { log } from "./log";

/**
 * Prometheus metrics for GET /api/metrics. Counters live in this process (on globalThis,
 * so dev reloads keep them); gauges of work in flight are read from the database at
 * scrape time, so every instance reports the same shared state.
 */

type OutboundResult = "ok" | "retryable" | "final";

/** Seconds; callbacks are one small transaction, outbound calls can take up to the timeout. */
const CALLBACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const OUTBOUND_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

type Labels = Record<string, string>;
type Histogram = {
  labels: Labels;
  buckets: number[];
  counts: number[];
  sum: number;
  count: number;
};

type Registry = {
  startedAt: number;
  callbacks: Map<string, { labels: Labels; value: number }>;
  callbackSeconds: Map<string, Histogram>;
  rateLimited: Map<string, { labels: Labels; value: number }>;
  rateLimitFailedOpen: Map<string, { labels: Labels; value: number }>;
  outbound: Map<string, { labels: Labels; value: number }>;
  outboundSeconds: Map<string, Histogram>;
  deliveries: Map<string, { labels: Labels; value: number }>;
  deliverySeconds: Map<string, Histogram>;
};

const store = globalThis as unknown as { __framechainMetrics?: Registry };
function registry(): Registry {
  store.__framechainMetrics ??= {
    startedAt: Date.now(),
    callbacks: new Map(),
    callbackSeconds: new Map(),
    rateLimited: new Map(),
    rateLimitFailedOpen: new Map(),
    outbound: new Map(),
    outboundSeconds: new Map(),
    deliveries: new Map(),
    deliverySeconds: new Map(),
  };
  return store.__framechainMetrics;
}

function keyOf(labels: Labels): string {
  return JSON.stringify(labels);
}

function increment(series: Map<string, { labels: Labels; value: number }>, labels: Labels) {
  const key = keyOf(labels);
  const entry = series.get(key);
  if (entry) entry.value += 1;
  else series.set(key, { labels, value: 1 });
}

function observe(
  series: Map<string, Histogram>,
  labels: Labels,
  buckets: number[],
  seconds: number,
) {
  const key = keyOf(labels);
  let h = series.get(key);
  if (!h) {
    h = { labels, buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
    series.set(key, h);
  }
  const value = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]!) h.counts[i]! += 1;
  h.sum += value;
  h.count += 1;
}

export const metrics = {
  /** One inbound callback answered: its stage, outcome (applied, duplicate, rejected…), status and time. */
  callback(stage: string, outcome: string, httpStatus: number, seconds: number): void {
    const r = registry();
    increment(r.callbacks, { stage, outcome, status: String(httpStatus) });
    observe(r.callbackSeconds, { stage, outcome }, CALLBACK_BUCKETS, seconds);
  },
  /** A callback refused with 429. */
  rateLimitFailedOpen(stage: string, backend: string): void {
    increment(registry().rateLimitFailedOpen, { stage, backend });
  },
  rateLimited(stage: string): void {
    increment(registry().rateLimited, { stage });
  },
  /** One outbound HTTP attempt to a service and how it ended. */
  outbound(service: string, result: OutboundResult, seconds: number): void {
    const r = registry();
    increment(r.outbound, { service, result });
    observe(r.outboundSeconds, { service }, OUTBOUND_BUCKETS, seconds);
  },
  /** One attempt to deliver an event to a user's endpoint: succeeded, retry (scheduled) or failed (final). */
  delivery(endpoint: string, outcome: "succeeded" | "retry" | "failed", seconds: number): void {
    const r = registry();
    increment(r.deliveries, { endpoint, outcome });
    observe(r.deliverySeconds, { endpoint }, OUTBOUND_BUCKETS, seconds);
  },
};

type Counter = { labels: Labels; value: number };
/** The series a dispatch thread records (outbound calls, deliveries), as plain data to post. */
export type ThreadSeries = {
  outbound: Counter[];
  outboundSeconds: Histogram[];
  deliveries: Counter[];
  deliverySeconds: Histogram[];
};

/** This thread's dispatch series, for the web thread's /api/metrics (lib/jobs/worker-thread.ts). */
export function threadSeries(): ThreadSeries {
  const r = registry();
  return {
    outbound: [...r.outbound.values()],
    outboundSeconds: [...r.outboundSeconds.values()],
    deliveries: [...r.deliveries.values()],
    deliverySeconds: [...r.deliverySeconds.values()],
  };
}

const threads = globalThis as unknown as { __framechainThreadSeries?: ThreadSeries | null };
/** The latest series of this process's dispatch thread, shown with this thread's own. */
export function setThreadSeries(series: ThreadSeries | null) {
  threads.__framechainThreadSeries = series;
}

/** Local and dispatch-thread entries of one series, summed by labels. */
function mergedCounters(local: Map<string, Counter>, remote: Counter[] = []): Counter[] {
  const out = new Map<string, Counter>();
  for (const c of [...local.values(), ...remote]) {
    const key = keyOf(c.labels);
    const seen = out.get(key);
    out.set(key, { labels: c.labels, value: (seen?.value ?? 0) + c.value });
  }
  return [...out.values()];
}
function mergedHistograms(local: Map<string, Histogram>, remote: Histogram[] = []) {
  const out = new Map<string, Histogram>();
  for (const h of [...local.values(), ...remote]) {
    const key = keyOf(h.labels);
    const seen = out.get(key);
    out.set(
      key,
      seen
        ? {
            ...seen,
            counts: seen.counts.map((n, i) => n + (h.counts[i] ?? 0)),
            sum: seen.sum + h.sum,
            count: seen.count + h.count,
          }
        : { ...h, counts: [...h.counts] },
    );
  }
  return out;
}

/** The Prometheus text exposition format (version 0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export async function renderMetrics(): Promise<string> {
  const r = registry();
  const thread = threads.__framechainThreadSeries ?? null;
  const out: string[] = [];

  family(
    out,
    "framechain_callbacks_total",
    "counter",
    "Inbound callbacks answered, by stage, outcome and HTTP status.",
  );
  for (const { labels, value } of r.callbacks.values())
    sample(out, "framechain_callbacks_total", labels, value);
  histogram(
    out,
    "framechain_callback_duration_seconds",
    "Time to answer an inbound callback.",
    r.callbackSeconds,
  );

  family(
    out,
    "framechain_rate_limited_total",
    "counter",
    "Inbound callbacks refused by the rate limiter (429).",
  );
  for (const { labels, value } of r.rateLimited.values())
    sample(out, "framechain_rate_limited_total", labels, value);
  family(
    out,
    "framechain_rate_limit_failed_open_total",
    "counter",
    "Callbacks let through because the rate-limit backend failed or was slow.",
  );
  for (const { labels, value } of r.rateLimitFailedOpen.values())
    sample(out, "framechain_rate_limit_failed_open_total", labels, value);

  family(
    out,
    "framechain_outbound_requests_total",
    "counter",
    "Outbound HTTP attempts to services, by service and result.",
  );
  for (const { labels, value } of mergedCounters(r.outbound, thread?.outbound))
    sample(out, "framechain_outbound_requests_total", labels, value);
  histogram(
    out,
    "framechain_outbound_duration_seconds",
    "Duration of outbound HTTP attempts.",
    mergedHistograms(r.outboundSeconds, thread?.outboundSeconds),
  );

  family(
    out,
    "framechain_subscription_deliveries_total",
    "counter",
    "Attempts to deliver events to subscribed endpoints, by endpoint and outcome (succeeded, retry, failed).",
  );
  for (const { labels, value } of mergedCounters(r.deliveries, thread?.deliveries))
    sample(out, "framechain_subscription_deliveries_total", labels, value);
  histogram(
    out,
    "framechain_subscription_delivery_duration_seconds",
    "Duration of delivery attempts to subscribed endpoints.",
    mergedHistograms(r.deliverySeconds, thread?.deliverySeconds),
  );

  family(
    out,
    "framechain_process_uptime_seconds",
    "gauge",
    "Seconds since this process started counting.",
  );
  sample(out, "framechain_process_uptime_seconds", {}, (Date.now() - r.startedAt) / 1000);

  const gauges = await readDatabaseGauges().catch((error: unknown) => {
    log("warn", "metrics.database_unavailable", { message: (error as Error).message });
    return null;
  });
  family(out, "framechain_database_up", "gauge", "1 when the database answered this scrape.");
  sample(out, "framechain_database_up", {}, gauges ? 1 : 0);
  if (gauges) {
    family(out, "framechain_projects", "gauge", "Projects by status.");
    for (const row of gauges.projects)
      sample(out, "framechain_projects", { status: row.status }, row.n);
    family(
      out,
      "framechain_jobs",
      "gauge",
      "Outbox jobs by kind and status (dead = undeliverable after every retry).",
    );
    for (const row of gauges.jobs)
      sample(out, "framechain_jobs", { kind: row.kind, status: row.status }, row.n);
    family(
      out,
      "framechain_webhook_events_parked",
      "gauge",
      "Callbacks kept until their task is known.",
    );
    sample(out, "framechain_webhook_events_parked", {}, gauges.parked);
    family(
      out,
      "framechain_subscription_deliveries",
      "gauge",
      "Deliveries not finished yet, by endpoint and status (queued: due or waiting for a retry; running: in flight).",
    );
    for (const row of gauges.deliveries)
      sample(
        out,
        "framechain_subscription_deliveries",
        { endpoint: row.endpoint, status: row.status },
        row.n,
      );
    family(
      out,
      "framechain_subscription_retry_queue",
      "gauge",
      "Deliveries waiting for a retry after a failed attempt.",
    );
    sample(out, "framechain_subscription_retry_queue", {}, gauges.retryQueue);
    family(out, "framechain_errors_open", "gauge", "Error log entries not dismissed, by severity.");
    for (const row of gauges.openErrors)
      sample(out, "framechain_errors_open", { severity: row.severity }, row.n);
  }
  return `${out.join("\n")}\n`;
}

async function readDatabaseGauges() {
  const db = await getDb();
  const [projectRows, jobRows, parkedRows, errorRows, deliveryRows] = await Promise.all([
    db.select({ status: projects.status, n: count() }).from(projects).groupBy(projects.status),
    db
      .select({ kind: jobs.kind, status: jobs.status, n: count() })
      .from(jobs)
      .groupBy(jobs.kind, jobs.status),
    db.select({ n: count() }).from(webhookEvents).where(sql`${webhookEvents.outcome} = 'parked'`),
    db
      .select({ severity: errorLog.severity, n: count() })
      .from(errorLog)
      .where(sql`${errorLog.dismissedAt} is null`)
      .groupBy(errorLog.severity),
    db
      .select({
        endpoint: webhookDeliveries.endpointId,
        status: webhookDeliveries.status,
        n: count(),
        retrying: sql<number>`count(*) filter (where ${webhookDeliveries.attempt} > 0)`.mapWith(
          Number,
        ),
      })
      .from(webhookDeliveries)
      .where(sql`${webhookDeliveries.status} in ('queued', 'running')`)
      .groupBy(webhookDeliveries.endpointId, webhookDeliveries.status),
  ]);
  return {
    projects: projectRows,
    jobs: jobRows,
    parked: parkedRows[0]?.n ?? 0,
    openErrors: errorRows,
    deliveries: deliveryRows,
    retryQueue: deliveryRows.reduce(
      (sum, row) => sum + (row.status === "queued" ? row.retrying : 0),
      0,
    ),
  };
}

function family(
  out: string[],
  name: string,
  type: "counter" | "gauge" | "histogram",
  help: string,
) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function sample(out: string[], name: string, labels: Labels, value: number) {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  out.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
}

function histogram(out: string[], name: string, help: string, series: Map<string, Histogram>) {
  family(out, name, "histogram", help);
  for (const h of series.values()) {
    h.buckets.forEach((le, i) => {
      sample(out, `${name}_bucket`, { ...h.labels, le: String(le) }, h.counts[i]!);
    });
    sample(out, `${name}_bucket`, { ...h.labels, le: "+Inf" }, h.count);
    sample(out, `${name}_sum`, h.labels, h.sum);
    sample(out, `${name}_count`, h.labels, h.count);
  }
}

/** Label values escape backslash, double quote and newline (exposition format rules). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
