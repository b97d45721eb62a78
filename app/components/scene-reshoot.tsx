"use client";

import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import type { ProjectStatus } from "@/lib/db/schema";
import type { Continuity } from "@/lib/pipeline/statuses";
import { PROJECT_LIMITS, regenerateInput } from "@/lib/projects/input";
import type { ProjectView, SceneView } from "@/lib/projects/serialize";
import { ChoiceCard } from "./choice-card";
import { DialogButtons } from "./dialog-buttons";
import { FieldError } from "./field-error";
import { Icon } from "./icons";

type Scope = "scene" | "following";
type ApiIssue = { path: string; message: string };

/** Which statuses a re-shoot accepts — the same rule the API enforces (409 otherwise). */
export const RESHOOT_ALLOWED: readonly ProjectStatus[] = ["completed", "failed"];

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const INPUT =
  "block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm focus:outline-2 focus:outline-offset-0 focus:outline-sky-500 dark:bg-slate-950";

/**
 * A scene's "Re-shoot": a dialog with its prompt and duration (prefilled, editable) and which
 * scenes go again; posts to `…/scenes/{number}/regenerate` (CONTRACT §7).
 */
export function SceneReshoot({
  projectId,
  continuity,
  projectStatus,
  scene,
  lastScene,
  onChanged,
}: {
  projectId: string;
  continuity: Continuity;
  projectStatus: ProjectStatus;
  scene: Pick<SceneView, "number" | "prompt" | "duration">;
  /** The project's last scene number: after it "following" and "scene" are the same. */
  lastScene: number;
  onChanged: (project: ProjectView) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const ids = useId();
  const [open, setOpen] = useState(false);
  const [prompt, setPrompt] = useState(scene.prompt);
  const [duration, setDuration] = useState(String(scene.duration));
  const defaultScope: Scope = continuity === "chain" ? "following" : "scene";
  const [scope, setScope] = useState<Scope>(defaultScope);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const allowed = RESHOOT_ALLOWED.includes(projectStatus);
  const hasLater = scene.number < lastScene;

  const ask = () => {
    // Each opening starts from the scene as it is now.
    setPrompt(scene.prompt);
    setDuration(String(scene.duration));
    setScope(defaultScope);
    setIssues({});
    setError(null);
    setOpen(true);
  };

  // Opened once its content is rendered: the dialog then focuses its first control, the prompt.
  useEffect(() => {
    if (open && !dialog.current?.open) dialog.current?.showModal();
  }, [open]);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    const input = {
      prompt,
      duration: duration.trim() === "" ? undefined : Number(duration),
      scope: hasLater ? scope : "scene",
    };
    const parsed = regenerateInput.safeParse(input);
    if (!parsed.success) {
      const found: Record<string, string> = {};
      for (const i of parsed.error.issues) found[i.path.join(".")] ??= sentence(i.message);
      setIssues(found);
      const first = ["prompt", "duration"].find((p) => found[p]);
      if (first) document.getElementById(`${ids}-${first}`)?.focus();
      return;
    }
    setIssues({});
    setBusy(true);
    try {
      const response = await fetch(
        `/api/v1/projects/${projectId}/scenes/${scene.number}/regenerate`,
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(parsed.data),
        },
      );
      const body = (await response.json().catch(() => ({}))) as ProjectView & {
        error?: string;
        issues?: ApiIssue[];
      };
      if (response.ok) {
        onChanged(body);
        dialog.current?.close();
      } else if (response.status === 400 && body.issues?.length) {
        const found: Record<string, string> = {};
        for (const i of body.issues) found[i.path] ??= sentence(i.message);
        setIssues(found);
        setError(
          body.issues
            .filter((i) => i.path !== "prompt" && i.path !== "duration")
            .map((i) => sentence(i.message))
            .join(" ") || null,
        );
      } else {
        setError(
          body.error
            ? `Could not re-shoot: ${body.error}.`
            : `The server answered ${response.status}`,
        );
      }
    } catch {
      setError("Could not reach the server. Try again.");
    }
    setBusy(false);
  }

  const described = (field: "prompt" | "duration", hint?: boolean) =>
    [hint && `${ids}-${field}-hint`, issues[field] && `${ids}-${field}-error`]
      .filter(Boolean)
      .join(" ") || undefined;

  return (
    <>
      <button
        type="button"
        data-reshoot={scene.number}
        disabled={!allowed}
        title={allowed ? undefined : "Only a completed or failed project can be re-shot."}
        onClick={ask}
        className="inline-flex items-center gap-1.5 self-start rounded-md border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium shadow-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed disabled:opacity-40 disabled:shadow-none dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
      >
        <Icon name="retry" /> Re-shoot<span className="sr-only"> scene {scene.number}</span>
      </button>
      <dialog
        ref={dialog}
        aria-labelledby={`${ids}-title`}
        onClose={() => setOpen(false)}
        data-reshoot-dialog={scene.number}
        className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white p-5 text-slate-900 shadow-xl backdrop:bg-slate-900/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
      >
        {open && (
          <form onSubmit={onSubmit} noValidate className="space-y-4">
            <h2 id={`${ids}-title`} className="text-lg font-semibold">
              Re-shoot scene {scene.number}
            </h2>
            <div className="space-y-1">
              <label htmlFor={`${ids}-prompt`} className="block text-sm font-medium">
                Prompt
              </label>
              <textarea
                id={`${ids}-prompt`}
                name="prompt"
                rows={4}
                value={prompt}
                onChange={(e) => setPrompt(e.target.value)}
                aria-invalid={Boolean(issues.prompt)}
                aria-describedby={described("prompt")}
                className={`${INPUT} ${issues.prompt ? "border-red-500" : "border-slate-300 dark:border-slate-700"}`}
              />
              {issues.prompt && <FieldError id={`${ids}-prompt-error`}>{issues.prompt}</FieldError>}
            </div>
            <div className="space-y-1">
              <label htmlFor={`${ids}-duration`} className="block text-sm font-medium">
                Seconds
              </label>
              <input
                id={`${ids}-duration`}
                name="duration"
                type="number"
                inputMode="decimal"
                min={PROJECT_LIMITS.durationMin}
                max={PROJECT_LIMITS.durationMax}
                step="any"
                value={duration}
                onChange={(e) => setDuration(e.target.value)}
                aria-invalid={Boolean(issues.duration)}
                aria-describedby={described("duration", true)}
                className={`${INPUT} max-w-32 ${issues.duration ? "border-red-500" : "border-slate-300 dark:border-slate-700"}`}
              />
              <p id={`${ids}-duration-hint`} className="text-xs text-slate-500 dark:text-slate-400">
                {PROJECT_LIMITS.durationMin} to {PROJECT_LIMITS.durationMax}, decimals allowed
              </p>
              {issues.duration && (
                <FieldError id={`${ids}-duration-error`}>{issues.duration}</FieldError>
              )}
            </div>
            {hasLater && (
              <fieldset className="space-y-2">
                <legend className="mb-1 text-sm font-medium">What goes again</legend>
                <ChoiceCard
                  name={`${ids}-scope`}
                  value="following"
                  checked={scope === "following"}
                  onChange={setScope}
                  label={`Scene ${scene.number} and every later scene`}
                  detail={
                    continuity === "chain"
                      ? "Each later scene follows from the new last frames."
                      : "Each later scene is generated again too."
                  }
                />
                <ChoiceCard
                  name={`${ids}-scope`}
                  value="scene"
                  checked={scope === "scene"}
                  onChange={setScope}
                  label={`Only scene ${scene.number}`}
                  detail="Later scenes keep their takes."
                />
              </fieldset>
            )}
            {hasLater && continuity === "chain" && scope === "scene" && (
              <p
                data-continuity-warning
                className="flex items-start gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
              >
                <Icon name="alert" className="mt-0.5 size-4" />
                <span>
                  Later scenes keep their takes; the cut between scene {scene.number} and scene{" "}
                  {scene.number + 1} may not match.
                </span>
              </p>
            )}
            <p className="text-sm text-slate-600 dark:text-slate-300">
              The current take is kept: you can go back to it afterwards. The final video is
              stitched again.
            </p>
            {error && (
              <p
                role="alert"
                data-reshoot-error
                className="flex items-start gap-1 text-sm text-red-700 dark:text-red-400"
              >
                <Icon name="alert" className="mt-0.5 size-4" /> <span>{error}</span>
              </p>
            )}
            <DialogButtons
              onKeep={() => dialog.current?.close()}
              busy={busy}
              confirmLabel="Re-shoot"
              confirmName="reshoot"
              confirmClassName="bg-sky-700 text-white hover:bg-sky-600"
            />
          </form>
        )}
      </dialog>
    </>
  );
}
