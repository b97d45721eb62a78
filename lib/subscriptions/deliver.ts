import "server-only";
import { getSql } from "@/lib/db/client";
import { env } from "@/lib/env";
import { recordError } from "@/lib/observability/error-log";
import { log } from "@/lib/observability/log";
import { metrics } from "@/lib/observability/metrics";
import { PROJECT_CHANNEL } from "@/lib/pipeline/store";
import { postWebhook } from "./http";
import { signedHeaders } from "./signing";
import { checkLiteral, guardedLookup, TargetRefused, targetPolicy } from "./targets";
import type { EventType } from "./vocabulary";

/**
 * Delivery of project events to users' endpoints (CONTRACT §6): claim due deliveries like
 * jobs (SKIP LOCKED, leases), sign with the standardwebhooks library, POST, record the
 * outcome and the retry. The loop that drives this is lib/jobs/deliveries.ts.
 */

/** Deliveries in flight per endpoint, across this process's loop: a slow one never takes the others' turn. */
export const PER_ENDPOINT = 4;

/** A running delivery whose process died is claimed again after this (same webhook-id). */
const leaseSeconds = () => (env.SUBSCRIPTION_TIMEOUT_MS + 30_000) / 1000;

export type ClaimedDelivery = {
  id: number;
  eventId: string;
  eventType: EventType;
  endpointId: string;
  projectId: string | null;
  attempt: number;
  url: string;
  secrets: string[];
  /** Null when the event is gone (its project was deleted): nothing to send. */
  body: string | null;
};

type ClaimRow = {
  id: number | string;
  event_id: string;
  event_type: EventType;
  endpoint_id: string;
  project_id: string | null;
  data: Record<string, unknown> | null;
  attempt: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_valid: boolean | null;
  sequence: number | null;
  event_data: Record<string, unknown> | null;
  /** ISO 8601 in UTC, formatted by the database (the drivers disagree on timestamp values). */
  event_timestamp: string | null;
};

/**
 * One statement. For each enabled endpoint, its oldest due deliveries (queued and due, or
 * running with an expired lease) locked with SKIP LOCKED, at most PER_ENDPOINT minus those
 * already in flight to it; then the oldest of those overall, up to `limit`. Returns what a
 * send needs: the endpoint's URL and secrets as they are now, and the event.
 */
const CLAIM = `with picked as (
  select d.id, d.endpoint_id, d.next_attempt_at,
    (select count(*) from webhook_deliveries r where r.endpoint_id = e.id and r.status = 'running'
      and r.lease_expires_at >= now())::int as busy
  from webhook_endpoints e
  cross join lateral (
    select q.id, q.endpoint_id, q.next_attempt_at from webhook_deliveries q
    where q.endpoint_id = e.id
      and ((q.status = 'queued' and q.next_attempt_at <= now())
        or (q.status = 'running' and q.lease_expires_at < now()))
    order by q.next_attempt_at, q.id
    limit $1::int
    for update of q skip locked) d
  where e.enabled
), chosen as (
  select id from (
    select id, busy, next_attempt_at,
      row_number() over (partition by endpoint_id order by next_attempt_at, id) as rn
    from picked) ranked
  where rn + busy <= $1::int
  order by next_attempt_at, id
  limit $2::int
), claimed as (
  update webhook_deliveries d set status = 'running', attempt = d.attempt + 1,
    lease_expires_at = now() + make_interval(secs => $3::float8), last_attempt_at = now(),
    updated_at = now()
  from chosen where d.id = chosen.id
  returning d.id, d.event_id, d.event_type, d.endpoint_id, d.project_id, d.data, d.attempt
)
select c.*, e.url, e.secret, e.previous_secret,
  e.previous_secret is not null and e.previous_secret_expires_at > now() as previous_valid,
  pe.sequence, pe.data as event_data,
  to_char(pe.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as event_timestamp
from claimed c
join webhook_endpoints e on e.id = c.endpoint_id
left join project_events pe on pe.id = c.event_id
order by c.id`;

export async function claimDueDeliveries(limit: number): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  const run = await getSql();
  const rows = await run.query<ClaimRow>(CLAIM, [PER_ENDPOINT, limit, leaseSeconds()]);
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: r.event_id,
    eventType: r.event_type,
    endpointId: r.endpoint_id,
    projectId: r.project_id,
    attempt: r.attempt,
    url: r.url,
    secrets: r.previous_valid && r.previous_secret ? [r.secret, r.previous_secret] : [r.secret],
    body: envelope(r),
  }));
}

/**
 * The body: `{"type","timestamp","data":{…,"sequence"}}`. A project event's comes from
 * project_events (its creation time, its per-project sequence), so every attempt and
 * resend sends the same bytes; a test ping stores its whole envelope on the delivery.
 */
function envelope(r: ClaimRow): string | null {
  if (r.event_data === null) return r.data ? JSON.stringify(r.data) : null;
  return JSON.stringify({
    type: r.event_type,
    timestamp: r.event_timestamp,
    data: { ...r.event_data, sequence: r.sequence },
  });
}

