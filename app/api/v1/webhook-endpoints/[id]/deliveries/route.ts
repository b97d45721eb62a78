import { NextResponse } from "next/server";
import { z } from "zod";
import { handle, readQuery, serialPageQuery } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { listDeliveries } from "@/lib/subscriptions/endpoints";

const listQuery = z.object({
  ...serialPageQuery,
});

// GET /api/v1/webhook-endpoints/{id}/deliveries – newest first: event, attempts, answer, next retry; ?limit=&cursor=
export const GET = handle(async (request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const q = readQuery(request, listQuery);
  return NextResponse.json(await listDeliveries(id, { limit: q.limit, cursor: q.cursor }));
});
