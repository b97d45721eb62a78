import Link from "next/link";
import { Icon } from "./icons";

/** The primary "New project" button, in the list's header and its empty state. */
export function NewProjectLink({ className = "" }: { className?: string }) {
  return (
    <Link
      href="/projects/new"
      className={`inline-flex items-center gap-1.5 rounded-md bg-slate-900 px-3 py-2 text-sm font-medium text-white shadow-sm hover:bg-slate-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:bg-slate-100 dark:text-slate-900 dark:hover:bg-white ${className}`}
    >
      <Icon name="plus" /> New project
    </Link>
  );
}
