import "server-only";
import { and, desc, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import {
  ERROR_SEVERITIES,
  ERROR_TYPES,
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
    /** How many occurrences the entry stands for (refused requests are logged per minute). */
    count: e.count,
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

type ErrorCounts = {
  total: number;
  by_type: Record<ErrorType, number>;
  by_severity: Record<ErrorSeverity, number>;
};
export type ErrorStats = {
  last_24h: ErrorCounts;
  all_time: ErrorCounts;
  /** Entries not dismissed yet, whatever their age. */
  open: ErrorCounts;
};

/** Counts by type and by severity, for the last 24 hours and all time (dismissed included). */
export async function errorStats(): Promise<ErrorStats> {
  const db = await getDb();
  // One scan, grouped; the 24 h window uses the database clock like created_at does.
  const rows = await db
    .select({
      type: errorLog.type,
      severity: errorLog.severity,
      // Occurrences, not rows: an aggregate row of refused requests counts each of them.
      total: sql<number>`coalesce(sum(${errorLog.count}), 0)`.mapWith(Number),
      recent:
        sql<number>`coalesce(sum(${errorLog.count}) filter (where ${errorLog.createdAt} > now() - interval '24 hours'), 0)`.mapWith(
          Number,
        ),
      open: sql<number>`coalesce(sum(${errorLog.count}) filter (where ${errorLog.dismissedAt} is null), 0)`.mapWith(
        Number,
      ),
    })
    .from(errorLog)
    .groupBy(errorLog.type, errorLog.severity);
  const stats: ErrorStats = {
    last_24h: emptyCounts(),
    all_time: emptyCounts(),
    open: emptyCounts(),
  };
  for (const row of rows) {
    add(stats.all_time, row.type, row.severity, row.total);
    add(stats.last_24h, row.type, row.severity, row.recent);
    add(stats.open, row.type, row.severity, row.open);
  }
  return stats;
}

function emptyCounts(): ErrorCounts {
  return {
    total: 0,
    by_type: Object.fromEntries(ERROR_TYPES.map((t) => [t, 0])) as Record<ErrorType, number>,
    by_severity: Object.fromEntries(ERROR_SEVERITIES.map((s) => [s, 0])) as Record<
      ErrorSeverity,
      number
    >,
  };
}

function add(counts: ErrorCounts, type: ErrorType, severity: ErrorSeverity, n: number) {
  counts.total += n;
  // Rows written before a type/severity was renamed still count under their own name.
  counts.by_type[type] = (counts.by_type[type] ?? 0) + n;
  counts.by_severity[severity] = (counts.by_severity[severity] ?? 0) + n;
}

/**
 * Marks an entry dismissed (hidden from the default list). Dismissing twice keeps the
 * first time. Null when no entry has that id.
 */
export async function dismissError(id: number): Promise<ErrorView | null> {
  const db = await getDb();
  const [row] = await db
    .update(errorLog)
    .set({ dismissedAt: sql`coalesce(${errorLog.dismissedAt}, now())` })
    .where(eq(errorLog.id, id))
    .returning();
  return row ? serializeError(row) : null;
}

/** Ids in URLs are bigserial numbers; anything else names no row. */
export function parseLogId(value: string): number | null {
  return /^[1-9]\d{0,14}$/.test(value) ? Number(value) : null;
}

function clampLimit(limit?: number) {
  return Math.min(Math.max(limit ?? 50, 1), 200);
}

function cursorId(cursor?: string | null): number | null {
  if (!cursor || !/^\d{1,15}$/.test(cursor)) return null;
  return Number(cursor);
}

function page<R extends { id: number }, V>(
  rows: R[],
  limit: number,
  serialize: (r: R) => V,
): Page<V> {
  const items = rows.slice(0, limit);
  return {
    items: items.map(serialize),
    next_cursor: rows.length > limit ? String(items.at(-1)!.id) : null,
  };
}
