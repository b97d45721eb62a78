import "server-only";
import { getDb } from "@/lib/db/client";
import { type ErrorSeverity, type ErrorType, errorLog } from "@/lib/db/schema";
import { log } from "./log";

export type ErrorEntry = {
  type: ErrorType;
  severity: ErrorSeverity;
  message: string;
  projectId?: string | null;
  /** Scene, task, stage, HTTP status…: identifiers only, never secrets or whole payloads. */
  context?: Record<string, unknown>;
  cause?: unknown;
};

type Reporter = (entry: ErrorEntry) => void;
const reporters: Reporter[] = [];

/** Lets Sentry (or anything else) see every recorded error without this module importing it. */
export function addErrorReporter(reporter: Reporter) {
  reporters.push(reporter);
}

/**
 * The one place an unexpected error (a bug, not the client's mistake) is recorded: error log
 * and Sentry, once, with what was being done. A database outage is logged, not recorded: the
 * error log lives in that database.
 */
export async function recordUnexpected(
  error: unknown,
  context: { where: string; unavailable: boolean } & Record<string, unknown>,
): Promise<void> {
  const { where, unavailable, ...rest } = context;
  const message = error instanceof Error ? error.message : String(error);
  if (unavailable) {
    log("error", "database_unavailable", { where, message, ...rest });
    return;
  }
  await recordError({
    type: "system",
    severity: "critical",
    message: `${where} failed unexpectedly: ${message}`,
    context: { where, ...rest },
    cause: error,
  });
}

/**
 * Records a failure in the error log (what operators read at /api/v1/errors) and the
 * logs. Best effort: recording an error never throws into the code path that hit it.
 */
export async function recordError(entry: ErrorEntry): Promise<void> {
  log(
    entry.severity === "info" ? "info" : entry.severity === "warning" ? "warn" : "error",
    `error.${entry.type}`,
    {
      message: entry.message,
      project_id: entry.projectId ?? undefined,
      ...entry.context,
      cause: entry.cause instanceof Error ? entry.cause.message : undefined,
    },
  );
  for (const report of reporters) {
    try {
      report(entry);
    } catch {}
  }
  try {
    const db = await getDb();
    await db.insert(errorLog).values({
      type: entry.type,
      severity: entry.severity,
      message: entry.message.slice(0, 2000),
      projectId: entry.projectId ?? null,
      context: entry.context ?? {},
    });
  } catch (error) {
    log("error", "error_log.write_failed", { message: (error as Error).message });
  }
}
