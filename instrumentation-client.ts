/**
 * Browser errors go to Sentry only when NEXT_PUBLIC_SENTRY_DSN was set at build time: Next
 * inlines this literal `process.env.NEXT_PUBLIC_*` read (lib/env is server-side only; next.config.ts
 * inlines "" when unset), so without it the branch and the SDK are compiled out of the page.
 */
if (process.env.NEXT_PUBLIC_SENTRY_DSN) {
  const dsn = process.env.NEXT_PUBLIC_SENTRY_DSN;
  void Promise.all([import("@sentry/nextjs"), import("@/lib/observability/sentry")]).then(
    ([Sentry, { sentryOptions }]) => {
      Sentry.init(sentryOptions(dsn));
    },
  );
}
