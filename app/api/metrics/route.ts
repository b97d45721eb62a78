import { handle } from "@/lib/http/errors";
import { METRICS_CONTENT_TYPE, renderMetrics } from "@/lib/observability/metrics";

// GET /api/metrics – Prometheus scrape target (counters of this process, gauges from the database)
export const GET = handle(
  async () =>
    new Response(await renderMetrics(), {
      headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
    }),
);
