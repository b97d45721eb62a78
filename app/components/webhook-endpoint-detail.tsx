"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import type { DeliveryView, EndpointView } from "@/lib/subscriptions/endpoints";
import { Icon } from "./icons";
import { DetailHeader } from "./page-header";
import { RelativeTime } from "./relative-time";
import { Badge } from "./status";
import { ENABLED_LOOK } from "./webhook-endpoints";
import { BUTTON, callApi, ErrorText, EventPicker, PRIMARY, SecretOnce } from "./webhook-ui";

const DELIVERY_LOOK = {
  queued: { label: "Queued", icon: "clock", tone: "info" },
  running: { label: "Sending", icon: "spinner", tone: "progress", spin: true },
  succeeded: { label: "Delivered", icon: "check", tone: "success" },
  failed: { label: "Failed", icon: "xCircle", tone: "danger" },
} as const;

/** Deliveries are refreshed this often while any is queued or being sent. */
const REFRESH_MS = 2000;

/** One endpoint: its settings and actions, and its deliveries with a Resend button each. */
export function WebhookEndpointDetail({
  initial,
  initialDeliveries,
}: {
  initial: EndpointView;
  initialDeliveries: DeliveryView[];
}) {
  const router = useRouter();
  const [endpoint, setEndpoint] = useState(initial);
  const [deliveries, setDeliveries] = useState(initialDeliveries);
  const [events, setEvents] = useState<string[]>(initial.events ?? []);
  const [secret, setSecret] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const base = `/api/v1/webhook-endpoints/${endpoint.id}`;

  const reload = useCallback(async () => {
    const [fresh, list] = await Promise.all([
      callApi<EndpointView>(base),
      callApi<{ items: DeliveryView[] }>(`${base}/deliveries`),
    ]);
    setEndpoint(fresh);
    setDeliveries(list.items);
  }, [base]);

  const active = deliveries.some((d) => d.status === "queued" || d.status === "running");
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void reload().catch(() => {}), REFRESH_MS);
    return () => clearInterval(timer);
  }, [active, reload]);

  const act = async (name: string, work: () => Promise<void>) => {
    setBusy(name);
    setError(null);
    try {
      await work();
      await reload();
    } catch (err) {
      setError((err as Error).message);
    }
    setBusy(null);
  };

  const savedEvents = endpoint.events ?? [];
  const eventsChanged =
    savedEvents.length !== events.length || savedEvents.some((t) => !events.includes(t));

  return (
    <div className="space-y-8" data-endpoint-id={endpoint.id}>
      <DetailHeader
        back={{ href: "/webhooks", label: "Webhooks" }}
        title={endpoint.url}
        breakAll
        id={endpoint.id}
        facts={
          <>
            <Badge look={endpoint.enabled ? ENABLED_LOOK.on : ENABLED_LOOK.off} />
            {endpoint.description && <span>{endpoint.description}</span>}
            <span>
              Added <RelativeTime iso={endpoint.created_at} />
            </span>
          </>
        }
        notes={
          <>
            {!endpoint.enabled && endpoint.disabled_reason && (
              <p className="mt-2 text-sm text-slate-700 dark:text-slate-200">
                Disabled{endpoint.disabled_at ? " " : ""}
                {endpoint.disabled_at && <RelativeTime iso={endpoint.disabled_at} />}:{" "}
                {endpoint.disabled_reason}. Undelivered events wait until it is enabled again.
              </p>
            )}
            {endpoint.previous_secret_expires_at && (
              <p className="mt-2 text-xs text-slate-600 dark:text-slate-300">
                Secret rotated: the previous one also signs until{" "}
                <RelativeTime iso={endpoint.previous_secret_expires_at} />.
              </p>
            )}
          </>
        }
        actions={
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              data-send-test
              className={PRIMARY}
              disabled={busy !== null || !endpoint.enabled}
              title={endpoint.enabled ? undefined : "Enable the endpoint first"}
              onClick={() => act("test", () => callApi(`${base}/test`, "POST"))}
            >
              <Icon name="play" /> {busy === "test" ? "Sending…" : "Send test event"}
            </button>
            <button
              type="button"
              data-toggle-enabled
              className={BUTTON}
              disabled={busy !== null}
              onClick={() =>
                act("toggle", () => callApi(base, "PATCH", { enabled: !endpoint.enabled }))
              }
            >
              <Icon name={endpoint.enabled ? "pause" : "play"} />
              {endpoint.enabled ? "Disable" : "Enable"}
            </button>
            <button
              type="button"
              data-rotate
              className={BUTTON}
              disabled={busy !== null}
              onClick={() => {
                if (
                  !window.confirm("Rotate the secret? The current one keeps signing for 24 hours.")
                )
                  return;
                void act("rotate", async () => {
                  const rotated = await callApi<{ secret: string }>(
                    `${base}/rotate-secret`,
                    "POST",
                  );
                  setSecret(rotated.secret);
                });
              }}
            >
              <Icon name="retry" /> Rotate secret
            </button>
            <button
              type="button"
              data-delete
              className={BUTTON}
              disabled={busy !== null}
              onClick={async () => {
                if (!window.confirm("Delete this endpoint and its delivery log?")) return;
                setBusy("delete");
                try {
                  await callApi(base, "DELETE");
                  router.push("/webhooks");
                  router.refresh();
                } catch (err) {
                  setError((err as Error).message);
                  setBusy(null);
                }
              }}
            >
              <Icon name="trash" /> Delete
            </button>
          </div>
        }
      >
        <div className="mt-3 space-y-3">
          <ErrorText error={error} />
          {secret && <SecretOnce secret={secret} onDone={() => setSecret(null)} />}
        </div>
      </DetailHeader>

      <section
        aria-label="Subscribed events"
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
      >
        <EventPicker name="events" value={events} onChange={setEvents} />
        <button
          type="button"
          data-save-events
          className={BUTTON}
          disabled={busy !== null || !eventsChanged}
          onClick={() =>
            act("events", () => callApi(base, "PATCH", { events: events.length ? events : null }))
          }
        >
          <Icon name="check" /> Save events
        </button>
      </section>

      <section aria-labelledby="deliveries-heading" className="space-y-3">
        <div className="flex items-center justify-between gap-2">
          <h2 id="deliveries-heading" className="text-lg font-semibold">
            Deliveries
          </h2>
          <button
            type="button"
            className={BUTTON}
            onClick={() => act("reload", async () => {})}
            disabled={busy !== null}
          >
            <Icon name="retry" /> Refresh
          </button>
        </div>
        {deliveries.length === 0 ? (
          <p className="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500 dark:border-slate-700 dark:text-slate-400">
            Nothing sent yet. Send a test event, or start a project.
          </p>
        ) : (
          <ul
            data-deliveries
            className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white text-sm shadow-sm dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900"
          >
            {deliveries.map((d) => (
              <li
                key={d.id}
                data-delivery-status={d.status}
                className="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2"
              >
                <Badge look={DELIVERY_LOOK[d.status as keyof typeof DELIVERY_LOOK]} />
                <span className="font-mono text-xs">{d.type}</span>
                {d.project_id && (
                  <Link
                    href={`/projects/${d.project_id}`}
                    className="font-mono text-xs underline-offset-4 hover:underline"
                  >
                    {d.project_id}
                  </Link>
                )}
                <span className="ml-auto flex flex-wrap items-center gap-3 whitespace-nowrap text-xs text-slate-500 dark:text-slate-400">
                  <span>
                    {d.attempt} attempt{d.attempt === 1 ? "" : "s"}
                  </span>
                  {d.response_status !== null && (
                    <span className="font-mono" data-response-status>
                      HTTP {d.response_status}
                    </span>
                  )}
                  {d.duration_ms !== null && <span>{d.duration_ms} ms</span>}
                  <RelativeTime iso={d.last_attempt_at ?? d.created_at} />
                  <button
                    type="button"
                    data-resend
                    className={BUTTON}
                    disabled={busy !== null || !endpoint.enabled}
                    onClick={() =>
                      act(`resend-${d.id}`, () =>
                        callApi(`${base}/deliveries/${d.id}/resend`, "POST"),
                      )
                    }
                  >
                    Resend
                  </button>
                </span>
                <p className="basis-full font-mono text-xs text-slate-500 dark:text-slate-400">
                  {d.event_id}
                  {d.resend_of !== null && ` · resend of #${d.resend_of}`}
                  {d.next_attempt_at && d.attempt > 0 && (
                    <>
                      {" · next attempt "}
                      <RelativeTime iso={d.next_attempt_at} />
                    </>
                  )}
                </p>
                {d.error && (
                  <p className="basis-full text-xs text-red-700 dark:text-red-400">{d.error}</p>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
