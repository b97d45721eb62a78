import { NextResponse } from "next/server";
import { AppError, handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { parseLogId } from "@/lib/observability/queries";
import { replayWebhookEvent } from "@/lib/webhooks/replay";

// POST /api/v1/webhook-events/{id}/replay – re-applies a stored callback (parked, or refused
// while the database was down); replaying an applied one is a harmless duplicate
export const POST = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const eventId = parseLogId(id);
  if (eventId === null) throw new AppError("not_found", `No webhook event ${id}`);
  const { status, body } = await replayWebhookEvent(eventId);
  return NextResponse.json(body, { status });
});
