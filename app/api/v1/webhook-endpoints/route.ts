import { NextResponse } from "next/server";
import { handle, readJson } from "@/lib/http/errors";
import { createEndpoint, createEndpointInput, listEndpoints } from "@/lib/subscriptions/endpoints";

// GET /api/v1/webhook-endpoints – users' endpoints subscribed to project events (secrets never shown)
export const GET = handle(async () => NextResponse.json(await listEndpoints()));

// POST /api/v1/webhook-endpoints – register one; its whsec_ secret is in this answer only
export const POST = handle(async (request: Request) => {
  const input = await readJson(request, createEndpointInput);
  return NextResponse.json(await createEndpoint(input), { status: 201 });
});
