import type { Metadata, Viewport } from "next";
import Link from "next/link";
import { NavLinks } from "@/app/components/nav-links";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Framechain", template: "%s · Framechain" },
  description: "Multi-scene AI video generation, orchestrated through webhooks",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
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
            className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3"
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
              Framechain
            </Link>
            <NavLinks />
          </nav>
        </header>
        <main id="main" tabIndex={-1} className="mx-auto max-w-6xl px-4 py-6 focus:outline-none">
          {children}
        </main>
      </body>
    </html>
  );
}
