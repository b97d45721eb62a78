import { NextRequest } from "next/server";
import { vi } from "vitest";

/**
 * Shared by the security suites: the app's modules loaded under given settings (lib/env
 * reads process.env once per module graph), and requests as they arrive from outside.
 */

export const ADMIN_TOKEN = "security-admin-token-0123456789";
export const APP = "http://127.0.0.1:3999"; // APP_URL of the test environment (vitest.config.mts)

const original = { ...process.env };

/** Applies the settings (undefined deletes one) and gives a fresh module graph. */
export function applySettings(settings: Record<string, string | undefined>): void {
  process.env = { ...original };
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.resetModules();
}

/**
 * Opens this module graph's database (PGlite: compiles and migrates, which can take a while
 * on a busy machine) in a hook, so no test's own time limit pays for it.
 */
export async function warmDatabase(): Promise<void> {
  await (await import("@/lib/db/client")).getDb();
}

/** Back to the suite's own environment. */
export function restoreSettings(): void {
  process.env = { ...original };
  vi.resetModules();
}

type Proxy = (request: NextRequest) => Promise<Response>;

/** The real proxy.ts under these settings (the in-memory throttle starts empty). */
export async function loadProxy(settings: Record<string, string | undefined>): Promise<Proxy> {
  applySettings(settings);
  (await import("@/lib/ratelimit/admin-auth")).resetAdminAuthLimiters();
  return (await import("@/proxy")).proxy as Proxy;
}

export type RequestInit = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
};

/** A request as the proxy sees it: the raw (still percent-encoded) target on the app's origin. */
export function proxyRequest(target: string, init: RequestInit = {}): NextRequest {
  return new NextRequest(new URL(target, APP), {
    method: init.method ?? "GET",
    headers: init.headers,
    body: init.body,
  });
}

/** True when the proxy let the request go on to its route. */
export const passedThrough = (response: Response) =>
  response.headers.get("x-middleware-next") === "1";

/** Route context of a dynamic `[id]` segment, as Next passes it (already decoded). */
export const idContext = (id: string) => ({ params: Promise.resolve({ id }) });

export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
