import Link from "next/link";
import { Icon } from "./icons";

/** "← Projects": the way back to the list a page belongs to. */
export function BackLink({ href, label }: { href: string; label: string }) {
  return (
    <Link
      href={href}
      className="mb-3 inline-flex items-center gap-1 text-sm text-slate-600 hover:underline dark:text-slate-300"
    >
      <Icon name="arrowLeft" /> {label}
    </Link>
  );
}

/**
 * The head of a detail page (a project, a webhook endpoint): the way back, the title, a line
 * of small facts starting with the id, notes under it, and the page's actions on the right.
 */
export function DetailHeader({
  back,
  title,
  id,
  facts,
  notes,
  actions,
  breakAll = false,
  children,
}: {
  back: { href: string; label: string };
  title: string;
  id: string;
  facts: React.ReactNode;
  notes?: React.ReactNode;
  actions: React.ReactNode;
  /** A URL as title has no spaces to break at. */
  breakAll?: boolean;
  /** What belongs to the head under it all (an error, a secret shown once). */
  children?: React.ReactNode;
}) {
  return (
    <div>
      <BackLink {...back} />
      <div className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
        <div className="min-w-0">
          <h1
            className={`text-2xl font-semibold tracking-tight ${breakAll ? "break-all" : "break-words"}`}
          >
            {title}
          </h1>
          <p className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-slate-500 dark:text-slate-400">
            <span className="font-mono">{id}</span>
            {facts}
          </p>
          {notes}
        </div>
        {actions}
      </div>
      {children}
    </div>
  );
}
