import * as Sentry from "@sentry/nextjs";
import { env } from "@/lib/env";
import { addErrorReporter } from "@/lib/observability/error-log";
import { reportToSentry, sentryOptions } from "@/lib/observability/sentry";

type InitOptions = Parameters<typeof Sentry.init>[0];

const state = globalThis as unknown as { __framechainSentry?: boolean };

/**
 * Server-side Sentry, started from instrumentation.ts. Without SENTRY_DSN nothing is
 * initialised, so the SDK makes no network calls. With it, request errors (onRequestError)
 * and every recordError() of warning or worse reach Sentry, scrubbed.
 * `overrides` lets tests swap the transport.
 */
export function initServerSentry(overrides: Partial<InitOptions> = {}): boolean {
  if (!env.SENTRY_DSN) return false;
  if (state.__framechainSentry) return true; // dev reloads call register() again
  Sentry.init({
    ...sentryOptions(env.SENTRY_DSN, env.SENTRY_ENVIRONMENT ?? env.NODE_ENV),
    ...overrides,
  } as InitOptions);
  addErrorReporter((entry) => reportToSentry(Sentry, entry));
  state.__framechainSentry = true;
  return true;
}
