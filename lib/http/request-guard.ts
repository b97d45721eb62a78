import { isWellFormedPath, isWellFormedQuery } from "./text";

/**
 * Requests that can name nothing here, answered before any route sees them (the proxy
 * calls this first): a path segment that is not UTF-8 (`%ff`, the overlong `%c0%af`) or
 * holds a control character (`%00`) is a 404 — Next would otherwise fail to decode it
 * and answer 500 — and a query value with a NUL is a 400. Null: carry on.
 */
export function refuseMalformed(url: URL): Response | null {
  const api = url.pathname.startsWith("/api/");
  if (!isWellFormedPath(url.pathname)) {
    return api
      ? Response.json({ error: "Not found" }, { status: 404 })
      : new Response(
          '<!doctype html><meta charset="utf-8"><title>Not found</title><h1>Not found</h1>',
          { status: 404, headers: { "content-type": "text/html; charset=utf-8" } },
        );
  }
  if (!isWellFormedQuery(url.search)) {
    return Response.json(
      {
        error: "Invalid request",
        issues: [{ path: "", message: "the query string contains a NUL character" }],
      },
      { status: 400 },
    );
  }
  return null;
}
