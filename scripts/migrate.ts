/**
 * `npm run db:migrate` – applies drizzle/ migrations to DATABASE_URL (or the PGlite
 * directory) and exits. On PostgreSQL in production this is the deploy step: run it once
 * before starting the new release's instances, which refuse a database behind their code.
 * Concurrent runs take turns (an advisory lock); outside production, and on PGlite, the app
 * also migrates on start.
 */
import { closeDb, getConnection, redact } from "@/lib/db/client";
import { migratePostgres } from "@/lib/db/migrations";
import { env } from "@/lib/env";

const target = env.DATABASE_URL
  ? `PostgreSQL at ${redact(env.DATABASE_URL)}`
  : `PGlite in ${env.PGLITE_DATA_DIR}`;

async function migrate(): Promise<string> {
  if (env.DATABASE_URL) {
    const applied = await migratePostgres(env.DATABASE_URL);
    return applied.length === 0
      ? `${target} is up to date`
      : `Applied ${applied.length} migration(s) to ${target}: ${applied.join(", ")}`;
  }
  await getConnection(); // PGlite migrates when it opens
  await closeDb();
  return `Migrations applied to ${target}`;
}

migrate()
  .then((message) => console.log(message))
  .catch((error: Error) => {
    console.error(`Migration failed for ${target}: ${error.message}`);
    process.exit(1);
  });
