import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { getProjectView } from "@/lib/projects/queries";

// GET /api/v1/projects/{id} – the project with its scenes in order
export const GET = handle(async (_request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  return NextResponse.json(await getProjectView(id));
});
