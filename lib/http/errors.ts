import { NextResponse } from "next/server";
import { ZodError, z } from "zod";
import { recordUnexpected } from "@/lib/observability/error-log";
import { isPlausibleId, isStorableText, unstorableTextIn } from "./text";

/** The app's one error type: a code the client can act on, mapped to one HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export type Issue = { path: string; message: string };

export function zodIssues(error: ZodError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

export function badRequest(error: ZodError | string): AppError {
  return typeof error === "string"
    ? new AppError("bad_request", error, { issues: [] })
    : new AppError("bad_request", "Invalid request", { issues: zodIssues(error) });
}

/** True for errors that mean "the database cannot be reached" rather than a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (
    let e: unknown = error, depth = 0;
    e && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: string }).code;
    if (
      code &&
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|CONNECTION_\w+|57P0[1-3]|53300|08\d{3})$/.test(
        code,
      )
    )
      return true;
    const message = (e as Error).message ?? "";
    if (
      /Cannot prepare the PostgreSQL database|connect ECONNREFUSED|Connection terminated/.test(
        message,
      )
    )
      return true;
  }
  return false;
}

/**
 * One response shape for every failure; the cause goes to the error log (and Sentry) through
 * recordUnexpected, never to the client.
 */
export async function errorResponse(error: unknown, where = "request"): Promise<NextResponse> {
  if (error instanceof AppError) {
    return NextResponse.json({ error: error.message, ...error.details }, { status: error.status });
  }
  if (error instanceof ZodError) return errorResponse(badRequest(error), where);
  const unavailable = isDatabaseUnavailable(error);
  await recordUnexpected(error, { where, unavailable });
  if (unavailable) {
    return NextResponse.json(
      { error: "Database unavailable, retry later" },
      { status: 503, headers: { "Retry-After": "5" } },
    );
  }
  return NextResponse.json({ error: "Internal error" }, { status: 500 });
}

/** Reads a JSON body and validates it; 400 with the schema's issues otherwise. */
export async function readJson<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<z.output<T>> {
  let body: unknown;
  try {
    const text = await request.text();
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "Body is not valid JSON", {
      issues: [{ path: "", message: "invalid JSON" }],
    });
  }
  // What the database cannot hold is the sender's mistake: 400, never a failed query.
  const unstorable = unstorableTextIn(body);
  if (unstorable) {
    throw new AppError("bad_request", "Invalid request", {
      issues: [{ path: unstorable.path, message: unstorable.message }],
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw badRequest(parsed.error);
  return parsed.data;
}

/** Validates a request's query string; 400 with the schema's issues otherwise. */
export function readQuery<T extends z.ZodType>(request: Request, schema: T): z.output<T> {
  const params = new URL(request.url).searchParams;
  for (const [key, value] of params) {
    if (!isStorableText(key) || !isStorableText(value)) {
      throw new AppError("bad_request", "Invalid request", {
        issues: [{ path: key, message: "contains a NUL character or invalid Unicode" }],
      });
    }
  }
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (!parsed.success) throw badRequest(parsed.error);
  return parsed.data;
}

/** `limit` and `cursor` of every "newest first" list. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.string().max(500).optional(),
};

/** `limit` and `cursor` of a list paged by a serial id (the error log, events, deliveries). */
export const serialPageQuery = {
  ...pageQuery,
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be a next_cursor from a previous page")
    .optional(),
};

/** The `project_id` filter of a list. */
export const projectIdFilter = z.string().min(1).max(100).optional();

/**
 * Wraps a route handler so every thrown error becomes the shared error response, and a
 * dynamic segment no id could match (a NUL or other control character, invalid Unicode)
 * is a 404 before the handler runs: it can name nothing, and must never reach a query.
 */
export function handle<A extends unknown[]>(fn: (...args: A) => Promise<Response>) {
  return async (...args: A): Promise<Response> => {
    try {
      if (!(await paramsArePlausible(args[1]))) throw new AppError("not_found", "Not found");
      return await fn(...args);
    } catch (error) {
      const request = args[0] instanceof Request ? args[0] : null;
      return errorResponse(
        error,
        request ? `${request.method} ${new URL(request.url).pathname}` : "request",
      );
    }
  };
}

/** Next passes a dynamic route's segments as `ctx.params` (a Promise of strings or string arrays). */
async function paramsArePlausible(ctx: unknown): Promise<boolean> {
  const params = (ctx as { params?: unknown } | undefined)?.params;
  if (!params || typeof (params as Promise<unknown>).then !== "function") return true;
  const values = Object.values(((await params) ?? {}) as Record<string, unknown>);
  return values.flat().every((v) => typeof v !== "string" || isPlausibleId(v));
}
