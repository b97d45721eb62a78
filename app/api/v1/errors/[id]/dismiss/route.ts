import { NextResponse } from "next/server";
import { AppError, handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { dismissError, parseLogId } from "@/lib/observability/queries";

// POST /api/v1/errors/{id}/dismiss – hides an entry from the default list (idempotent)
export const POST = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const logId = parseLogId(id);
  const entry = logId === null ? null : await dismissError(logId);
  if (!entry) throw new AppError("not_found", `No error log entry ${id}`);
  return NextResponse.json(entry);
});
