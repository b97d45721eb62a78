import { handle } from "@/lib/http/errors";
import type { IdRouteContext } from "@/lib/http/route-context";
import { getProjectSnapshot, projectEventStream } from "@/lib/projects/events";

export const dynamic = "force-dynamic";

// GET /api/v1/projects/{id}/events – text/event-stream: a `project` event with the project,
// its latest callbacks and errors, now and after every change (404 before streaming for an unknown id)
export const GET = handle(async (request: Request, ctx: IdRouteContext) => {
  const { id } = await ctx.params;
  const first = await getProjectSnapshot(id);
  return projectEventStream(request.signal, id, first);
});
