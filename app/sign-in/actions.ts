"use server";

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import {
  createSessionValue,
  SESSION_COOKIE,
  safeNextPath,
  sessionCookieOptions,
  tokenMatches,
} from "@/lib/auth/session";
import { env, isProduction } from "@/lib/env";
import { log } from "@/lib/observability/log";

/** Checks the posted token (constant time) and sets the session cookie: a derived value, never the token. */
export async function signIn(form: FormData): Promise<void> {
  const next = safeNextPath(form.get("next"));
  const token = form.get("token");
  if (!env.ADMIN_TOKEN || typeof token !== "string" || !tokenMatches(token, env.ADMIN_TOKEN)) {
    log("warn", "auth.sign_in_failed", {});
    redirect(`/sign-in?error=invalid&next=${encodeURIComponent(next)}`);
  }
  const jar = await cookies();
  jar.set(SESSION_COOKIE, createSessionValue(env.ADMIN_TOKEN), sessionCookieOptions(isProduction));
  log("info", "auth.signed_in", {});
  redirect(next);
}

export async function signOut(): Promise<void> {
  const jar = await cookies();
  jar.delete({ name: SESSION_COOKIE, path: "/" });
  redirect("/sign-in?signed_out=1");
}
