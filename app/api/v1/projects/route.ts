import { NextResponse } from "next/server";
import { z } from "zod";
import { PROJECT_STATUSES } from "@/lib/db/schema";
import { handle, pageQuery, readJson, readQuery } from "@/lib/http/errors";
import { createProject } from "@/lib/projects/actions";
import { createProjectInput } from "@/lib/projects/input";
import { listProjects } from "@/lib/projects/queries";

const listQuery = z.object({
  status: z
    .string()
    .transform((s) => s.split(",").filter(Boolean))
    .pipe(z.array(z.enum(PROJECT_STATUSES)))
    .optional(),
  ...pageQuery,
});

// GET /api/v1/projects – newest first, with progress counts; ?status=a,b&limit=&cursor=
export const GET = handle(async (request: Request) => {
  return NextResponse.json(await listProjects(readQuery(request, listQuery)));
});

// POST /api/v1/projects – create a project (draft, or generating with autostart)
export const POST = handle(async (request: Request) => {
  const input = await readJson(request, createProjectInput);
  return NextResponse.json(await createProject(input), { status: 201 });
});
