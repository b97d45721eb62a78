import { sql } from "drizzle-orm";
import { NextResponse } from "next/server";
import { getConnection } from "@/lib/db/client";
import { log } from "@/lib/observability/log";
import { pingRateLimitBackend } from "@/lib/ratelimit";
import { startupSummary } from "@/lib/startup-summary";

/** A load balancer wants an answer even when the database hangs. */
const DATABASE_TIMEOUT_MS = 3000;

// GET /api/health – database and rate-limit backend reachability, with latencies. No auth
// (load balancers); 503 "degraded" when the database is down. A failing rate-limit
// backend lets callbacks through (CONTRACT.md §2), so it is reported but stays 200.
// `config` is the start-up summary (lib/startup-summary.ts): kinds and on/off, no values.
export async function GET() {
  const [database, rateLimit] = await Promise.all([checkDatabase(), checkRateLimit()]);
  const healthy = database.ok;
  return NextResponse.json(
    {
      status: healthy ? "healthy" : "degraded",
      ...(healthy ? {} : { reason: "database unreachable" }),
      checks: { database, rate_limit: rateLimit },
      config: startupSummary(),
      timestamp: new Date().toISOString(),
    },
    { status: healthy ? 200 : 503, headers: { "cache-control": "no-store" } },
  );
}

async function checkDatabase() {
  const started = performance.now();
  try {
    const connection = await withTimeout(getConnection(), DATABASE_TIMEOUT_MS);
    await withTimeout(connection.db.execute(sql`select 1`), DATABASE_TIMEOUT_MS);
    return { ok: true, kind: connection.kind, latency_ms: elapsed(started) };
  } catch (error) {
    // The detail goes to the log only: it may name hosts the public should not see.
    log("warn", "health.database_unreachable", { message: (error as Error).message });
    return { ok: false, latency_ms: elapsed(started), error: "unreachable" };
  }
}

async function checkRateLimit() {
  const started = performance.now();
  const ping = await pingRateLimitBackend();
  if (!ping.ok)
    log("warn", "health.rate_limit_unreachable", { backend: ping.backend, message: ping.error });
  return {
    ok: ping.ok,
    backend: ping.backend,
    latency_ms: elapsed(started),
    ...(ping.ok ? {} : { error: "unreachable" }),
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
