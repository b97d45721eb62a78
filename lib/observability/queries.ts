import "server-only";
import { and, desc, eq, isNull, lt, type SQL } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import {
  type ErrorLogEntry,
  type ErrorSeverity,
  type ErrorType,
  errorLog,
  type WebhookEvent,
  type WebhookOutcome,
  type WebhookSource,
  webhookEvents,
} from "@/lib/db/schema";

/** Read side of the error log and the webhook event log (newest first, cursor = last id). */

export type Page<T> = { items: T[]; next_cursor: string | null };

export function serializeError(e: ErrorLogEntry) {
  return {
    id: e.id,
    type: e.type,
    severity: e.severity,
    message: e.message,
    project_id: e.projectId,
    context: e.context,
    dismissed_at: e.dismissedAt?.toISOString() ?? null,
    created_at: e.createdAt.toISOString(),
  };
}
export type ErrorView = ReturnType<typeof serializeError>;

export function serializeWebhookEvent(e: WebhookEvent) {
  return {
    id: e.id,
    source: e.source,
    task_id: e.taskId,
    job_id: e.jobId,
    project_id: e.projectId,
    scene_id: e.sceneId,
    status: e.status,
    outcome: e.outcome,
    reason: e.reason,
    http_status: e.httpStatus,
    received_at: e.receivedAt.toISOString(),
    applied_at: e.appliedAt?.toISOString() ?? null,
  };
}
export type WebhookEventView = ReturnType<typeof serializeWebhookEvent>;

export async function listErrors(
  filter: {
    type?: ErrorType;
    severity?: ErrorSeverity;
    projectId?: string;
    includeDismissed?: boolean;
    limit?: number;
    cursor?: string | null;
  } = {},
): Promise<Page<ErrorView>> {
  const db = await getDb();
  const limit = clampLimit(filter.limit);
  const where: SQL[] = [];
  if (filter.type) where.push(eq(errorLog.type, filter.type));
  if (filter.severity) where.push(eq(errorLog.severity, filter.severity));
  if (filter.projectId) where.push(eq(errorLog.projectId, filter.projectId));
  if (!filter.includeDismissed) where.push(isNull(errorLog.dismissedAt));
  const before = cursorId(filter.cursor);
  if (before !== null) where.push(lt(errorLog.id, before));
  const rows = await db
    .select()
    .from(errorLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(errorLog.id))
    .limit(limit + 1);
  return page(rows, limit, serializeError);
}

export async function listWebhookEvents(
  filter: {
    source?: WebhookSource;
    projectId?: string;
    outcome?: WebhookOutcome;
    limit?: number;
    cursor?: string | null;
  } = {},
): Promise<Page<WebhookEventView>> {
  const db = await getDb();
  const limit = clampLimit(filter.limit);
  const where: SQL[] = [];
  if (filter.source) where.push(eq(webhookEvents.source, filter.source));
  if (filter.projectId) where.push(eq(webhookEvents.projectId, filter.projectId));
  if (filter.outcome) where.push(eq(webhookEvents.outcome, filter.outcome));
  const before = cursorId(filter.cursor);
  if (before !== null) where.push(lt(webhookEvents.id, before));
  const rows = await db
    .select()
    .from(webhookEvents)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(webhookEvents.id))
    .limit(limit + 1);
  return page(rows, limit, serializeWebhookEvent);
}

function clampLimit(limit?: number) {
  return Math.min(Math.max(limit ?? 50, 1), 200);
}

function cursorId(cursor?: string | null): number | null {
  if (!cursor || !/^\d{1,15}$/.test(cursor)) return null;
  return Number(cursor);
}

function page<R extends { id: number }, V>(rows: R[], limit: number, serialize: (r: R) => V): Page<V> {
  const items = rows.slice(0, limit);
  return {
    items: items.map(serialize),
    next_cursor: rows.length > limit ? String(items.at(-1)!.id) : null,
  };
}
