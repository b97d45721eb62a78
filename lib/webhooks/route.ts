import "server-only";
import { sql } from "drizzle-orm";
import { NextResponse } from "next/server";
import { getDb } from "@/lib/db/client";
import { receiveCallback } from "./receive";
import { type Stage, STAGES } from "./stages";

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
    return NextResponse.json(
      {
        status: "degraded",
        reason: `database unreachable: ${(error as Error).message}`.slice(0, 300),
        ...base,
      },
      { status: 503 },
    );
  }
}
