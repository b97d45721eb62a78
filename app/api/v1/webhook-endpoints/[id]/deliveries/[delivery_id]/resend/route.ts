import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import { resendDelivery } from "@/lib/subscriptions/endpoints";

type Ctx = { params: Promise<{ id: string; delivery_id: string }> };

// POST /api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/resend – that event again, same webhook-id; 202
export const POST = handle(async (_request: Request, ctx: Ctx) => {
  const { id, delivery_id } = await ctx.params;
  return NextResponse.json(await resendDelivery(id, delivery_id), { status: 202 });
});
