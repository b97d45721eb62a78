import { NextResponse } from "next/server";
import { handle, readJson } from "@/lib/http/errors";
import { regenerateScene } from "@/lib/projects/actions";
import { regenerateInput } from "@/lib/projects/input";
import { type SceneRouteContext, sceneParams } from "../scene-route";

// POST /api/v1/projects/{id}/scenes/{number}/regenerate – CONTRACT.md §7; 409 while the project runs
export const POST = handle(async (request: Request, ctx: SceneRouteContext) => {
  const { id, number } = await sceneParams(ctx);
  const input = await readJson(request, regenerateInput);
  return NextResponse.json(await regenerateScene(id, number, input), { status: 202 });
});
