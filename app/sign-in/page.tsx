import type { Metadata } from "next";
import { cookies } from "next/headers";
import { isValidSession, SESSION_COOKIE, safeNextPath } from "@/lib/auth/session";
import { env, isProduction } from "@/lib/env";
import { signIn, signOut } from "./actions";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function SignInPage({ searchParams }: Props) {
  const params = await searchParams;
  const next = safeNextPath(params.next);
  const token = env.ADMIN_TOKEN;
  const signedIn = token
    ? isValidSession((await cookies()).get(SESSION_COOKIE)?.value, token)
    : false;

  return (
    <section className="mx-auto max-w-sm">
      <h1 className="mb-4 text-2xl font-semibold">Sign in</h1>
      {!token ? (
        <p className="rounded border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-700 dark:bg-amber-950">
          {isProduction
            ? "The management pages are closed: set ADMIN_TOKEN (at least 16 characters) on the server to enable them."
            : "No ADMIN_TOKEN is set: in development the pages and API are open, no sign-in needed."}
        </p>
      ) : signedIn ? (
        <form action={signOut} className="space-y-3">
          <p>You are signed in.</p>
          <button
            type="submit"
            className="rounded bg-slate-800 px-4 py-2 text-white hover:bg-slate-700 dark:bg-slate-200 dark:text-slate-900"
          >
            Sign out
          </button>
        </form>
      ) : (
        <form action={signIn} className="space-y-3">
          {params.error === "invalid" && (
            <p
              role="alert"
              className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
            >
              That token is not valid.
            </p>
          )}
          {params.error === "throttled" && (
            <p
              role="alert"
              className="rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200"
            >
              Too many wrong tokens from your address: wait a minute, then try again.
            </p>
          )}
          {params.signed_out && <p className="text-sm">Signed out.</p>}
          <input type="hidden" name="next" value={next} />
          <label className="block">
            <span className="mb-1 block text-sm font-medium">Admin token</span>
            <input
              type="password"
              name="token"
              required
              autoComplete="current-password"
              className="w-full rounded border border-slate-300 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-900"
            />
          </label>
          <button
            type="submit"
            className="rounded bg-slate-800 px-4 py-2 text-white hover:bg-slate-700 dark:bg-slate-200 dark:text-slate-900"
          >
            Sign in
          </button>
        </form>
      )}
    </section>
  );
}
