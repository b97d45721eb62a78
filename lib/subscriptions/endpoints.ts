import "server-only";
import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { getDb, getSql } from "@/lib/db/client";
import {
  projectEvents,
  type WebhookDelivery,
  type WebhookEndpoint,
  webhookDeliveries,
  webhookEndpoints,
} from "@/lib/db/schema";
import { AppError } from "@/lib/http/errors";
import { isPlausibleId } from "@/lib/http/text";
import { newId } from "@/lib/ids";
import { newEndpointSecret } from "./signing";
import { checkTarget, TargetRefused } from "./targets";
import { DELIVERIES_CHANNEL, PROJECT_EVENT_TYPES, TEST_EVENT_TYPE } from "./vocabulary";

/** Users' webhook endpoints and their deliveries: what the API and the pages do (CONTRACT §6). */

/** How long the previous secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_HOURS = 24;

const url = z.url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" }).max(2048);
const events = z
  .array(z.enum(PROJECT_EVENT_TYPES))
  .min(1, "subscribe to at least one event type, or omit events for all of them")
  .max(PROJECT_EVENT_TYPES.length * 2)
  .transform((list) => [...new Set(list)]);
const description = z.string().trim().max(500);

export const createEndpointInput = z.object({
  url,
  events: events.nullish(),
  description: description.nullish(),
});
export const updateEndpointInput = z.object({
  url: url.optional(),
  events: events.nullable().optional(),
  description: description.nullable().optional(),
  enabled: z.boolean().optional(),
});

export type EndpointView = {
  id: string;
  url: string;
  /** null: every event type. */
  events: string[] | null;
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  /** While a rotation's overlap lasts: when the previous secret stops signing. */
  previous_secret_expires_at: string | null;
  last_success_at: string | null;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
};

export type DeliveryView = {
  id: number;
  event_id: string;
  type: string;
  endpoint_id: string;
  project_id: string | null;
  status: string;
  attempt: number;
  response_status: number | null;
  duration_ms: number | null;
  response_body: string | null;
  error: string | null;
  /** When the next attempt is due (queued only). */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  resend_of: number | null;
  created_at: string;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function endpointView(row: WebhookEndpoint): EndpointView {
  const overlap =
    row.previousSecret && row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
      ? row.previousSecretExpiresAt
      : null;
  return {
    id: row.id,
    url: row.url,
    events: row.events ?? null,
    description: row.description,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    disabled_at: iso(row.disabledAt),
    previous_secret_expires_at: iso(overlap),
    last_success_at: iso(row.lastSuccessAt),
    failing_since: iso(row.failingSince),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function deliveryView(row: WebhookDelivery): DeliveryView {
  return {
    id: row.id,
    event_id: row.eventId,
    type: row.eventType,
    endpoint_id: row.endpointId,
    project_id: row.projectId,
    status: row.status,
    attempt: row.attempt,
    response_status: row.responseStatus,
    duration_ms: row.durationMs,
    response_body: row.responseBody,
    error: row.error,
    next_attempt_at: row.status === "queued" ? row.nextAttemptAt.toISOString() : null,
    last_attempt_at: iso(row.lastAttemptAt),
    resend_of: row.resendOf,
    created_at: row.createdAt.toISOString(),
  };
}

/** The URL may be registered: in production not one resolving to a private address (400). */
async function assertTarget(target: string) {
  try {
    await checkTarget(target);
  } catch (error) {
    if (error instanceof TargetRefused)
      throw new AppError("bad_request", "URL refused", {
        issues: [{ path: "url", message: error.message }],
      });
    throw error;
  }
}

async function findEndpoint(id: string): Promise<WebhookEndpoint> {
  if (isPlausibleId(id)) {
    const db = await getDb();
    const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (row) return row;
  }
  throw new AppError("not_found", `No webhook endpoint ${id}`);
}

/** Wakes the delivery loops (lib/jobs/deliveries.ts) of every process. */
async function wakeDeliveries() {
  const run = await getSql();
  await run.query(`select pg_notify('${DELIVERIES_CHANNEL}', '')`);
}

export async function createEndpoint(
  input: z.output<typeof createEndpointInput>,
): Promise<EndpointView & { secret: string }> {
  await assertTarget(input.url);
  const db = await getDb();
  const secret = newEndpointSecret();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id: newId("ep"),
      url: input.url,
      events: input.events ?? null,
      description: input.description || null,
      secret,
    })
    .returning();
  return { ...endpointView(row!), secret };
}

export async function listEndpoints(): Promise<{ items: EndpointView[] }> {
  const db = await getDb();
  const rows = await db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.createdAt));
  return { items: rows.map(endpointView) };
}

