import "server-only";

/**
 * What a server process does once, before serving (called from instrumentation.ts under
 * the Node.js runtime): check the settings and the database, start Sentry and the dispatch of jobs.
 */
export async function startServer() {
  try {
    // Importing the client parses every setting (lib/env.ts); connecting applies migrations,
    // so a malformed setting or an unusable database stops the server now, with a message
    // naming it, and the first request does not pay for the migrations.
    (await import("@/lib/startup-summary")).announceStartup(); // refuses a demo that cannot work, logs the summary
    const { env } = await import("@/lib/env");
    const { getConnection } = await import("@/lib/db/client");
    const connected = getConnection().catch(stop);
    // `next dev` compiles the first page while the database opens (PGlite's first start
    // creates and migrates it: seconds); it still stops on a database that cannot work.
    if (env.NODE_ENV !== "development") await connected;
  } catch (error) {
    stop(error);
  }
  const { initServerSentry } = await import("@/sentry.server.config");
  initServerSentry();
  // Outbound work: a dispatch worker thread (PostgreSQL) or after each response (PGlite).
  (await import("@/lib/jobs/worker-host")).startDispatch();
}

/** Next would log this and keep answering 500s; a process that cannot work should stop. */
function stop(error: unknown): never {
  console.error(`\nFramechain cannot start.\n${(error as Error).message}\n`);
  process.exit(1);
}
