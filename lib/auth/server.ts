import "server-only";
import { cookies, headers } from "next/headers";
import { env, isProduction } from "@/lib/env";
import { isValidSession, SESSION_COOKIE, tokenMatches } from "./session";

/**
 * Inside a server action: whether the caller is the admin. The proxy already guards the
 * page an action is posted to; this second check keeps an action safe even when it is
 * posted to another (public) path.
 */
export async function isAdminRequest(): Promise<boolean> {
  if (!env.ADMIN_TOKEN) return !isProduction;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec((await headers()).get("authorization") ?? "")?.[1];
  if (bearer) return tokenMatches(bearer, env.ADMIN_TOKEN);
  return isValidSession((await cookies()).get(SESSION_COOKIE)?.value, env.ADMIN_TOKEN);
}
