import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { rotateSecret } from "@/lib/subscriptions/endpoints";

// POST /api/v1/webhook-endpoints/{id}/rotate-secret – a new secret (shown once); the old one also signs for 24 h
export const POST = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  return NextResponse.json(await rotateSecret(id));
});
