import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { sendTestEvent } from "@/lib/subscriptions/endpoints";

// POST /api/v1/webhook-endpoints/{id}/test – queues a test.ping to that endpoint; 202 with the delivery
export const POST = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  return NextResponse.json(await sendTestEvent(id), { status: 202 });
});
