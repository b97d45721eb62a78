import "server-only";
import { isMainThread } from "node:worker_threads";
import { count, sql } from "drizzle-orm";
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Registry,
} from "prom-client";
import { getDb } from "@/lib/db/client";
import { errorLog, jobs, projects, webhookDeliveries, webhookEvents } from "@/lib/db/schema";
import { log } from "./log";

/**
 * Prometheus metrics for GET /api/metrics, kept by prom-client. Counters live in this
 * process (on globalThis, so dev reloads keep them), with prom-client's process metrics
 * (event-loop lag, heap, GC, handles); gauges of work in flight are read from the database
 * at scrape time, so every instance reports the same shared state. The names, labels and
 * types are those dashboards already use.
 */

type OutboundResult = "ok" | "retryable" | "final";

/** Seconds; callbacks are one small transaction, outbound calls can take up to the timeout. */
const CALLBACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const OUTBOUND_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function createMetrics() {
  // Two registries: the dispatch series (outbound calls, deliveries) are also counted by
  // the dispatch thread, whose series are summed with these at scrape time.
  const own = new Registry();
  const dispatch = new Registry();
  const startedAt = Date.now();
  // Only the thread that serves /api/metrics reports the process (the dispatch thread would double it).
  if (isMainThread) collectDefaultMetrics({ register: own });
  return {
    own,
    dispatch,
    callbacks: new Counter({
      name: "framechain_callbacks_total",
      help: "Inbound callbacks answered, by stage, outcome and HTTP status.",
      labelNames: ["stage", "outcome", "status"],
      registers: [own],
    }),
    callbackSeconds: new Histogram({
      name: "framechain_callback_duration_seconds",
      help: "Time to answer an inbound callback.",
      labelNames: ["stage", "outcome"],
      buckets: CALLBACK_BUCKETS,
      registers: [own],
    }),
    rateLimited: new Counter({
      name: "framechain_rate_limited_total",
      help: "Inbound callbacks refused by the rate limiter (429).",
      labelNames: ["stage"],
      registers: [own],
    }),
    rateLimitFailedOpen: new Counter({
      name: "framechain_rate_limit_failed_open_total",
      help: "Callbacks let through because the rate-limit backend failed or was slow.",
      labelNames: ["stage", "backend"],
      registers: [own],
    }),
    uptime: new Gauge({
      name: "framechain_process_uptime_seconds",
      help: "Seconds since this process started counting.",
      registers: [own],
      collect() {
        this.set((Date.now() - startedAt) / 1000);
      },
    }),
    outbound: new Counter({
      name: "framechain_outbound_requests_total",
      help: "Outbound HTTP attempts to services, by service and result.",
      labelNames: ["service", "result"],
      registers: [dispatch],
    }),
    outboundSeconds: new Histogram({
      name: "framechain_outbound_duration_seconds",
      help: "Duration of outbound HTTP attempts.",
      labelNames: ["service"],
      buckets: OUTBOUND_BUCKETS,
      registers: [dispatch],
    }),
    jobsCreated: new Counter({
      name: "framechain_jobs_created_total",
      help: "Jobs created, by kind and how they reach a dispatcher: handed_off (claimed by the write that created them and delivered by this process) or queued (claimed from the table).",
      labelNames: ["kind", "dispatch"],
      registers: [dispatch],
    }),
    deliveries: new Counter({
      name: "framechain_subscription_deliveries_total",
      help: "Attempts to deliver events to subscribed endpoints, by endpoint and outcome (succeeded, retry, failed).",
      labelNames: ["endpoint", "outcome"],
      registers: [dispatch],
    }),
    deliverySeconds: new Histogram({
      name: "framechain_subscription_delivery_duration_seconds",
      help: "Duration of delivery attempts to subscribed endpoints.",
      labelNames: ["endpoint"],
      buckets: OUTBOUND_BUCKETS,
      registers: [dispatch],
    }),
  };
}

const store = globalThis as unknown as { __framechainMetrics?: ReturnType<typeof createMetrics> };
function registry() {
  store.__framechainMetrics ??= createMetrics();
  return store.__framechainMetrics;
}

/** A time as a histogram observation: a negative or non-finite one counts as 0. */
const seconds = (value: number) => (Number.isFinite(value) && value > 0 ? value : 0);

