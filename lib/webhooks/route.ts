import "server-only";
import { sql } from "drizzle-orm";
import { NextResponse } from "next/server";
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/observability/log";
import { receiveCallback } from "./receive";
import { STAGES, type Stage } from "./stages";

/** GET (health check) and POST (the callback) of `/api/webhooks/<stage>`. */
export function webhookRoute(stage: Stage) {
  const receive = (request: Request) => receiveCallback(stage, request);
  const health = () => webhookHealth(stage);
  return { POST: receive, GET: health };
}

async function webhookHealth(stage: Stage): Promise<Response> {
  const base = {
    endpoint: `/api/webhooks/${stage}`,
    method: "POST",
    description: STAGES[stage].description,
    timestamp: new Date().toISOString(),
  };
  try {
    const db = await getDb();
    await db.execute(sql`select 1`);
    return NextResponse.json({ status: "healthy", ...base });
  } catch (error) {
    // The detail goes to the log only: a driver's message can name hosts, users or the query.
    log("warn", "webhook.health_database_unreachable", {
      stage,
      message: (error as Error).message,
    });
    return NextResponse.json(
      { status: "degraded", reason: "database unreachable", ...base },
      { status: 503, headers: { "cache-control": "no-store" } },
    );
  }
}
