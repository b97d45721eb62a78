import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // PGlite's files must never be traced into the build output; migrations must be.
  outputFileTracingExcludes: { "*": [".data/**/*"] },
  outputFileTracingIncludes: { "*": ["./drizzle/**/*"] },
  serverExternalPackages: ["@electric-sql/pglite", "postgres", "ioredis"],
};

export default nextConfig;
