import { type NextRequest, NextResponse } from "next/server";
import { isValidSession, SESSION_COOKIE, tokenMatches } from "./session";

/**
 * Who may reach what (CONTRACT.md §4). Everything is protected unless listed public here,
 * so a new page or API route is closed by default:
 * - callbacks authenticate by signature, /api/cron/tick by CRON_SECRET, the simulator
 *   404s itself in production, health and ping are for load balancers;
 * - Next's own assets and the sign-in page must load before anyone is signed in.
 */
const PUBLIC_PREFIXES = ["/api/webhooks/", "/api/simulator/", "/_next/"];
const PUBLIC_PATHS = new Set([
  "/api/health",
  "/api/ping",
  "/api/cron/tick",
  "/sign-in",
  "/favicon.ico",
  "/robots.txt",
]);

export type AccessConfig = {
  /** ADMIN_TOKEN; unset = open in development, closed in production. */
  adminToken?: string;
  production: boolean;
  /** APP_URL: the public origin when the app sits behind a proxy that rewrites Host. */
  appUrl?: string;
};

export function isPublicPath(pathname: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  // An encoded slash, backslash or dot segment could route somewhere other than it reads.
  if (decoded !== pathname && /%2f|%5c|%2e/i.test(pathname)) return false;
  if (decoded.includes("\\") || /(^|\/)\.\.?(\/|$)/.test(decoded)) return false;
  const path = decoded.length > 1 ? decoded.replace(/\/+$/, "") : decoded;
  return PUBLIC_PATHS.has(path) || PUBLIC_PREFIXES.some((prefix) => `${path}/`.startsWith(prefix));
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Null when the request may go on; otherwise the response that refuses it. */
export function checkAccess(request: NextRequest, config: AccessConfig): NextResponse | null {
  const path = request.nextUrl.pathname;
  if (isPublicPath(path)) return null;
  const api = path.startsWith("/api/");
  const mutating = MUTATING.has(request.method);

  if (!config.adminToken) {
    if (config.production) return closed(api);
    // Open for local development, but a browser on another site still may not write here.
    if (mutating && fromBrowser(request) && !sameOrigin(request, config.appUrl)) return crossSite();
    return null;
  }

  const bearer = bearerToken(request.headers.get("authorization"));
  if (bearer !== null) {
    // Not an ambient credential (a browser never adds it by itself): no CSRF check needed.
    return tokenMatches(bearer, config.adminToken) ? null : unauthorized("Invalid token");
  }
  if (!isValidSession(request.cookies.get(SESSION_COOKIE)?.value, config.adminToken)) {
    return api || !(request.method === "GET" || request.method === "HEAD")
      ? unauthorized(
          "Authentication required: send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /sign-in",
        )
      : toSignIn(request);
  }
  if (mutating && !sameOrigin(request, config.appUrl)) return crossSite();
  return null;
}

function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : "";
}

function fromBrowser(request: NextRequest): boolean {
  return request.headers.has("origin") || request.headers.has("sec-fetch-site");
}

/** Same-origin per Sec-Fetch-Site, or an Origin whose host is ours (Host, X-Forwarded-Host or APP_URL). */
function sameOrigin(request: NextRequest, appUrl: string | undefined): boolean {
  if (request.headers.get("sec-fetch-site") === "same-origin") return true;
  const origin = request.headers.get("origin");
  if (!origin || origin === "null") return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const ours = [
    request.headers.get("host"),
    request.headers.get("x-forwarded-host")?.split(",")[0]?.trim(),
    request.nextUrl.host,
    appUrl ? new URL(appUrl).host : undefined,
  ];
  return ours.some((h) => h === host);
}

function unauthorized(message: string): NextResponse {
  return NextResponse.json(
    { error: message },
    {
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer realm="framechain"', "Cache-Control": "no-store" },
    },
  );
}

function crossSite(): NextResponse {
  return NextResponse.json({ error: "Cross-site request refused" }, { status: 403 });
}

const CLOSED_MESSAGE =
  "The management API and pages are closed: set ADMIN_TOKEN (at least 16 characters) to enable them.";

function closed(api: boolean): NextResponse {
  if (api) return NextResponse.json({ error: CLOSED_MESSAGE }, { status: 503 });
  return new NextResponse(
    `<!doctype html><meta charset="utf-8"><title>Framechain</title><h1>Framechain</h1><p>${CLOSED_MESSAGE}</p>`,
    { status: 503, headers: { "content-type": "text/html; charset=utf-8" } },
  );
}

function toSignIn(request: NextRequest): NextResponse {
  const url = request.nextUrl.clone();
  url.pathname = "/sign-in";
  url.search = "";
  url.searchParams.set("next", `${request.nextUrl.pathname}${request.nextUrl.search}`);
  return NextResponse.redirect(url);
}
