/**
 * The two buttons closing a confirm dialog: "Keep as is" (closes it) and the action, which
 * says "Working…" while it runs. Used by the project actions and the re-shoot dialog.
 */
export function DialogButtons({
  onKeep,
  busy,
  confirmLabel,
  confirmName,
  confirmClassName,
  onConfirm,
}: {
  onKeep: () => void;
  busy: boolean;
  confirmLabel: string;
  /** `data-confirm` of the action button (what the browser tests click). */
  confirmName: string;
  /** The action's colours: a destructive action looks different from a safe one. */
  confirmClassName: string;
  /** Without it the action button submits the dialog's form. */
  onConfirm?: () => void;
}) {
  return (
    <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
      <button
        type="button"
        onClick={onKeep}
        className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 dark:border-slate-700 dark:hover:bg-slate-800"
      >
        Keep as is
      </button>
      <button
        type={onConfirm ? "button" : "submit"}
        data-confirm={confirmName}
        disabled={busy}
        onClick={onConfirm}
        className={`rounded-md px-3 py-1.5 text-sm font-medium shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 ${confirmClassName}`}
      >
        {busy ? "Working…" : confirmLabel}
      </button>
    </div>
  );
}
