import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppServer, startApp } from "./harness/app-server";

/**
 * `next start` gzips what it serves to clients that accept gzip. A callback's answer is tens
 * of bytes and its senders are services whose HTTP clients ask for gzip (fetch does): it goes
 * out uncompressed, with `no-transform`, while pages stay compressed.
 */

type Answer = { status: number; headers: Record<string, string | string[] | undefined> };

/** node:http, not fetch: fetch decodes gzip itself, and what is asserted is the wire. */
function send(url: string, method: "GET" | "POST", body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          "accept-encoding": "gzip, deflate, br",
          ...(body ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("compression", () => {
  let app: AppServer;

  beforeAll(async () => {
    app = await startApp();
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("sends a callback's answer uncompressed to a sender that accepts gzip", async () => {
    const answer = await send(
      `${app.url}/api/webhooks/video-complete`,
      "POST",
      JSON.stringify({ task_id: "task_1", status: "completed" }),
    );
    expect(answer.status).toBe(401); // unsigned: the refusal goes through the same answer path
    expect(answer.headers["content-encoding"]).toBeUndefined();
    expect(answer.headers["cache-control"]).toBe("no-store, no-transform");
  });

  it("still gzips a page for a browser that accepts it", async () => {
    const page = await send(`${app.url}/projects`, "GET");
    expect(page.status).toBe(200);
    expect(page.headers["content-encoding"]).toBe("gzip");
  });
});
