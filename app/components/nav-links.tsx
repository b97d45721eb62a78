"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { signOut } from "@/app/sign-in/actions";

/** "open": no ADMIN_TOKEN is set (development), so there is nothing to sign in or out of. */
export type SignInState = "open" | "signed-in" | "signed-out";

const LINKS: { href: string; label: React.ReactNode; current: (path: string) => boolean }[] = [
  {
    href: "/projects",
    label: "Projects",
    current: (path: string) => path === "/projects" || /^\/projects\/(?!new)/.test(path),
  },
  {
    href: "/projects/new",
    // "New" on a phone (the list has its own New project button): every link fits on one line.
    label: (
      <>
        New<span className="max-sm:sr-only"> project</span>
      </>
    ),
    current: (path: string) => path === "/projects/new",
  },
  {
    href: "/webhooks",
    label: "Webhooks",
    current: (path: string) => path.startsWith("/webhooks"),
  },
  {
    href: "/errors",
    label: "Errors",
    current: (path: string) => path.startsWith("/errors"),
  },
];

const LINK =
  "whitespace-nowrap rounded-sm text-sm underline-offset-4 hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500";

/** The main navigation; the page you are on is marked for screen readers and by an underline. */
export function NavLinks({ signIn }: { signIn: SignInState }) {
  const path = usePathname() ?? "";
  const onSignIn = path.startsWith("/sign-in");
  return (
    <>
      {LINKS.map((link) => {
        const current = link.current(path);
        return (
          <Link
            key={link.href}
            href={link.href}
            aria-current={current ? "page" : undefined}
            className={`${LINK} ${
              current ? "font-medium underline decoration-2" : "text-slate-700 dark:text-slate-300"
            }`}
          >
            {link.label}
          </Link>
        );
      })}
      {signIn === "signed-in" && (
        <form action={signOut} className="contents">
          <button type="submit" className={`${LINK} text-slate-700 dark:text-slate-300`}>
            Sign out
          </button>
        </form>
      )}
      {signIn === "signed-out" && (
        <Link
          href="/sign-in"
          aria-current={onSignIn ? "page" : undefined}
          className={`${LINK} ${onSignIn ? "font-medium underline decoration-2" : "text-slate-700 dark:text-slate-300"}`}
        >
          Sign in
        </Link>
      )}
    </>
  );
}
