/**
 * `npm run db:migrate` – applies drizzle/ migrations to DATABASE_URL (or the PGlite
 * directory) and exits. The app also does this on its first database use; this is for
 * deploy pipelines that migrate before starting new instances.
 */
import { closeDb, getConnection, redact } from "@/lib/db/client";
import { env } from "@/lib/env";

const target = env.DATABASE_URL
  ? `PostgreSQL at ${redact(env.DATABASE_URL)}`
  : `PGlite in ${env.PGLITE_DATA_DIR}`;
getConnection()
  .then(async () => {
    console.log(`Migrations applied to ${target}`);
    await closeDb();
  })
  .catch((error: Error) => {
    console.error(`Migration failed for ${target}: ${error.message}`);
    process.exit(1);
  });
