import { NextResponse } from "next/server";
import { handle, readJson } from "@/lib/http/errors";
import { selectSceneTake } from "@/lib/projects/actions";
import { selectTakeInput } from "@/lib/projects/input";
import { type SceneRouteContext, sceneParams } from "../scene-route";

// POST /api/v1/projects/{id}/scenes/{number}/select-take – CONTRACT.md §7: re-stitch with that take
export const POST = handle(async (request: Request, ctx: SceneRouteContext) => {
  const { id, number } = await sceneParams(ctx);
  const { take } = await readJson(request, selectTakeInput);
  return NextResponse.json(await selectSceneTake(id, number, take), { status: 202 });
});
