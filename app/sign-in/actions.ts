"use server";

import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { checkAdminToken } from "@/lib/auth/attempts";
import {
  createSessionValue,
  SESSION_COOKIE,
  safeNextPath,
  sessionCookieOptions,
} from "@/lib/auth/session";
import { env, isProduction } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { clientAddress } from "@/lib/ratelimit/client-ip";

/**
 * Checks the posted token (constant time) and sets the session cookie: a derived value,
 * never the token. Wrong tokens are counted per client address (RATE_LIMIT_ADMIN_AUTH);
 * once an address is over its budget the proxy answers its next posts 429, and one that
 * slipped past it meanwhile is turned away here too.
 */
export async function signIn(form: FormData): Promise<void> {
  const next = safeNextPath(form.get("next"));
  const token = form.get("token");
  if (!env.ADMIN_TOKEN) redirect(`/sign-in?error=invalid&next=${encodeURIComponent(next)}`);
  const address = clientAddress(await headers(), env.TRUSTED_PROXY_HOPS);
  const verdict = await checkAdminToken(
    typeof token === "string" ? token : "",
    env.ADMIN_TOKEN,
    address,
  );
  if (!verdict.ok) {
    if (!verdict.throttled) log("warn", "auth.sign_in_failed", {});
    const reason = verdict.throttled ? "throttled" : "invalid";
    redirect(`/sign-in?error=${reason}&next=${encodeURIComponent(next)}`);
  }
  const jar = await cookies();
  jar.set(SESSION_COOKIE, createSessionValue(env.ADMIN_TOKEN), sessionCookieOptions(isProduction));
  log("info", "auth.signed_in", {});
  redirect(next);
}

/**
 * Signs out: clears the session cookie and goes to the sign-in page. A server action, so
 * a page posts it with `<form action={signOut}>` (the navigation does); the proxy refuses
 * it from another site's page (403), like every cookie-authenticated write.
 */
export async function signOut(): Promise<void> {
  const jar = await cookies();
  jar.delete({ name: SESSION_COOKIE, path: "/" });
  log("info", "auth.signed_out", {});
  redirect("/sign-in?signed_out=1");
}
