"use client";

import { useRouter } from "next/navigation";
import { type FormEvent, useId, useRef, useState } from "react";
import type { Continuity } from "@/lib/pipeline/statuses";
import { createProjectInput, PROJECT_LIMITS } from "@/lib/projects/input";
import { ChoiceCard } from "./choice-card";
import { FieldError } from "./field-error";
import { Icon } from "./icons";

type SceneDraft = { key: string; prompt: string; duration: string };
/** Field path (as the API reports it, e.g. "scenes.0.prompt") → message. */
type Issues = Record<string, string>;
type ApiIssue = { path: string; message: string };

/**
 * A scene's key is part of its controls' ids, so it must be the same on the server and in
 * the browser: the first scene is always `s1`, later ones count up inside the form.
 */
const newScene = (number: number): SceneDraft => ({
  key: `s${number}`,
  prompt: "",
  duration: String(PROJECT_LIMITS.durationDefault),
});

/** The continuity modes, each with the one line that tells them apart (CONTRACT §7). */
const CONTINUITY_CHOICES: { value: Continuity; label: string; detail: string }[] = [
  {
    value: "chain",
    label: "Chain",
    detail: "Each scene starts from the last frame of the one before: smooth cuts, one at a time.",
  },
  {
    value: "independent",
    label: "Independent",
    detail:
      "Every scene starts from the start image, all generated at once: faster, no continuity.",
  },
];

function toInput(
  name: string,
  startImageUrl: string,
  scenes: SceneDraft[],
  autostart: boolean,
  continuity: Continuity = "chain",
) {
  return {
    name,
    start_image_url: startImageUrl.trim() === "" ? undefined : startImageUrl.trim(),
    scenes: scenes.map((s) => ({
      prompt: s.prompt,
      duration: s.duration.trim() === "" ? undefined : Number(s.duration),
    })),
    autostart,
    continuity,
  };
}