export const metrics = {
  /** One inbound callback answered: its stage, outcome (applied, duplicate, rejected…), status and time. */
  callback(stage: string, outcome: string, httpStatus: number, time: number): void {
    const r = registry();
    r.callbacks.inc({ stage, outcome, status: String(httpStatus) });
    r.callbackSeconds.observe({ stage, outcome }, seconds(time));
  },
  /** A callback let through because the rate-limit backend failed or was slow. */
  rateLimitFailedOpen(stage: string, backend: string): void {
    registry().rateLimitFailedOpen.inc({ stage, backend });
  },
  /** A callback refused with 429. */
  rateLimited(stage: string): void {
    registry().rateLimited.inc({ stage });
  },
  /** One outbound HTTP attempt to a service and how it ended. */
  outbound(service: string, result: OutboundResult, time: number): void {
    const r = registry();
    r.outbound.inc({ service, result });
    r.outboundSeconds.observe({ service }, seconds(time));
  },
  /** A job created: handed off by the write that created it (claimed there), or queued for a claim. */
  jobCreated(kind: string, dispatch: "handed_off" | "queued"): void {
    registry().jobsCreated.inc({ kind, dispatch });
  },
  /** One attempt to deliver an event to a user's endpoint: succeeded, retry (scheduled) or failed (final). */
  delivery(endpoint: string, outcome: "succeeded" | "retry" | "failed", time: number): void {
    const r = registry();
    r.deliveries.inc({ endpoint, outcome });
    r.deliverySeconds.observe({ endpoint }, seconds(time));
  },
};

/** The series a dispatch thread records (outbound calls, deliveries), as plain data to post. */
export type ThreadSeries = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** This thread's dispatch series, for the web thread's /api/metrics (lib/jobs/worker-thread.ts). */
export function threadSeries(): Promise<ThreadSeries> {
  return registry().dispatch.getMetricsAsJSON();
}

const threads = globalThis as unknown as { __framechainThreadSeries?: ThreadSeries | null };
/** The latest series of this process's dispatch thread, shown with this thread's own. */
export function setThreadSeries(series: ThreadSeries | null) {
  threads.__framechainThreadSeries = series;
}

/** The Prometheus text exposition format (version 0.0.4). */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export async function renderMetrics(): Promise<string> {
  const r = registry();
  const thread = threads.__framechainThreadSeries;
  // Summed by labels (every dispatch series is a counter or a histogram).
  const dispatch = AggregatorRegistry.aggregate([
    await r.dispatch.getMetricsAsJSON(),
    ...(thread ? [thread] : []),
  ]);
  return [
    await r.own.metrics(),
    await dispatch.metrics(),
    await (await databaseGauges()).metrics(),
  ].join("");
}

/** Gauges read from the database for this scrape: only framechain_database_up 0 when it did not answer. */
async function databaseGauges(): Promise<Registry> {
  const registers = [new Registry()];
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers });
  const rows = await readDatabaseGauges().catch((error: unknown) => {
    log("warn", "metrics.database_unavailable", { message: (error as Error).message });
    return null;
  });
  gauge("framechain_database_up", "1 when the database answered this scrape.").set(rows ? 1 : 0);
  if (!rows) return registers[0]!;

  const byStatus = gauge("framechain_projects", "Projects by status.", ["status"]);
  for (const row of rows.projects) byStatus.set({ status: row.status }, row.n);
  const jobGauge = gauge(
    "framechain_jobs",
    "Outbox jobs by kind and status (dead = undeliverable after every retry).",
    ["kind", "status"],
  );
  for (const row of rows.jobs) jobGauge.set({ kind: row.kind, status: row.status }, row.n);
  gauge("framechain_webhook_events_parked", "Callbacks kept until their task is known.").set(
    rows.parked,
  );
  const deliveries = gauge(
    "framechain_subscription_deliveries",
    "Deliveries not finished yet, by endpoint and status (queued: due or waiting for a retry; running: in flight).",
    ["endpoint", "status"],
  );
  for (const row of rows.deliveries)
    deliveries.set({ endpoint: row.endpoint, status: row.status }, row.n);
  gauge(
    "framechain_subscription_retry_queue",
    "Deliveries waiting for a retry after a failed attempt.",
  ).set(rows.retryQueue);
  const errors = gauge("framechain_errors_open", "Error log entries not dismissed, by severity.", [
    "severity",
  ]);
  for (const row of rows.openErrors) errors.set({ severity: row.severity }, row.n);
  return registers[0]!;
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
