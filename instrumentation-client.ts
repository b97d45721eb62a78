/**
 * Browser errors go to Sentry only when NEXT_PUBLIC_SENTRY_DSN was set at build time: Next
 * inlines this literal `process.env.NEXT_PUBLIC_*` read (lib/env is server-side only).
 * Without it the SDK is never even loaded into the page.
 */
const dsn = process.env.NEXT_PUBLIC_SENTRY_DSN;

if (dsn) {
  void Promise.all([import("@sentry/nextjs"), import("@/lib/observability/sentry")]).then(
    ([Sentry, { sentryOptions }]) => {
      Sentry.init(sentryOptions(dsn));
    },
  );
}
