"use client";

import Link from "next/link";
import { useState } from "react";
import type { EndpointView } from "@/lib/subscriptions/endpoints";
import { Icon } from "./icons";
import { RelativeTime } from "./relative-time";
import { Badge } from "./status";
import { callApi, ErrorText, EventPicker, INPUT, PRIMARY, SecretOnce } from "./webhook-ui";

export const ENABLED_LOOK = {
  on: { label: "Enabled", icon: "checkCircle", tone: "success" },
  off: { label: "Disabled", icon: "slashCircle", tone: "neutral" },
} as const;

/** The endpoints list and the form that registers one (its secret shown once). */
export function WebhookEndpoints({ initial }: { initial: EndpointView[] }) {
  const [items, setItems] = useState(initial);
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await callApi<EndpointView & { secret: string }>(
        "/api/v1/webhook-endpoints",
        "POST",
        { url, description: description || undefined, events: events.length ? events : undefined },
      );
      const { secret: shown, ...view } = created;
      setItems((list) => [view, ...list]);
      setSecret(shown);
      setUrl("");
      setDescription("");
      setEvents([]);
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(false);
  };

  return (
    <div className="space-y-6">
      <form
        onSubmit={create}
        aria-labelledby="new-endpoint-heading"
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
      >
        <h2 id="new-endpoint-heading" className="text-lg font-semibold">
          Add an endpoint
        </h2>
        <div className="grid gap-3 sm:grid-cols-2">
          <label className="text-sm">
            <span className="mb-1 block font-medium">URL</span>
            <input
              name="url"
              type="url"
              required
              placeholder="https://example.com/hooks/framechain"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              className={INPUT}
            />
          </label>
          <label className="text-sm">
            <span className="mb-1 block font-medium">Description</span>
            <input
              name="description"
              value={description}
              maxLength={500}
              onChange={(e) => setDescription(e.target.value)}
              className={INPUT}
            />
          </label>
        </div>
        <EventPicker name="events" value={events} onChange={setEvents} />
        <div className="flex items-center gap-3">
          <button type="submit" data-create-endpoint disabled={busy} className={PRIMARY}>
            <Icon name="plus" /> {busy ? "Adding…" : "Add endpoint"}
          </button>
          <ErrorText error={error} />
        </div>
        {secret && <SecretOnce secret={secret} onDone={() => setSecret(null)} />}
      </form>

      {items.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500 dark:border-slate-700 dark:text-slate-400">
          No endpoints yet. Add one to receive project events.
        </p>
      ) : (
        <ul
          data-endpoints
          className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
        >
          {items.map((endpoint) => (
            <li
              key={endpoint.id}
              className="flex flex-col gap-1 p-3 sm:flex-row sm:items-center sm:gap-4"
            >
              <div className="min-w-0 flex-1">
                <Link
                  href={`/webhooks/${endpoint.id}`}
                  data-endpoint-link
                  className="break-all font-medium underline-offset-4 hover:underline"
                >
                  {endpoint.url}
                </Link>
                <p className="text-xs text-slate-500 dark:text-slate-400">
                  {endpoint.description ? `${endpoint.description} · ` : ""}
                  {endpoint.events ? endpoint.events.join(", ") : "all events"}
                </p>
              </div>
              <div className="flex items-center gap-3 text-xs text-slate-500 dark:text-slate-400">
                <Badge look={endpoint.enabled ? ENABLED_LOOK.on : ENABLED_LOOK.off} />
                <span>
                  Added <RelativeTime iso={endpoint.created_at} />
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