export async function getEndpoint(id: string): Promise<EndpointView> {
  return endpointView(await findEndpoint(id));
}

export async function updateEndpoint(
  id: string,
  patch: z.output<typeof updateEndpointInput>,
): Promise<EndpointView> {
  const current = await findEndpoint(id);
  if (patch.url !== undefined && patch.url !== current.url) await assertTarget(patch.url);
  const set: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: new Date() };
  if (patch.url !== undefined) set.url = patch.url;
  if (patch.events !== undefined) set.events = patch.events;
  if (patch.description !== undefined) set.description = patch.description || null;
  if (patch.enabled === true && !current.enabled) {
    // A fresh start: the failing streak that disabled it is forgotten.
    Object.assign(set, {
      enabled: true,
      disabledAt: null,
      disabledReason: null,
      failingSince: null,
    });
  } else if (patch.enabled === false && current.enabled) {
    Object.assign(set, {
      enabled: false,
      disabledAt: new Date(),
      disabledReason: "disabled by a user",
    });
  }
  const db = await getDb();
  const [row] = await db
    .update(webhookEndpoints)
    .set(set)
    .where(eq(webhookEndpoints.id, current.id))
    .returning();
  if (!row) throw new AppError("not_found", `No webhook endpoint ${id}`);
  if (set.enabled === true) await wakeDeliveries(); // what waited while it was disabled
  return endpointView(row);
}

export async function deleteEndpoint(id: string): Promise<void> {
  const current = await findEndpoint(id);
  const db = await getDb();
  await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, current.id));
}

/** A new secret signs from now on; the previous one is sent too for ROTATION_OVERLAP_HOURS. */
export async function rotateSecret(
  id: string,
): Promise<{ secret: string; previous_secret_expires_at: string }> {
  const current = await findEndpoint(id);
  const secret = newEndpointSecret();
  const db = await getDb();
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      secret,
      previousSecret: sql`${webhookEndpoints.secret}`,
      previousSecretExpiresAt: sql`now() + make_interval(hours => ${ROTATION_OVERLAP_HOURS})`,
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoints.id, current.id))
    .returning();
  if (!row) throw new AppError("not_found", `No webhook endpoint ${id}`);
  return { secret, previous_secret_expires_at: row.previousSecretExpiresAt!.toISOString() };
}

const QUEUE_DELIVERY = `insert into webhook_deliveries
  (event_id, event_type, endpoint_id, project_id, data, resend_of)
values ($1, $2, $3, $4, $5::jsonb, $6)
returning id, pg_notify('${DELIVERIES_CHANNEL}', '')`;

async function queueDelivery(values: {
  eventId: string;
  eventType: string;
  endpointId: string;
  projectId: string | null;
  data: Record<string, unknown> | null;
  resendOf: number | null;
}): Promise<DeliveryView> {
  const run = await getSql();
  const [inserted] = await run.query<{ id: number | string }>(QUEUE_DELIVERY, [
    values.eventId,
    values.eventType,
    values.endpointId,
    values.projectId,
    values.data === null ? null : JSON.stringify(values.data),
    values.resendOf,
  ]);
  const db = await getDb();
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, Number(inserted!.id)));
  return deliveryView(row!);
}

