import type { Breadcrumb, Event } from "@sentry/nextjs";
import type { ErrorEntry } from "./error-log";

/**
 * What Framechain sends to Sentry, shared by the server (sentry.server.config.ts) and the
 * browser (instrumentation-client.ts), so it must stay free of server-only imports.
 * Events leave without secrets or payloads: `scrubEvent` is every event's beforeSend.
 */

export const FILTERED = "[Filtered]";

/** Headers that authenticate someone: callers, services, callbacks, browsers. */
const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "x-webhook-signature",
  "webhook-signature",
  "cookie",
  "set-cookie",
  "x-cron-secret",
]);
/** Keys whose values are credentials or whole request/response bodies. */
const SECRET_KEY =
  /authorization|api[-_]?key|secret|token|password|passwd|signature|cookie|session|dsn|^sig$/i;
const PAYLOAD_KEY = /^(payload|body|request_body|response_body|raw_body)$/i;
/** Query parameters that carry credentials (callback URLs carry ?ref=…&sig=<hmac>). */
const SECRET_PARAM = /^(sig|signature|token|secret|api_key|apikey|key)$/i;

type Mutable = Record<string, unknown>;

/** beforeSend: removes credentials, cookies and bodies (no transactions are sent: tracing is off). */
export function scrubEvent<T extends Event>(event: T): T {
  const request = event.request;
  if (request) {
    if (request.headers) {
      request.headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [
          k,
          SECRET_HEADERS.has(k.toLowerCase()) ? FILTERED : scrubText(v),
        ]),
      );
    }
    delete request.cookies;
    delete request.data; // callback and API bodies are payloads
    delete request.env;
    if (request.url) request.url = scrubUrl(request.url);
    if (request.query_string !== undefined) request.query_string = scrubQuery(request.query_string);
  }
  if (event.message) event.message = scrubText(event.message);
  for (const exception of event.exception?.values ?? []) {
    if (exception.value) exception.value = scrubText(exception.value);
  }
  if (event.extra) event.extra = scrubValue(event.extra) as Event["extra"];
  if (event.contexts) event.contexts = scrubValue(event.contexts) as Event["contexts"];
  if (event.user) event.user = { id: event.user.id }; // never an IP address or e-mail
  if (event.breadcrumbs) event.breadcrumbs = event.breadcrumbs.map(scrubBreadcrumb);
  return event;
}

export function scrubBreadcrumb<T extends Breadcrumb>(breadcrumb: T): T {
  if (breadcrumb.message) breadcrumb.message = scrubText(breadcrumb.message);
  if (breadcrumb.data) breadcrumb.data = scrubValue(breadcrumb.data) as Mutable;
  return breadcrumb;
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= 6) return FILTERED;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) || PAYLOAD_KEY.test(k)
        ? FILTERED
        : k === "url" && typeof v === "string"
          ? scrubUrl(v)
          : scrubValue(v, depth + 1),
    ]),
  );
}

/** Credentials that can hide inside free text: bearer tokens, whsec_ secrets, ?sig= parameters. */
export function scrubText(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[\w.~+/=-]+/gi, `$1 ${FILTERED}`)
    .replace(/\bwhsec_[A-Za-z0-9+/=]+/g, FILTERED)
    .replace(/(\b(?:sig|signature|token|secret|api_key|apikey|key)=)[^&#\s"']*/gi, `$1${FILTERED}`)
    .replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, `$1${FILTERED}@`); // user:password@ in connection strings
}

function scrubUrl(url: string): string {
  return scrubText(url);
}

type QueryParams = NonNullable<NonNullable<Event["request"]>["query_string"]>;

function scrubQuery(query: QueryParams): QueryParams {
  if (typeof query === "string")
    return scrubText(query.startsWith("?") ? query : `?${query}`).replace(/^\?/, "");
  if (Array.isArray(query))
    return query.map(([k, v]) => [k, SECRET_PARAM.test(k) ? FILTERED : v] as [string, string]);
  return Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k, SECRET_PARAM.test(k) ? FILTERED : v]),
  );
}

/** Options for Sentry.init on either side: no PII, no tracing, every event scrubbed. */
export function sentryOptions(dsn: string, environment?: string) {
  return {
    dsn,
    environment,
    sendDefaultPii: false,
    tracesSampleRate: 0,
    beforeSend: scrubEvent,
    beforeBreadcrumb: scrubBreadcrumb,
  };
}

type SentryLevel = "info" | "warning" | "error" | "fatal";
type Scope = {
  setLevel(level: SentryLevel): unknown;
  setTag(key: string, value: string): unknown;
  setContext(name: string, context: Record<string, unknown> | null): unknown;
  setExtra(key: string, value: unknown): unknown;
};
/** The part of the Sentry SDK the error reporter uses (the server's @sentry/nextjs). */
export type SentryApi = {
  withScope(callback: (scope: Scope) => void): unknown;
  captureException(exception: unknown): unknown;
  captureMessage(message: string): unknown;
};

const LEVEL: Record<ErrorEntry["severity"], SentryLevel> = {
  info: "info",
  warning: "warning",
  error: "error",
  critical: "fatal",
};
/** Context keys worth a searchable tag in Sentry. */
const TAG_KEYS = ["stage", "kind", "service", "http_status", "status"];

/**
 * The error-log reporter: each recorded warning or worse becomes a Sentry event tagged with
 * its type and stage/kind; its context goes along as identifiers only (no objects, no secrets).
 */
export function reportToSentry(sentry: SentryApi, entry: ErrorEntry): void {
  if (entry.severity === "info") return; // stale or duplicate callbacks: the error log is enough
  const context = identifiersOnly(entry.context ?? {});
  sentry.withScope((scope) => {
    scope.setLevel(LEVEL[entry.severity]);
    scope.setTag("type", entry.type);
    for (const key of TAG_KEYS) {
      const value = context[key];
      if (value !== undefined) scope.setTag(key, String(value));
    }
    if (entry.projectId) scope.setTag("project_id", entry.projectId);
    scope.setContext("framechain", context);
    if (entry.cause instanceof Error) {
      scope.setExtra("error_log_message", scrubText(entry.message));
      sentry.captureException(entry.cause);
    } else {
      sentry.captureMessage(scrubText(entry.message));
    }
  });
}

function identifiersOnly(
  context: Record<string, unknown>,
): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(context)) {
    if (SECRET_KEY.test(key) || PAYLOAD_KEY.test(key)) continue;
    if (typeof value === "string") kept[key] = scrubText(value.slice(0, 300));
    else if (typeof value === "number" || typeof value === "boolean") kept[key] = value;
  }
  return kept;
}