/** The same zod schema the API applies, so the messages match what the server would say. */
function validate(input: ReturnType<typeof toInput>): Issues {
  const parsed = createProjectInput.safeParse(input);
  return parsed.success
    ? {}
    : collect(parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
}

function collect(issues: ApiIssue[]): Issues {
  const out: Issues = {};
  for (const issue of issues) out[issue.path] ??= sentence(issue.message);
  return out;
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export function ProjectForm() {
  const router = useRouter();
  const [name, setName] = useState("");
  const [startImageUrl, setStartImageUrl] = useState("");
  const [scenes, setScenes] = useState<SceneDraft[]>(() => [newScene(1)]);
  const [continuity, setContinuity] = useState<Continuity>("chain");
  const lastKey = useRef(1);
  const [issues, setIssues] = useState<Issues>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState<"draft" | "start" | null>(null);
  const ids = useId();

  const fieldId = (path: string) => `${ids}-${path.replaceAll(".", "-")}`;

  // Once the user has tried to submit, messages follow their edits as they type.
  const revalidate = (next: { name?: string; startImageUrl?: string; scenes?: SceneDraft[] }) => {
    if (!submitted) return;
    setIssues(
      validate(
        toInput(
          next.name ?? name,
          next.startImageUrl ?? startImageUrl,
          next.scenes ?? scenes,
          false,
        ),
      ),
    );
  };

  const updateScenes = (next: SceneDraft[]) => {
    setScenes(next);
    revalidate({ scenes: next });
  };

  const focusLater = (id: string) =>
    requestAnimationFrame(() => document.getElementById(id)?.focus());

  const focusFirstIssue = (found: Issues) => {
    const order = [
      "name",
      "start_image_url",
      ...scenes.flatMap((_, i) => [`scenes.${i}.prompt`, `scenes.${i}.duration`]),
      "scenes",
    ];
    const first = order.find((path) => found[path]);
    if (first) focusLater(first === "scenes" ? `${ids}-add-scene` : fieldId(first));
  };

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const autostart = submitter?.value === "start";
    setSubmitted(true);
    setFormError(null);
    const input = toInput(name, startImageUrl, scenes, autostart, continuity);
    const found = validate(input);
    setIssues(found);
    if (Object.keys(found).length) {
      focusFirstIssue(found);
      return;
    }
    setBusy(autostart ? "start" : "draft");
    try {
      const response = await fetch("/api/v1/projects", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(input),
      });
      const body = (await response.json().catch(() => ({}))) as {
        id?: string;
        error?: string;
        issues?: ApiIssue[];
      };
      if (response.status === 201 && body.id) {
        router.push(`/projects/${body.id}`);
        return;
      }
      if (response.status === 400 && body.issues?.length) {
        const serverIssues = collect(body.issues);
        setIssues(serverIssues);
        focusFirstIssue(serverIssues);
      } else {
        setFormError(body.error ?? `The server answered ${response.status}`);
      }
    } catch {
      setFormError("Could not reach the server. Check your connection and try again.");
    }
    setBusy(null);
  }

  const move = (index: number, by: -1 | 1) => {
    const target = index + by;
    if (target < 0 || target >= scenes.length) return;
    const next = [...scenes];
    const [moved] = next.splice(index, 1);
    next.splice(target, 0, moved!);
    updateScenes(next);
    // Keep the keyboard on the scene that moved; at either end its other arrow is the one left enabled.
    const edge = target === 0 || target === next.length - 1;
    focusLater(
      `${ids}-${moved!.key}-${edge ? (by === -1 ? "down" : "up") : by === -1 ? "up" : "down"}`,
    );
  };

  const remove = (index: number) => {
    const next = scenes.filter((_, i) => i !== index);
    updateScenes(next);
    focusLater(fieldId(`scenes.${Math.min(index, next.length - 1)}.prompt`));
  };

  const add = () => {
    lastKey.current += 1;
    const scene = newScene(lastKey.current);
    updateScenes([...scenes, scene]);
    focusLater(fieldId(`scenes.${scenes.length}.prompt`));
  };

  const issueCount = Object.keys(issues).length;
  const atSceneLimit = scenes.length >= PROJECT_LIMITS.scenesMax;

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-6" aria-describedby={`${ids}-summary`}>
      <div id={`${ids}-summary`} role="alert" className={issueCount || formError ? "" : "sr-only"}>
        {formError ? (
          <ErrorBox>{formError}</ErrorBox>
        ) : issueCount ? (
          <ErrorBox>
            {issueCount === 1
              ? "One field needs attention: see the message next to it."
              : `${issueCount} fields need attention: see the messages next to them.`}
          </ErrorBox>
        ) : null}
      </div>

      <Card>
        <Field id={fieldId("name")} label="Name" error={issues.name}>
          {(props) => (
            <input
              {...props}
              type="text"
              autoComplete="off"
              value={name}
              maxLength={PROJECT_LIMITS.nameMax + 50}
              onChange={(e) => {
                setName(e.target.value);
                revalidate({ name: e.target.value });
              }}
              placeholder="Lighthouse at dawn"
            />
          )}
        </Field>
        <Field
          id={fieldId("start_image_url")}
          label="Start image URL"
          hint={`Optional. ${continuity === "chain" ? "The first scene starts" : "Every scene starts"} from this image (an absolute http(s) URL).`}
          error={issues.start_image_url}
        >
          {(props) => (
            <input
              {...props}
              type="url"
              inputMode="url"
              value={startImageUrl}
              onChange={(e) => {
                setStartImageUrl(e.target.value);
                revalidate({ startImageUrl: e.target.value });
              }}
              placeholder="https://…"
            />
          )}
        </Field>
        <fieldset data-continuity-choice>
          <legend className="mb-2 block text-sm font-medium">Continuity</legend>
          <div className="grid gap-2 sm:grid-cols-2">
            {CONTINUITY_CHOICES.map((choice) => (
              <ChoiceCard
                key={choice.value}
                name={`${ids}-continuity`}
                value={choice.value}
                checked={continuity === choice.value}
                onChange={setContinuity}
                label={choice.label}
                detail={choice.detail}
              />
            ))}
          </div>
          {issues.continuity && (
            <FieldError id={`${ids}-continuity-error`}>{issues.continuity}</FieldError>
          )}
        </fieldset>
      </Card>

      <fieldset className="space-y-3">
        <legend className="mb-2 text-lg font-semibold">Scenes</legend>
        <p className="text-sm text-slate-600 dark:text-slate-300">
          {continuity === "chain"
            ? "Generated in this order; each scene starts from the last frame of the one before it."
            : "Generated all at once, each from the start image, then joined in this order."}
        </p>
        {issues.scenes && <FieldError id={`${ids}-scenes-error`}>{issues.scenes}</FieldError>}
        <ol className="space-y-3">
          {scenes.map((scene, index) => (
            <li key={scene.key} data-scene-form={index + 1}>
              <Card>
                <div className="flex flex-wrap items-center justify-between gap-2">
                  <h3 className="font-medium">Scene {index + 1}</h3>
                  <div className="flex gap-1">
                    <IconButton
                      id={`${ids}-${scene.key}-up`}
                      icon="arrowUp"
                      label={`Move scene ${index + 1} up`}
                      disabled={index === 0}
                      onClick={() => move(index, -1)}
                    />
                    <IconButton
                      id={`${ids}-${scene.key}-down`}
                      icon="arrowDown"
                      label={`Move scene ${index + 1} down`}
                      disabled={index === scenes.length - 1}
                      onClick={() => move(index, 1)}
                    />
                    <IconButton
                      icon="trash"
                      label={`Remove scene ${index + 1}`}
                      disabled={scenes.length === 1}
                      onClick={() => remove(index)}
                    />
                  </div>
                </div>
                <div className="grid gap-4 sm:grid-cols-[minmax(0,1fr)_8rem]">
                  <Field
                    id={fieldId(`scenes.${index}.prompt`)}
                    label="Prompt"
                    error={issues[`scenes.${index}.prompt`]}
                    counter={{ length: scene.prompt.length, max: PROJECT_LIMITS.promptMax }}
                  >
                    {(props) => (
                      <textarea
                        {...props}
                        rows={3}
                        value={scene.prompt}
                        onChange={(e) =>
                          updateScenes(
                            scenes.map((s) =>
                              s.key === scene.key ? { ...s, prompt: e.target.value } : s,
                            ),
                          )
                        }
                        placeholder="What happens in this scene"
                      />
                    )}
                  </Field>
                  <Field
                    id={fieldId(`scenes.${index}.duration`)}
                    label="Seconds"
                    hint={`${PROJECT_LIMITS.durationMin} to ${PROJECT_LIMITS.durationMax}, decimals allowed (2.5)`}
                    error={issues[`scenes.${index}.duration`]}
                  >
                    {(props) => (
                      <input
                        {...props}
                        type="number"
                        inputMode="decimal"
                        min={PROJECT_LIMITS.durationMin}
                        max={PROJECT_LIMITS.durationMax}
                        step="any"
                        value={scene.duration}
                        onChange={(e) =>
                          updateScenes(
                            scenes.map((s) =>
                              s.key === scene.key ? { ...s, duration: e.target.value } : s,
                            ),
                          )
                        }
                      />
                    )}
                  </Field>
                </div>
              </Card>
            </li>
          ))}
        </ol>
        <button
          id={`${ids}-add-scene`}
          type="button"
          onClick={add}
          disabled={atSceneLimit}
          aria-describedby={atSceneLimit ? `${ids}-scene-limit` : undefined}
          className="inline-flex items-center gap-1.5 rounded-md border border-dashed border-slate-400 px-3 py-2 text-sm font-medium hover:bg-white focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-50 dark:border-slate-600 dark:hover:bg-slate-900"
        >
          <Icon name="plus" /> Add scene
        </button>
        {atSceneLimit && (
          <p
            id={`${ids}-scene-limit`}
            data-scene-limit
            className="text-sm text-slate-600 dark:text-slate-300"
          >
            A project can have at most {PROJECT_LIMITS.scenesMax} scenes: remove one to add another.
          </p>
        )}
      </fieldset>

      <div className="flex flex-col-reverse gap-2 border-t border-slate-200 pt-4 sm:flex-row sm:justify-end dark:border-slate-800">
        <button
          type="submit"
          name="intent"
          value="draft"
          disabled={busy !== null}
          className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-medium hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
        >
          {busy === "draft" ? "Creating…" : "Create draft"}
        </button>
        <button
          type="submit"
          name="intent"
          value="start"
          disabled={busy !== null}
          className="inline-flex items-center justify-center gap-1.5 rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-sky-600 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60"
        >
          <Icon name="play" /> {busy === "start" ? "Starting…" : "Create and start"}
        </button>
      </div>
    </form>
  );
}

