import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * The admin session: the sign-in page sets a cookie holding an expiry and an HMAC keyed
 * by ADMIN_TOKEN — never the token itself. Changing ADMIN_TOKEN ends every session.
 */
export const SESSION_COOKIE = "framechain_session";
export const SESSION_MAX_AGE_SECONDS = 7 * 24 * 60 * 60;
const VERSION = "v1";

/** Constant-time comparison of a presented token with ADMIN_TOKEN (hashed first, so lengths leak nothing). */
export function tokenMatches(candidate: string, token: string): boolean {
  const a = createHash("sha256").update(candidate).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

function signature(token: string, expiresAt: number): Buffer {
  return createHmac("sha256", token).update(`framechain-session:${VERSION}:${expiresAt}`).digest();
}

/** `v1.<expiry in epoch seconds>.<hex HMAC>` */
export function createSessionValue(token: string, now = Date.now()): string {
  const expiresAt = Math.floor(now / 1000) + SESSION_MAX_AGE_SECONDS;
  return `${VERSION}.${expiresAt}.${signature(token, expiresAt).toString("hex")}`;
}

export function isValidSession(
  value: string | undefined,
  token: string,
  now = Date.now(),
): boolean {
  if (!value) return false;
  const match = /^v1\.(\d{1,12})\.([0-9a-f]{64})$/.exec(value);
  if (!match) return false;
  const expiresAt = Number(match[1]);
  if (expiresAt * 1000 <= now) return false;
  return timingSafeEqual(Buffer.from(match[2]!, "hex"), signature(token, expiresAt));
}

export function sessionCookieOptions(production: boolean) {
  return {
    httpOnly: true,
    sameSite: "strict" as const,
    secure: production,
    path: "/",
    maxAge: SESSION_MAX_AGE_SECONDS,
  };
}

/** Where to go after signing in: a path on this site only (no `//host` or `/\host` tricks). */
export function safeNextPath(next: unknown): string {
  if (
    typeof next !== "string" ||
    !next.startsWith("/") ||
    next.startsWith("//") ||
    next.startsWith("/\\")
  ) {
    return "/projects";
  }
  if (/[\r\n\t]/.test(next) || next.startsWith("/sign-in")) return "/projects";
  return next;
}
