import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { metrics } from "@/lib/observability/metrics";

export type ServiceName = "video" | "last-frame" | "stitch" | "notify";

export type ServiceRequest = {
  service: ServiceName;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** The job id: the service can tell a retried request from a new one. */
  idempotencyKey: string;
};

export type ServiceResult =
  | { ok: true; status: number; json: Record<string, unknown> | null; ms: number }
  | {
      ok: false;
      retryable: boolean;
      status: number | null;
      error: string;
      retryAfterMs?: number;
      ms: number;
    };

/**
 * One HTTP attempt with a timeout. Retrying is the dispatcher's job (durably, via the
 * job's run_at): network errors, timeouts, 5xx, 408 and 429 are retryable; other 4xx final.
 */
export async function callService(request: ServiceRequest): Promise<ServiceResult> {
  const started = performance.now();
  const done = (result: ServiceResult) => {
    metrics.outbound(
      request.service,
      result.ok ? "ok" : result.retryable ? "retryable" : "final",
      result.ms / 1000,
    );
    log(result.ok ? "info" : "warn", "outbound", {
      service: request.service,
      job_id: request.idempotencyKey,
      status: result.status,
      ms: Math.round(result.ms),
      error: result.ok ? undefined : result.error,
    });
    return result;
  };
  try {
    const response = await fetch(request.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        "idempotency-key": request.idempotencyKey,
        ...request.headers,
      },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(env.SERVICE_TIMEOUT_MS),
      redirect: "error",
    });
    const text = await response.text();
    const ms = performance.now() - started;
    if (response.ok)
      return done({ ok: true, status: response.status, json: parseObject(text), ms });
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    return done({
      ok: false,
      retryable,
      status: response.status,
      error: `${request.service} service answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
      ms,
    });
  } catch (error) {
    const ms = performance.now() - started;
    const timedOut = (error as Error).name === "TimeoutError";
    return done({
      ok: false,
      retryable: true,
      status: null,
      error: timedOut
        ? `${request.service} service did not answer within ${env.SERVICE_TIMEOUT_MS} ms`
        : `${request.service} service unreachable: ${describeNetworkError(error)}`,
      ms,
    });
  }
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