const INPUT =
  "block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm focus:outline-2 focus:outline-offset-0 focus:outline-sky-500 dark:bg-slate-950";

type ControlProps = {
  id: string;
  name: string;
  "aria-invalid": boolean;
  "aria-describedby"?: string;
  className: string;
};

function Field({
  id,
  label,
  hint,
  error,
  counter,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  /** A live "n / max characters" line under the control, red once past the limit. */
  counter?: { length: number; max: number };
  children: (props: ControlProps) => React.ReactNode;
}) {
  const describedBy =
    [hint && `${id}-hint`, counter && `${id}-count`, error && `${id}-error`]
      .filter(Boolean)
      .join(" ") || undefined;
  const over = counter ? counter.length - counter.max : 0;
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      {children({
        id,
        name: id,
        "aria-invalid": Boolean(error),
        "aria-describedby": describedBy,
        className: `${INPUT} ${error ? "border-red-500 dark:border-red-500" : "border-slate-300 dark:border-slate-700"}`,
      })}
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-slate-500 dark:text-slate-400">
          {hint}
        </p>
      )}
      {counter && (
        <p
          id={`${id}-count`}
          data-char-count={counter.length}
          className={`text-xs tabular-nums ${over > 0 ? "font-medium text-red-700 dark:text-red-400" : "text-slate-500 dark:text-slate-400"}`}
        >
          {counter.length} / {counter.max} characters
          {over > 0 && ` (${over} too many)`}
        </p>
      )}
      {error && <FieldError id={`${id}-error`}>{error}</FieldError>}
    </div>
  );
}

function ErrorBox({ children }: { children: React.ReactNode }) {
  return (
    <div className="flex items-start gap-2 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      <Icon name="alert" className="mt-0.5 size-4" />
      <div>{children}</div>
    </div>
  );
}

function Card({ children }: { children: React.ReactNode }) {
  return (
    <div className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      {children}
    </div>
  );
}

function IconButton({
  id,
  icon,
  label,
  disabled,
  onClick,
}: {
  id?: string;
  icon: "arrowUp" | "arrowDown" | "trash";
  label: string;
  disabled: boolean;
  onClick: () => void;
}) {
  return (
    <button
      id={id}
      type="button"
      aria-label={label}
      title={label}
      disabled={disabled}
      onClick={onClick}
      className="rounded-md p-2 text-slate-600 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-sky-500 disabled:opacity-30 dark:text-slate-300 dark:hover:bg-slate-800"
    >
      <Icon name={icon} />
    </button>
  );
}
