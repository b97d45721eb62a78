import { NextResponse } from "next/server";
import { z } from "zod";
import { handle, pageQuery, readQuery } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { listDeliveries } from "@/lib/subscriptions/endpoints";

const listQuery = z.object({
  ...pageQuery,
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be a next_cursor from a previous page")
    .optional(),
});

// GET /api/v1/webhook-endpoints/{id}/deliveries – newest first: event, attempts, answer, next retry; ?limit=&cursor=
export const GET = handle(async (request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const q = readQuery(request, listQuery);
  return NextResponse.json(await listDeliveries(id, { limit: q.limit, cursor: q.cursor }));
});
