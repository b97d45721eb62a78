import { NextResponse } from "next/server";
import { z } from "zod";
import { ERROR_SEVERITIES, ERROR_TYPES } from "@/lib/db/schema";
import { handle, projectIdFilter, readQuery, serialPageQuery } from "@/lib/http/errors";
import { listErrors } from "@/lib/observability/queries";

const listQuery = z.object({
  type: z.enum(ERROR_TYPES).optional(),
  severity: z.enum(ERROR_SEVERITIES).optional(),
  project_id: projectIdFilter,
  include_dismissed: z.enum(["true", "false", "1", "0"]).optional(),
  ...serialPageQuery,
});

// GET /api/v1/errors – the error log, newest first; ?type=&severity=&project_id=&include_dismissed=&limit=&cursor=
export const GET = handle(async (request: Request) => {
  const q = readQuery(request, listQuery);
  return NextResponse.json(
    await listErrors({
      type: q.type,
      severity: q.severity,
      projectId: q.project_id,
      includeDismissed: q.include_dismissed === "true" || q.include_dismissed === "1",
      limit: q.limit,
      cursor: q.cursor,
    }),
  );
});
