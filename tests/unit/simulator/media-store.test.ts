import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { mediaSrc } from "@/app/components/media-src";
import type { MediaRecord } from "@/simulator/media-store";
import type { MediaKind } from "@/simulator/payloads";
import type { SimTask } from "@/simulator/state";

const dir = mkdtempSync(path.join(tmpdir(), "framechain-media-"));
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh module graph, as after a restart: nothing in memory, the same data dir on disk. */
async function freshSimulator(port: number) {
  vi.resetModules();
  vi.stubEnv("APP_URL", `http://localhost:${port}`);
  const store = await import("@/simulator/media-store");
  const media = await import("@/simulator/media");
  const { mediaUrl } = await import("@/simulator/payloads");
  const { currentMediaUrl } = await import("@/lib/services/endpoints");
  const mediaDir = store.mediaDir(path.join(dir, "pglite"));
  const live = new Map<string, MediaRecord>(); // the stand-in's tasks in memory
  return {
    save(task: SimTask) {
      live.set(task.id, task);
      store.rememberMedia(task, mediaDir, undefined);
    },
    render: (taskId: string, file: string) =>
      media.renderMedia(taskId, file, (id) => live.get(id) ?? store.recallMedia(id, mediaDir)),
    mediaUrl: (taskId: string, kind: MediaKind) =>
      mediaUrl(`http://localhost:${port}/api/simulator`, taskId, kind),
    live,
    mediaDir,
    currentMediaUrl,
  };
}

function videoTask(id: string, sceneNumber: number, prompt: string): SimTask {
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
    take: 1,
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
    before.save(videoTask("task_1_aa", 1, "A lighthouse at dawn"));
    before.save(videoTask("task_2_bb", 2, "Gulls over the tower"));
    const urls = ["task_1_aa", "task_2_bb"].map((id) => before.mediaUrl(id, "video"));
    before.save({ ...videoTask("task_3_cc", 0, ""), service: "stitch", videoUrls: urls });
    const stillBefore = before.render("task_1_aa", "thumbnail.svg");
    const posterBefore = before.render("task_3_cc", "poster.svg");
    const clipBefore = before.render("task_3_cc", "final.mp4");
    expect(existsSync(path.join(dir, "simulator-media", "task_1_aa.json"))).toBe(true);

    const after = await freshSimulator(4123);
    expect(after.live.has("task_1_aa")).toBe(false);
    const still = after.render("task_1_aa", "thumbnail.svg");
    expect(still).toMatchObject({ known: true });
    expect(still?.body).toEqual(stillBefore?.body);
    expect(String(still?.body)).toContain("A lighthouse at dawn");
    expect(after.render("task_3_cc", "poster.svg")?.body).toEqual(posterBefore?.body);
    expect(after.render("task_3_cc", "final.mp4")?.body).toEqual(clipBefore?.body);
    // The URL stored with the old port now points at the current address.
    expect(after.currentMediaUrl(urls[0]!)).toBe(
      "http://localhost:4123/api/simulator/media/task_1_aa/video.mp4",
    );
    expect(after.currentMediaUrl("https://cdn.example.com/api/simulator/media/x/video.mp4")).toBe(
      "https://cdn.example.com/api/simulator/media/x/video.mp4",
    );
  });

  it("never turns a task id into a path outside its folder", async () => {
    const sim = await freshSimulator(3000);
    expect(sim.render("..%2F..%2Fetc", "thumbnail.svg")).toMatchObject({ known: false });
    const { recallMedia } = await import("@/simulator/media-store");
    expect(recallMedia("../pglite", sim.mediaDir)).toBeNull();
  });

  it("pages load simulator media from their own origin, other media as given", () => {
    expect(mediaSrc("http://localhost:3000/api/simulator/media/task_1/final.mp4")).toBe(
      "/api/simulator/media/task_1/final.mp4",
    );
    expect(mediaSrc("https://cdn.example.com/v.mp4")).toBe("https://cdn.example.com/v.mp4");
    expect(mediaSrc(null)).toBeNull();
  });
});
