import * as Sentry from "@sentry/nextjs";

/**
 * Runs once when a server process starts. Only the Node.js runtime runs our code (route
 * handlers and, in Next 16, proxy.ts); nothing of ours is served from the edge runtime.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // TRACE and `GET *` would reach Next and fail there with a 500: refuse them first.
  (await import("@/lib/http/raw-guard")).installRawRequestGuard();
  const { startServer } = await import("@/lib/server-start");
  await startServer();
}

/** Errors thrown while rendering or in route handlers; a no-op when Sentry was not initialised. */
export const onRequestError = Sentry.captureRequestError;
