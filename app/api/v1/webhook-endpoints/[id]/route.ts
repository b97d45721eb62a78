import { NextResponse } from "next/server";
import { handle, readJson } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import {
  deleteEndpoint,
  getEndpoint,
  updateEndpoint,
  updateEndpointInput,
} from "@/lib/subscriptions/endpoints";

// GET /api/v1/webhook-endpoints/{id} – one endpoint (secret not shown)
export const GET = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  return NextResponse.json(await getEndpoint(id));
});

// PATCH /api/v1/webhook-endpoints/{id} – change url, events, description, enabled
export const PATCH = handle(async (request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const patch = await readJson(request, updateEndpointInput);
  return NextResponse.json(await updateEndpoint(id, patch));
});

// DELETE /api/v1/webhook-endpoints/{id} – removes it and its delivery log
export const DELETE = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  await deleteEndpoint(id);
  return new Response(null, { status: 204 });
});