function assertEnabled(endpoint: WebhookEndpoint) {
  if (!endpoint.enabled)
    throw new AppError("conflict", `Webhook endpoint ${endpoint.id} is disabled: enable it first`);
}

/** Queues a `test.ping` to this endpoint (whatever it subscribed to). */
export async function sendTestEvent(id: string): Promise<DeliveryView> {
  const endpoint = await findEndpoint(id);
  assertEnabled(endpoint);
  const eventId = newId("evt");
  return queueDelivery({
    eventId,
    eventType: TEST_EVENT_TYPE,
    endpointId: endpoint.id,
    projectId: null,
    // A test ping belongs to no project: its whole body is kept here, sequence 0.
    data: {
      type: TEST_EVENT_TYPE,
      timestamp: new Date().toISOString(),
      data: {
        endpoint_id: endpoint.id,
        message: "Test event from Framechain: your endpoint is reachable and verifies signatures.",
        sequence: 0,
      },
    },
    resendOf: null,
  });
}

/** Delivers that event again to the same endpoint: a new delivery, the same webhook-id and body. */
export async function resendDelivery(
  endpointId: string,
  deliveryId: string,
): Promise<DeliveryView> {
  const endpoint = await findEndpoint(endpointId);
  const original = await findDelivery(endpoint.id, deliveryId);
  assertEnabled(endpoint);
  return queueDelivery({
    eventId: original.eventId,
    eventType: original.eventType,
    endpointId: endpoint.id,
    projectId: original.projectId,
    data: original.data,
    resendOf: original.id,
  });
}

async function findDelivery(endpointId: string, deliveryId: string): Promise<WebhookDelivery> {
  const id = parseDeliveryId(deliveryId);
  if (id !== null) {
    const db = await getDb();
    const [row] = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.endpointId, endpointId)));
    if (row) return row;
  }
  throw new AppError("not_found", `No delivery ${deliveryId} for endpoint ${endpointId}`);
}

export function parseDeliveryId(value: string): number | null {
  return /^[1-9]\d{0,14}$/.test(value) ? Number(value) : null;
}

/** Newest first; `cursor` is the `next_cursor` of the previous page. */
export async function listDeliveries(
  endpointId: string,
  { limit = 50, cursor }: { limit?: number; cursor?: string } = {},
): Promise<{ items: DeliveryView[]; next_cursor: string | null }> {
  const endpoint = await findEndpoint(endpointId);
  const before = cursor ? parseDeliveryId(cursor) : null;
  const db = await getDb();
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpoint.id),
        before === null ? undefined : lt(webhookDeliveries.id, before),
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(deliveryView);
  return {
    items,
    next_cursor: rows.length > limit ? String(items[items.length - 1]!.id) : null,
  };
}

export type ProjectEventView = {
  id: string;
  sequence: number;
  type: string;
  created_at: string;
  /** Deliveries of this event to endpoints, by status. */
  deliveries: Record<string, number>;
};

/** The events a project emitted, in order, with how their deliveries stand. */
export async function listProjectEvents(projectId: string): Promise<ProjectEventView[]> {
  if (!isPlausibleId(projectId)) return [];
  const db = await getDb();
  const events = await db
    .select()
    .from(projectEvents)
    .where(eq(projectEvents.projectId, projectId))
    .orderBy(asc(projectEvents.sequence));
  if (events.length === 0) return [];
  const counts = await db
    .select({
      eventId: webhookDeliveries.eventId,
      status: webhookDeliveries.status,
      n: sql<number>`count(*)`.mapWith(Number),
    })
    .from(webhookDeliveries)
    .where(
      inArray(
        webhookDeliveries.eventId,
        events.map((e) => e.id),
      ),
    )
    .groupBy(webhookDeliveries.eventId, webhookDeliveries.status);
  return events.map((e) => ({
    id: e.id,
    sequence: e.sequence,
    type: e.type,
    created_at: e.createdAt.toISOString(),
    deliveries: Object.fromEntries(
      counts.filter((c) => c.eventId === e.id).map((c) => [c.status, c.n]),
    ),
  }));
}