/** One attempt of one claimed delivery, then its outcome recorded (never throws for the endpoint's sake). */
export async function deliverOne(
  delivery: ClaimedDelivery,
): Promise<"succeeded" | "retry" | "failed"> {
  if (delivery.body === null) {
    // Not the endpoint's fault: no failing streak, no retry.
    const run = await getSql();
    await run.query(
      `update webhook_deliveries set status = 'failed', error = $2, lease_expires_at = null,
        updated_at = now() where id = $1 and status = 'running'`,
      [delivery.id, "the event no longer exists (its project was deleted)"],
    );
    return "failed";
  }
  const body = delivery.body;
  const policy = targetPolicy();
  let answer: Awaited<ReturnType<typeof postWebhook>>;
  let refused = false;
  try {
    checkLiteral(delivery.url, policy);
    answer = await postWebhook(
      delivery.url,
      signedHeaders(delivery.eventId, body, delivery.secrets),
      body,
      { timeoutMs: env.SUBSCRIPTION_TIMEOUT_MS, lookup: guardedLookup(policy) },
    );
    refused = "error" in answer && /loopback, private or link-local/.test(answer.error);
  } catch (error) {
    if (!(error instanceof TargetRefused)) throw error;
    refused = true;
    answer = { ok: false, status: null, body: null, ms: 0, error: error.message };
  }
  const ms = Math.round(answer.ms);
  if (answer.ok) {
    await recordSuccess(delivery, answer.status, ms, answer.body);
    metrics.delivery(delivery.endpointId, "succeeded", answer.ms / 1000);
    log("info", "subscription.delivered", {
      delivery_id: delivery.id,
      endpoint_id: delivery.endpointId,
      event_id: delivery.eventId,
      type: delivery.eventType,
      status: answer.status,
      attempt: delivery.attempt,
      ms,
    });
    return "succeeded";
  }
  const error =
    "error" in answer
      ? refused
        ? `refused: ${answer.error}`
        : answer.error
      : `endpoint answered ${answer.status}`;
  const schedule = env.SUBSCRIPTION_RETRY_SCHEDULE;
  // A refused target is final: sending again would knock on the same door.
  const delayMs = refused ? undefined : schedule[delivery.attempt - 1];
  const outcome = await recordFailure(delivery, {
    status: answer.status,
    ms,
    body: answer.body,
    error,
    retryInMs: delayMs,
  });
  metrics.delivery(
    delivery.endpointId,
    delayMs === undefined ? "failed" : "retry",
    answer.ms / 1000,
  );
  log("warn", "subscription.attempt_failed", {
    delivery_id: delivery.id,
    endpoint_id: delivery.endpointId,
    event_id: delivery.eventId,
    attempt: delivery.attempt,
    status: answer.status,
    error,
    retry_in_ms: delayMs ?? null,
  });
  if (outcome.disabledNow) {
    await recordError({
      type: "service",
      severity: "error",
      message: `Webhook endpoint ${delivery.endpointId} (${delivery.url}) was disabled: every delivery failed for ${env.SUBSCRIPTION_DISABLE_AFTER_HOURS} h (last: ${error})`,
      projectId: null,
      context: {
        endpoint_id: delivery.endpointId,
        delivery_id: delivery.id,
        event_id: delivery.eventId,
      },
    });
  }
  if (delayMs !== undefined) return "retry";
  return "failed";
}

/**
 * Also stamps the endpoint: a success ends a failing streak. Both outcomes wake the project's
 * live page (its emitted events show how their deliveries stand); a test ping wakes nobody.
 */
const RECORD_SUCCESS = `with d as (
  update webhook_deliveries set status = 'succeeded', response_status = $2, duration_ms = $3,
    response_body = $4, error = null, lease_expires_at = null, updated_at = now()
  where id = $1 and status = 'running'
  returning endpoint_id, pg_notify('${PROJECT_CHANNEL}', coalesce(project_id, '')))
update webhook_endpoints set failing_since = null, last_success_at = now()
where id in (select endpoint_id from d)`;

async function recordSuccess(d: ClaimedDelivery, status: number, ms: number, body: string) {
  const run = await getSql();
  await run.query(RECORD_SUCCESS, [d.id, status, ms, body]);
}

/**
 * One statement: the attempt's outcome (queued again for `retryInMs`, else failed), and the
 * endpoint's failing streak — started at its first failure since a success; when it began
 * SUBSCRIPTION_DISABLE_AFTER_HOURS ago or more, the endpoint is disabled (disabled_now).
 */
const RECORD_FAILURE = `with d as (
  update webhook_deliveries set
    status = case when $5::float8 is null then 'failed' else 'queued' end,
    next_attempt_at = case when $5::float8 is null then next_attempt_at
      else now() + make_interval(secs => $5::float8) end,
    response_status = $2, duration_ms = $3, response_body = $4, error = $6,
    lease_expires_at = null, updated_at = now()
  where id = $1 and status = 'running'
  returning endpoint_id, pg_notify('${PROJECT_CHANNEL}', coalesce(project_id, '')))
update webhook_endpoints w set
  failing_since = coalesce(w.failing_since, now()),
  enabled = w.enabled and not coalesce(w.failing_since <= now() - make_interval(secs => $7::float8), false),
  disabled_at = case when w.enabled and w.failing_since <= now() - make_interval(secs => $7::float8)
    then now() else w.disabled_at end,
  disabled_reason = case when w.enabled and w.failing_since <= now() - make_interval(secs => $7::float8)
    then $8 else w.disabled_reason end,
  updated_at = now()
where w.id in (select endpoint_id from d)
returning (not w.enabled and w.disabled_at = now()) as disabled_now`;

async function recordFailure(
  d: ClaimedDelivery,
  a: { status: number | null; ms: number; body: string | null; error: string; retryInMs?: number },
): Promise<{ disabledNow: boolean }> {
  const run = await getSql();
  const hours = env.SUBSCRIPTION_DISABLE_AFTER_HOURS;
  const [row] = await run.query<{ disabled_now: boolean }>(RECORD_FAILURE, [
    d.id,
    a.status,
    a.ms,
    a.body,
    a.retryInMs === undefined ? null : a.retryInMs / 1000,
    a.error.slice(0, 2000),
    hours * 3600,
    `every delivery failed for ${hours} h`,
  ]);
  return { disabledNow: Boolean(row?.disabled_now) };
}
