import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { mediaSrc } from "@/app/components/media-src";

const dir = mkdtempSync(path.join(tmpdir(), "framechain-media-"));
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh module graph, as after a restart: nothing in memory, the same data dir on disk. */
async function freshSimulator(port: number) {
  vi.resetModules();
  // The simulator's memory lives on globalThis (it survives dev reloads): a restart loses it.
  delete (globalThis as { __framechainSimulator?: unknown }).__framechainSimulator;
  vi.stubEnv("PGLITE_DATA_DIR", path.join(dir, "pglite"));
  vi.stubEnv("APP_URL", `http://localhost:${port}`);
  const state = await import("@/lib/simulator/state");
  const media = await import("@/lib/simulator/media");
  return { state, media };
}

function videoTask(id: string, sceneNumber: number, prompt: string) {
  return {
    id,
    service: "video" as const,
    shape: "documented" as const,
    outcome: "completed" as const,
    error: null,
    idempotencyKey: null,
    jobId: null,
    projectId: "prj_1",
    sceneId: `scn_${sceneNumber}`,
    sceneNumber,
    prompt,
    duration: 3,
    videoUrls: [],
    startImageUrl: null,
    metadata: null,
    callbackUrl: "http://localhost:3000/api/webhooks/video-complete",
    delayMs: 0,
    createdAt: Date.now(),
    answer: {},
  };
}

describe("simulator media across a restart and a port change", () => {
  it("renders the same scene cards and final clip after the process forgets its tasks", async () => {
    const before = await freshSimulator(3000);
    before.state.saveTask(videoTask("task_1_aa", 1, "A lighthouse at dawn"));
    before.state.saveTask(videoTask("task_2_bb", 2, "Gulls over the tower"));
    const urls = ["task_1_aa", "task_2_bb"].map((id) => before.media.mediaUrl(id, "video"));
    before.state.saveTask({ ...videoTask("task_3_cc", 0, ""), service: "stitch", videoUrls: urls });
    const stillBefore = before.media.renderMedia("task_1_aa", "thumbnail.svg");
    const posterBefore = before.media.renderMedia("task_3_cc", "poster.svg");
    const clipBefore = before.media.renderMedia("task_3_cc", "final.mp4");
    expect(existsSync(path.join(dir, "simulator-media", "task_1_aa.json"))).toBe(true);

    const after = await freshSimulator(4123);
    expect(after.state.findTask("task_1_aa")).toBeUndefined();
    const still = after.media.renderMedia("task_1_aa", "thumbnail.svg");
    expect(still).toMatchObject({ known: true });
    expect(still?.body).toEqual(stillBefore?.body);
    expect(String(still?.body)).toContain("A lighthouse at dawn");
    expect(after.media.renderMedia("task_3_cc", "poster.svg")?.body).toEqual(posterBefore?.body);
    expect(after.media.renderMedia("task_3_cc", "final.mp4")?.body).toEqual(clipBefore?.body);
    // The URL stored with the old port now points at the current address.
    expect(after.media.currentMediaUrl(urls[0]!)).toBe(
      "http://localhost:4123/api/simulator/media/task_1_aa/video.mp4",
    );
    expect(
      after.media.currentMediaUrl("https://cdn.example.com/api/simulator/media/x/video.mp4"),
    ).toBe("https://cdn.example.com/api/simulator/media/x/video.mp4");
  });

  it("never turns a task id into a path outside its folder", async () => {
    const { media } = await freshSimulator(3000);
    expect(media.renderMedia("..%2F..%2Fetc", "thumbnail.svg")).toMatchObject({ known: false });
    const { recallMedia } = await import("@/lib/simulator/media-store");
    expect(recallMedia("../pglite")).toBeNull();
  });

  it("pages load simulator media from their own origin, other media as given", () => {
    expect(mediaSrc("http://localhost:3000/api/simulator/media/task_1/final.mp4")).toBe(
      "/api/simulator/media/task_1/final.mp4",
    );
    expect(mediaSrc("https://cdn.example.com/v.mp4")).toBe("https://cdn.example.com/v.mp4");
    expect(mediaSrc(null)).toBeNull();
  });
});
