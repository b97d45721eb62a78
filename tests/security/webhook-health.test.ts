import { afterAll, describe, expect, it } from "vitest";
import { applySettings, restoreSettings } from "./helpers";

/**
 * Issue 11 item 10: with the database down, `GET /api/webhooks/<stage>` answered
 * `"database unreachable: Failed query: select 1…"` — the driver's message, which can name
 * the query, hosts and users. Now "degraded" with a generic reason, like /api/health.
 */

afterAll(async () => {
  restoreSettings();
});

describe("GET /api/webhooks/* with the database down", () => {
  it.each(["video-complete", "last-frame-complete", "stitch-complete"])(
    "%s: 503 degraded, naming nothing of the database",
    async (stage) => {
      // A fresh module graph pointed at a port where nothing listens.
      applySettings({ DATABASE_URL: "postgres://dbuser:hunter2@127.0.0.1:1/secretdb" });
      const route = await import(`@/app/api/webhooks/${stage}/route`);
      const response: Response = await route.GET(
        new Request(`http://127.0.0.1:3999/api/webhooks/${stage}`),
      );
      expect(response.status).toBe(503);
      const text = await response.text();
      for (const leak of [
        "hunter2",
        "dbuser",
        "secretdb",
        "127.0.0.1:1",
        "select",
        "ECONNREFUSED",
        "Failed query",
      ]) {
        expect(text, leak).not.toContain(leak);
      }
      expect(JSON.parse(text)).toMatchObject({
        status: "degraded",
        reason: "database unreachable",
        endpoint: `/api/webhooks/${stage}`,
        method: "POST",
      });
      const { closeDb } = await import("@/lib/db/client");
      await closeDb().catch(() => {});
    },
  );
});
