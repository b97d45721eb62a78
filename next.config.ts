import { withSentryConfig } from "@sentry/nextjs/config";
import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER } from "next/constants";
import { env } from "./lib/env";

/**
 * Security headers for every response. Next's inline bootstrap scripts need
 * 'unsafe-inline' (no nonces: they would make every page dynamic); scene media are
 * external URLs, hence http:/https: for images and video. Nothing here adds CORS: the
 * callback endpoints are called server to server and the API is same-origin only.
 */
function securityHeaders(dev: boolean) {
  const connect = ["'self'"];
  if (env.NEXT_PUBLIC_SENTRY_DSN) connect.push(new URL(env.NEXT_PUBLIC_SENTRY_DSN).origin);
  if (dev) connect.push("ws:", "wss:"); // hot reload
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`, // React's dev tools need eval
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: http: https:",
    "media-src 'self' data: blob: http: https:",
    "font-src 'self' data:",
    `connect-src ${connect.join(" ")}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  return [
    { key: "Content-Security-Policy", value: csp },
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
    {
      key: "Permissions-Policy",
      value:
        // Only features every current browser recognises: an unknown one is a console error on every page.
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), browsing-topics=()",
    },
    { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
    // Browsers ignore it over plain http, so it only ever pins a deployment already on https.
    ...(dev ? [] : [{ key: "Strict-Transport-Security", value: "max-age=31536000" }]),
  ];
}

const nextConfig = (phase: string): NextConfig => ({
  poweredByHeader: false,
  // Inlined even when unset, so the browser's Sentry start-up (instrumentation-client.ts) is
  // compiled out, not compiled and never run.
  env: { NEXT_PUBLIC_SENTRY_DSN: env.NEXT_PUBLIC_SENTRY_DSN ?? "" },
  // `next dev` opened at http://127.0.0.1:3000 (or [::1]) must reach its own hot-reload socket
  // and dev resources; Next allows only localhost by default.
  allowedDevOrigins: ["127.0.0.1", "[::1]", "::1"],
  // PGlite's files must never be traced into the build output; migrations must be.
  outputFileTracingExcludes: { "*": [".data/**/*"] },
  outputFileTracingIncludes: { "*": ["./drizzle/**/*"] },
  // Loaded from node_modules rather than bundled: native/wasm or Node-only packages, and the
  // big pure-JS ones every server entry imports (zod, drizzle-orm), so `next dev` does not
  // compile them into each server entry (issue 13: dev compile time).
  serverExternalPackages: [
    "@electric-sql/pglite",
    "postgres",
    "ioredis",
    "prom-client",
    "drizzle-orm",
    "zod",
  ],
  // `npm run typecheck` checks the whole tree (CI runs it); the build need not do it again.
  typescript: { ignoreBuildErrors: true },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders(phase === PHASE_DEVELOPMENT_SERVER) }];
  },
});

/** Source maps go to Sentry only when SENTRY_AUTH_TOKEN is set; otherwise the build makes no network call. */
const uploadSourceMaps = Boolean(env.SENTRY_AUTH_TOKEN);
const withSentry = withSentryConfig(nextConfig, {
  telemetry: false,
  silent: !uploadSourceMaps,
  authToken: env.SENTRY_AUTH_TOKEN,
  org: env.SENTRY_ORG,
  project: env.SENTRY_PROJECT,
  sourcemaps: { disable: !uploadSourceMaps },
  release: { create: uploadSourceMaps, finalize: uploadSourceMaps },
  widenClientFileUpload: uploadSourceMaps,
});

/**
 * Builds always go through Sentry's wrapper (the DSN may be set where the build runs).
 * `next dev` without a DSN does not: there its loaders and build-time instrumentation only
 * cost compile time, and the server loads the SDK from node_modules instead of bundling it.
 */
export default function config(phase: string): NextConfig {
  const sentry = env.SENTRY_DSN || env.NEXT_PUBLIC_SENTRY_DSN;
  if (phase !== PHASE_DEVELOPMENT_SERVER || sentry) return withSentry(phase);
  const dev = nextConfig(phase);
  return {
    ...dev,
    serverExternalPackages: [...(dev.serverExternalPackages ?? []), "@sentry/nextjs"],
  };
}
