import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { type ProjectAction, runProjectAction } from "@/lib/projects/actions";

/** The route handler of `POST /api/v1/projects/{id}/<action>`. */
export function projectActionHandler(action: ProjectAction) {
  return handle(async (_request: Request, ctx: IdRouteContext) => {
    const { id } = await ctx.params;
    return NextResponse.json(await runProjectAction(id, action));
  });
}
