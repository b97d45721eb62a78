"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

const LINKS = [
  {
    href: "/projects",
    label: "Projects",
    current: (path: string) => path === "/projects" || /^\/projects\/(?!new)/.test(path),
  },
  {
    href: "/projects/new",
    label: "New project",
    current: (path: string) => path === "/projects/new",
  },
  {
    href: "/errors",
    label: "Errors",
    current: (path: string) => path.startsWith("/errors"),
  },
  {
    href: "/sign-in",
    label: "Sign in",
    current: (path: string) => path.startsWith("/sign-in"),
  },
];

/** The main navigation; the page you are on is marked for screen readers and by an underline. */
export function NavLinks() {
  const path = usePathname() ?? "";
  return (
    <>
      {LINKS.map((link) => {
        const current = link.current(path);
        return (
          <Link
            key={link.href}
            href={link.href}
            aria-current={current ? "page" : undefined}
            className={`rounded-sm text-sm underline-offset-4 hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 ${
              current ? "font-medium underline decoration-2" : "text-slate-700 dark:text-slate-300"
            }`}
          >
            {link.label}
          </Link>
        );
      })}
    </>
  );
}
