import type { Metadata, Viewport } from "next";
import { cookies } from "next/headers";
import Link from "next/link";
import { connection } from "next/server";
import { CallbacksRefusedBanner } from "@/app/components/callbacks-refused-banner";
import { NavLinks, type SignInState } from "@/app/components/nav-links";
import { isValidSession, SESSION_COOKIE } from "@/lib/auth/session";
import { env } from "@/lib/env";
import { startupSummary } from "@/lib/startup-summary";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Framechain", template: "%s · Framechain" },
  description: "Multi-scene AI video generation, orchestrated through webhooks",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

/** "open": no ADMIN_TOKEN (development), nothing to sign in or out of. */
async function signInState(): Promise<SignInState> {
  if (!env.ADMIN_TOKEN) return "open";
  const session = (await cookies()).get(SESSION_COOKIE)?.value;
  return isValidSession(session, env.ADMIN_TOKEN) ? "signed-in" : "signed-out";
}

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // The header depends on this process's settings and the visitor's cookie, never on the build.
  await connection();
  const signIn = await signInState();
  const config = startupSummary();
  return (
    <html lang="en">
      <body className="min-h-screen">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:p-2 focus:shadow focus:outline-2 focus:outline-sky-500 dark:focus:bg-slate-900"
        >
          Skip to content
        </a>
        <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <nav
            aria-label="Main"
            className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-3 gap-y-2 px-3 py-3 sm:gap-x-6 sm:px-4"
          >
            <Link
              href="/projects"
              className="flex items-center gap-2 rounded-sm text-lg font-semibold tracking-tight focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500"
            >
              <span aria-hidden="true" className="flex gap-0.5">
                <span className="h-4 w-1.5 rounded-sm bg-sky-600" />
                <span className="h-4 w-1.5 rounded-sm bg-violet-600" />
                <span className="h-4 w-1.5 rounded-sm bg-emerald-600" />
              </span>
              {/* On a phone the bars alone stand for the name, so the links fit on one line. */}
              <span className="max-sm:sr-only">Framechain</span>
            </Link>
            <NavLinks signIn={signIn} />
          </nav>
        </header>
        {/* Configuration is not secret from the admin, but it is from a signed-out visitor. */}
        {signIn !== "signed-out" && (
          <CallbacksRefusedBanner
            endpoints={config.callbacks_refused}
            variables={config.secrets_missing}
          />
        )}
        <main id="main" tabIndex={-1} className="mx-auto max-w-6xl px-4 py-6 focus:outline-none">
          {children}
        </main>
      </body>
    </html>
  );
}
