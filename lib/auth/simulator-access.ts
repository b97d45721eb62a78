import { NextResponse } from "next/server";
import { bearerToken, sameOrigin } from "@/lib/auth/access";
import { checkAdminToken } from "@/lib/auth/attempts";
import { isValidSession, SESSION_COOKIE, tokenMatches } from "@/lib/auth/session";
import { env, isProduction } from "@/lib/env";
import { clientIp } from "@/lib/ratelimit";
import { appUrl } from "@/lib/services/app-url";
import { simulatorServiceKey } from "@/lib/services/endpoints";
import { startupProblems } from "@/lib/startup-summary";
import type { Stage } from "@/lib/webhooks/stages";

/**
 * Who may use the simulator (simulator/, served by app/api/simulator), and where it may
 * call back (CONTRACT.md §5, issue 11 item 6).
 *
 * Locked — in production (a demo: SIMULATOR_ENABLED=true) or whenever ADMIN_TOKEN is set —
 * every `/api/simulator/*` route needs what `/api/v1/*` needs: the admin token as a bearer
 * token (wrong ones throttled like any other), or the sign-in cookie (the pages' media).
 * The app's own outbound client, standing in for a real service's caller, sends the
 * simulator service key instead: an HMAC of ADMIN_TOKEN, so the token itself never travels.
 * And a locked simulator only ever calls back this app's own callback endpoint for the
 * stage, whatever `callback_url`/`webhook_url` it was handed: otherwise anyone could have it
 * sign a body with the stage's webhook secret and POST it wherever they like.
 *
 * Open — development without ADMIN_TOKEN, where `/api/v1/*` is open too — it follows the
 * URL it is handed, so tests and local tools can point it at a receiver of their own.
 */

export function simulatorLocked(): boolean {
  return isProduction || Boolean(env.ADMIN_TOKEN);
}

/** Null when the request may use the simulator; otherwise the response that refuses it. */
export async function checkSimulatorAccess(request: Request): Promise<Response | null> {
  if (!simulatorLocked()) return null;
  const token = env.ADMIN_TOKEN;
  if (!token) {
    const problems = startupProblems(env);
    return NextResponse.json(
      {
        error: `The simulator is closed: ${problems.join(" ") || "set ADMIN_TOKEN (at least 16 characters)."}`,
      },
      { status: 503 },
    );
  }
  const serviceKey = simulatorServiceKey()!;
  const apiKey = request.headers.get("x-api-key");
  if (apiKey !== null && tokenMatches(apiKey, serviceKey)) return null;

  const bearer = bearerToken(request.headers.get("authorization"));
  if (bearer !== null) {
    if (tokenMatches(bearer, serviceKey)) return null;
    const verdict = await checkAdminToken(bearer, token, clientIp(request));
    if (verdict.ok) return null;
    return verdict.throttled ?? unauthorized();
  }
  if (apiKey !== null) {
    // A wrong key is a wrong token: counted like one.
    const verdict = await checkAdminToken(apiKey, token, clientIp(request));
    if (verdict.ok) return null;
    return verdict.throttled ?? unauthorized();
  }
  if (isValidSession(cookieValue(request.headers.get("cookie"), SESSION_COOKIE), token)) {
    // The cookie is ambient: a write made with it must come from this app's own pages.
    const write = request.method !== "GET" && request.method !== "HEAD";
    const origins = {
      appUrl: env.APP_URL ?? env.NEXT_PUBLIC_APP_URL,
      localOrigin: `http://localhost:${env.PORT}`,
    };
    if (write && !sameOrigin(request, origins)) {
      return NextResponse.json({ error: "Cross-site request refused" }, { status: 403 });
    }
    return null;
  }
  return unauthorized();
}

function unauthorized(): Response {
  return NextResponse.json(
    {
      error:
        "Authentication required: the simulator needs the admin token (Authorization: Bearer <ADMIN_TOKEN>, or sign in at /sign-in)",
    },
    {
      status: 401,
      headers: { "WWW-Authenticate": 'Bearer realm="framechain"', "Cache-Control": "no-store" },
    },
  );
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Where a task's callbacks go. Locked: this app's own endpoint for the stage, built from
 * its own address, keeping only the `ref` and `sig` the handed URL carried (our job id
 * and its signature). Open: the handed URL as it is.
 */
export function simulatorCallbackTarget(stage: Stage, handed: string): string {
  if (!simulatorLocked()) return handed;
  const own = new URL(`${appUrl()}/api/webhooks/${stage}`);
  let given: URL | null = null;
  try {
    given = new URL(handed);
  } catch {}
  for (const name of ["ref", "sig"]) {
    const value = given?.searchParams.get(name);
    if (value) own.searchParams.set(name, value);
  }
  return own.toString();
}
