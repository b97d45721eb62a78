// GET /api/ping – does no work: for load balancers, and the bench's baseline route
export function GET() {
  return new Response("pong", {
    headers: { "content-type": "text/plain", "cache-control": "no-store" },
  });
}
