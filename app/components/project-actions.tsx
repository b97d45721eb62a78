"use client";

import { useEffect, useRef, useState } from "react";
import type { ProjectStatus } from "@/lib/db/schema";
import type { ProjectView } from "@/lib/projects/serialize";
import { DialogButtons } from "./dialog-buttons";
import { Icon, type IconName } from "./icons";

type Action = "start" | "cancel" | "retry";

/** Which statuses each action accepts — the same rule the API enforces (409 otherwise). */
export const ACTION_ALLOWED: Record<Action, readonly ProjectStatus[]> = {
  start: ["draft"],
  cancel: ["draft", "generating", "stitching"],
  retry: ["failed"],
};

const ACTIONS: Record<
  Action,
  {
    label: string;
    icon: IconName;
    question: string;
    detail: string;
    confirm: string;
    style: string;
    unavailable: string;
  }
> = {
  start: {
    label: "Start",
    icon: "play",
    question: "Start generating this project?",
    detail: "Scene 1 is sent to the video service now; the others follow one after another.",
    confirm: "Start",
    style: "bg-sky-700 text-white hover:bg-sky-600",
    unavailable: "Only a draft can be started.",
  },
  cancel: {
    label: "Cancel",
    icon: "stop",
    question: "Cancel this project?",
    detail:
      "Work in progress stops. Callbacks that still arrive are recorded but change nothing. This cannot be undone.",
    confirm: "Cancel project",
    style: "bg-red-700 text-white hover:bg-red-600",
    unavailable: "Only a draft or a running project can be cancelled.",
  },
  retry: {
    label: "Retry",
    icon: "retry",
    question: "Retry from the failed stage?",
    detail: "Finished scenes are kept; the failed stage runs again with fresh attempts.",
    confirm: "Retry",
    style: "bg-sky-700 text-white hover:bg-sky-600",
    unavailable: "Only a failed project can be retried.",
  },
};

/** Start / Cancel / Retry, each behind a confirmation; enabled only when the API would accept it. */
export function ProjectActions({
  project,
  onChanged,
}: {
  project: Pick<ProjectView, "id" | "name" | "status">;
  onChanged: (project: ProjectView) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [pending, setPending] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const ask = (action: Action) => {
    setError(null);
    setPending(action);
  };

  // Opened once its content is rendered: the dialog then focuses its first button, "Keep as is".
  useEffect(() => {
    if (pending && !dialog.current?.open) dialog.current?.showModal();
  }, [pending]);

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      const response = await fetch(`/api/v1/projects/${project.id}/${pending}`, { method: "POST" });
      const body = (await response.json().catch(() => ({}))) as ProjectView & { error?: string };
      if (response.ok) onChanged(body);
      else setError(body.error ?? `The server answered ${response.status}`);
    } catch {
      setError("Could not reach the server. Try again.");
    }
    setBusy(false);
    dialog.current?.close();
  };

  const look = pending ? ACTIONS[pending] : null;

  return (
    <div className="flex flex-col items-start gap-2 sm:items-end">
      <div className="flex flex-wrap gap-2">
        {(Object.keys(ACTIONS) as Action[]).map((action) => {
          const allowed = ACTION_ALLOWED[action].includes(project.status);
          const a = ACTIONS[action];
          return (
            <button
              key={action}
              type="button"
              data-action={action}
              disabled={!allowed || busy}
              title={allowed ? undefined : a.unavailable}
              onClick={() => ask(action)}
              className="inline-flex items-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium shadow-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed disabled:opacity-40 disabled:shadow-none dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
            >
              <Icon name={a.icon} />
              {a.label}
            </button>
          );
        })}
      </div>
      {error && (
        <p role="alert" className="flex items-center gap-1 text-sm text-red-700 dark:text-red-400">
          <Icon name="alert" /> {error}
        </p>
      )}
      <dialog
        ref={dialog}
        aria-labelledby="action-dialog-title"
        aria-describedby="action-dialog-detail"
        onClose={() => setPending(null)}
        className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white p-5 text-slate-900 shadow-xl backdrop:bg-slate-900/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
      >
        {look && (
          <>
            <h2 id="action-dialog-title" className="text-lg font-semibold">
              {look.question}
            </h2>
            <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">“{project.name}”</p>
            <p id="action-dialog-detail" className="mt-3 text-sm">
              {look.detail}
            </p>
            <div className="mt-5">
              <DialogButtons
                onKeep={() => dialog.current?.close()}
                busy={busy}
                confirmLabel={look.confirm}
                confirmName={pending ?? ""}
                confirmClassName={look.style}
                onConfirm={confirm}
              />
            </div>
          </>
        )}
      </dialog>
    </div>
  );
}
