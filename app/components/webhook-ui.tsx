"use client";

import { useState } from "react";
import { PROJECT_EVENT_TYPES } from "@/lib/subscriptions/vocabulary";
import { Icon } from "./icons";

/** Shared pieces of the Webhooks pages (client side). */

export const BUTTON =
  "inline-flex items-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium shadow-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:cursor-not-allowed disabled:opacity-40 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800";
export const PRIMARY =
  "inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-600 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-500 disabled:opacity-60";
export const INPUT =
  "h-9 w-full rounded-md border border-slate-300 bg-white px-2 text-sm dark:border-slate-700 dark:bg-slate-900";

/** Calls the JSON API; resolves with the body, or throws an Error carrying the server's words. */
export async function callApi<T>(path: string, method = "GET", body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("Could not reach the server. Try again.");
  }
  if (response.status === 204) return undefined as T;
  const json = (await response.json().catch(() => ({}))) as T & {
    error?: string;
    issues?: { path: string; message: string }[];
  };
  if (!response.ok) {
    const issues = json.issues?.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    throw new Error(
      [json.error ?? `The server answered ${response.status}`, ...(issues ?? [])].join(" — "),
    );
  }
  return json;
}

/** A secret shown once, with a copy button and the warning that it will not be shown again. */
export function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div
      role="status"
      data-secret-once
      className="space-y-2 rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
    >
      <p className="font-medium">Signing secret — copy it now: it is not shown again.</p>
      <div className="flex flex-wrap items-center gap-2">
        <code
          data-secret
          className="break-all rounded bg-white px-2 py-1 font-mono text-xs dark:bg-slate-900"
        >
          {secret}
        </code>
        <button
          type="button"
          className={BUTTON}
          onClick={async () => {
            await navigator.clipboard?.writeText(secret).catch(() => {});
            setCopied(true);
          }}
        >
          <Icon name="copy" /> {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className={BUTTON} onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p className="text-xs">
        Verify each request with a Standard Webhooks library, e.g.{" "}
        <code>new Webhook(secret).verify(body, headers)</code> from <code>standardwebhooks</code>.
      </p>
    </div>
  );
}

export function ErrorText({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p role="alert" className="flex items-start gap-1 text-sm text-red-700 dark:text-red-400">
      <Icon name="alert" className="mt-0.5 size-4 shrink-0" /> {error}
    </p>
  );
}

/** Checkboxes for the event types; none checked = every event. */
export function EventPicker({
  value,
  onChange,
  name,
}: {
  value: string[];
  onChange: (next: string[]) => void;
  name: string;
}) {
  return (
    <fieldset className="space-y-1">
      <legend className="mb-1 text-sm font-medium">
        Events{" "}
        <span className="font-normal text-slate-500 dark:text-slate-400">(none checked: all)</span>
      </legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {PROJECT_EVENT_TYPES.map((type) => (
          <label key={type} className="flex items-center gap-1.5 font-mono text-xs">
            <input
              type="checkbox"
              name={name}
              value={type}
              checked={value.includes(type)}
              onChange={(e) =>
                onChange(e.target.checked ? [...value, type] : value.filter((t) => t !== type))
              }
            />
            {type}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
