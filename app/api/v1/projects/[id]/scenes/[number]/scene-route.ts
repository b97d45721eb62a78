import { AppError } from "@/lib/http/errors";

/** `{id, number}` of `/api/v1/projects/{id}/scenes/{number}/…` (Next 16 passes a Promise). */
export type SceneRouteContext = { params: Promise<{ id: string; number: string }> };

/** The scene number of the path: a positive integer, else 404 (it names no scene). */
export async function sceneParams(ctx: SceneRouteContext): Promise<{ id: string; number: number }> {
  const { id, number } = await ctx.params;
  const n = /^[1-9][0-9]{0,3}$/.test(number) ? Number(number) : Number.NaN;
  if (!Number.isInteger(n)) throw new AppError("not_found", `No scene ${number}`);
  return { id, number: n };
}
