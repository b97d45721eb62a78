import { beforeAll, describe, expect, it } from "vitest";
import { getDb } from "@/lib/db/client";
import { errorLog } from "@/lib/db/schema";

/** Issue 12 item 2: one error path — an unexpected error is recorded (error log + Sentry) once. */

beforeAll(async () => {
  await getDb(); // PGlite compiles and migrates on first use: not the test's own time
});

describe("an unexpected error in a route handler", () => {
  it("answers 500 without detail and is recorded once in the error log", async () => {
    const { handle } = await import("@/lib/http/errors");
    const route = handle(async (_request: Request) => {
      throw new Error("bug: undefined is not a function");
    });
    const response = await route(new Request("http://127.0.0.1:3999/api/v1/anything"));
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Internal error" });
    const rows = (await (await getDb()).select().from(errorLog)).filter((r) =>
      r.message.includes("bug: undefined is not a function"),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: "system", severity: "critical" });
    expect(rows[0]?.message).toContain("GET /api/v1/anything");
  });
});
