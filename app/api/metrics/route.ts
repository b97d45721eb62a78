import { statementCount } from "@/lib/db/client";
import { handle } from "@/lib/http/errors";
import { dispatchThreadStatements } from "@/lib/jobs/worker-host";
import { METRICS_CONTENT_TYPE, renderMetrics } from "@/lib/observability/metrics";

// GET /api/metrics – Prometheus scrape target (counters of this process, gauges from the database)
export const GET = handle(async () => {
  // Read before this scrape's own gauge queries, so scraping does not count itself.
  const statements = statementCount() + dispatchThreadStatements();
  const body = `${await renderMetrics()}${statementsFamily(statements)}`;
  return new Response(body, {
    headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
  });
});

/** SQL statements this process sent, its dispatch thread included (the bench's statements per stage). */
function statementsFamily(statements: number): string {
  return [
    "# HELP framechain_db_statements_total SQL statements sent by this process and its dispatch thread.",
    "# TYPE framechain_db_statements_total counter",
    `framechain_db_statements_total ${statements}`,
    "",
  ].join("\n");
}
