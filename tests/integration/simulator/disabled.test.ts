import { afterAll, describe, expect, it, vi } from "vitest";

/** With the simulator off (SIMULATOR_ENABLED=false, or production by default) none of it is reachable. */
process.env.SIMULATOR_ENABLED = "false";
vi.resetModules();
afterAll(() => {
  delete process.env.SIMULATOR_ENABLED;
});
const route = await import("@/app/api/simulator/[...path]/route");

describe("simulator disabled", () => {
  it.each([
    ["POST", "video/api/v1/tasks/submit"],
    ["POST", "last-frame/api/v1/process"],
    ["POST", "stitch/api/v1/stitch"],
    ["POST", "notify"],
    ["GET", "media/abc/video.svg"],
    ["GET", "config"],
    ["POST", "config"],
    ["GET", "requests"],
    ["DELETE", "requests"],
  ] as const)("%s /api/simulator/%s answers 404", async (method, path) => {
    const request = new Request(`http://127.0.0.1:3999/api/simulator/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: method === "POST" ? JSON.stringify({ delay_ms: 1 }) : undefined,
    });
    const response = await route[method](request, {
      params: Promise.resolve({ path: path.split("/") }),
    });
    expect(response.status).toBe(404);
  });
});
