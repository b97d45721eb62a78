import { NextResponse } from "next/server";
import { handle } from "@/lib/http/errors";
import { errorStats } from "@/lib/observability/queries";

// GET /api/v1/errors/stats – counts by type and by severity: last 24 h, all time, and still open
export const GET = handle(async () => NextResponse.json(await errorStats()));
