import { type NextRequest, NextResponse } from "next/server";
import { adminAuthGate, tooManyAuthAttempts } from "@/lib/ratelimit/admin-auth";
import { clientAddress } from "@/lib/ratelimit/client-ip";
import { checkAdminToken } from "./attempts";
import { isValidSession, SESSION_COOKIE } from "./session";

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
  /**
   * APP_URL (else NEXT_PUBLIC_APP_URL): the public origin. When set, a browser's write must
   * come from exactly this scheme, host and port.
   */
  appUrl?: string;
  /** The origin assumed when no public URL is configured (`http://localhost:$PORT`). */
  localOrigin?: string;
  /** TRUSTED_PROXY_HOPS: how the client address of the wrong-token throttle is found. */
  trustedProxyHops?: number;
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
export async function checkAccess(
  request: NextRequest,
  config: AccessConfig,
): Promise<NextResponse | Response | null> {
  const path = request.nextUrl.pathname;
  const api = path.startsWith("/api/");
  const mutating = MUTATING.has(request.method);
  // A page is only ever POSTed to by a server action (the sign-in form included, which is
  // public): a browser posting one from another site is refused here with 403, before
  // Next's own check would throw a 500 at it.
  if (mutating && !api && fromBrowser(request) && !sameOrigin(request, config)) return crossSite();
  // The sign-in form: an address that used up its wrong-token budget gets 429 here, before
  // the action reads another guess (a signed-in visitor posting there is signing out).
  if (
    request.method === "POST" &&
    config.adminToken &&
    path.replace(/\/+$/, "") === "/sign-in" &&
    !isValidSession(request.cookies.get(SESSION_COOKIE)?.value, config.adminToken)
  ) {
    const gate = await adminAuthGate(clientAddress(request.headers, config.trustedProxyHops ?? 1));
    if (!gate.allowed) return tooManyAuthAttempts(gate);
  }
  if (isPublicPath(path)) return null;

  if (!config.adminToken) {
    if (config.production) return closed(api);
    // Open for local development, but a browser on another site still may not write here.
    if (mutating && fromBrowser(request) && !sameOrigin(request, config)) return crossSite();
    return null;
  }

  const bearer = bearerToken(request.headers.get("authorization"));
  if (bearer !== null) {
    // Not an ambient credential (a browser never adds it by itself): no CSRF check needed.
    const address = clientAddress(request.headers, config.trustedProxyHops ?? 1);
    const verdict = await checkAdminToken(bearer, config.adminToken, address);
    if (verdict.ok) return null;
    return verdict.throttled ?? unauthorized("Invalid token");
  }
  if (!isValidSession(request.cookies.get(SESSION_COOKIE)?.value, config.adminToken)) {
    return api || !(request.method === "GET" || request.method === "HEAD")
      ? unauthorized(
          "Authentication required: send Authorization: Bearer <ADMIN_TOKEN>, or sign in at /sign-in",
        )
      : toSignIn(request);
  }
  if (mutating && !sameOrigin(request, config)) return crossSite();
  return null;
}

export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : "";
}

function fromBrowser(request: Request): boolean {
  return request.headers.has("origin") || request.headers.has("sec-fetch-site");
}

/**
 * Whether a write comes from this app's own pages (CSRF), judged only on what a browser
 * sets and a page cannot forge — never on Host or X-Forwarded-Host, which the client (or a
 * rebinding DNS name) chooses:
 * - with a public URL configured (APP_URL, else NEXT_PUBLIC_APP_URL), the Origin must be
 *   exactly its origin: scheme, host and port; without an Origin, Sec-Fetch-Site must say
 *   same-origin;
 * - without one, `Sec-Fetch-Site: same-origin` (every current browser sends it), else an
 *   Origin equal to the local origin (`http://localhost:$PORT`).
 */
export function sameOrigin(
  request: Request,
  config: Pick<AccessConfig, "appUrl" | "localOrigin">,
): boolean {
  const site = request.headers.get("sec-fetch-site");
  const origin = originOf(request.headers.get("origin"));
  const configured = originOf(config.appUrl ?? null);
  if (configured) {
    if (request.headers.has("origin")) return origin !== null && origin === configured;
    return site === "same-origin";
  }
  if (site === "same-origin") return true;
  const local = originOf(config.localOrigin ?? null);
  return origin !== null && local !== null && origin === local;
}

/** The serialized origin (`scheme://host[:port]`, default port dropped), or null. */
function originOf(value: string | null): string | null {
  if (!value || value === "null") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
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
