import { type NextRequest, NextResponse } from "next/server";
import { checkAccess } from "@/lib/auth/access";
import { env, isProduction } from "@/lib/env";
import { refuseMalformed } from "@/lib/http/request-guard";

/**
 * Next 16's request proxy (formerly middleware), in front of everything but the exact hot
 * paths below: first what can name nothing (a path that is not UTF-8 or holds a control
 * character: 404; a NUL in the query: 400 — lib/http/request-guard.ts), then admin access
 * control of the management API, /api/metrics and the pages, with the wrong-token throttle
 * and the CSRF origin check (lib/auth/access.ts).
 */
export async function proxy(request: NextRequest) {
  return (
    refuseMalformed(request.nextUrl) ??
    (await checkAccess(request, {
      adminToken: env.ADMIN_TOKEN,
      production: isProduction,
      appUrl: env.APP_URL ?? env.NEXT_PUBLIC_APP_URL,
      localOrigin: `http://localhost:${env.PORT}`,
      trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    })) ??
    NextResponse.next()
  );
}

export const config = {
  // Static build assets never need a check (the policy lets /_next/ through anyway).
  // Nor do the public hot paths (exact paths only: anything longer or encoded still comes
  // through the checks): the proxy costs ~1.5 ms of CPU per request (docs/benchmarks.md).
  matcher: [
    "/((?!_next/static|_next/image|favicon.ico|api/ping$|api/health$|api/webhooks/(?:video|last-frame|stitch)-complete$).*)",
  ],
};
