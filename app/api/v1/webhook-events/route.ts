import { NextResponse } from "next/server";
import { z } from "zod";
import { WEBHOOK_OUTCOMES, WEBHOOK_SOURCES } from "@/lib/db/schema";
import { handle, projectIdFilter, readQuery, serialPageQuery } from "@/lib/http/errors";
import { listWebhookEvents } from "@/lib/observability/queries";

const listQuery = z.object({
  source: z.enum(WEBHOOK_SOURCES).optional(),
  project_id: projectIdFilter,
  outcome: z.enum(WEBHOOK_OUTCOMES).optional(),
  ...serialPageQuery,
});

// GET /api/v1/webhook-events – received callbacks with their outcome, newest first; ?source=&project_id=&outcome=&limit=&cursor=
export const GET = handle(async (request: Request) => {
  const q = readQuery(request, listQuery);
  return NextResponse.json(
    await listWebhookEvents({
      source: q.source,
      projectId: q.project_id,
      outcome: q.outcome,
      limit: q.limit,
      cursor: q.cursor,
    }),
  );
});
