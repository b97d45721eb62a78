import { describe, expect, it } from "vitest";
import { parseCallback } from "@/lib/webhooks/payloads";
import type { Stage } from "@/lib/webhooks/stages";
import { promptMarkers } from "@/simulator/markers";
import { sceneHue, takeLabel, wrapText, xmlEscape } from "@/simulator/media";
import { callbackSequence, mediaUrl, progressValues } from "@/simulator/payloads";
import { shuffled } from "@/simulator/stand-in";
import type { PayloadShape, SimService, SimTask, TaskOutcome } from "@/simulator/state";

const BASE = "http://127.0.0.1:3999/api/simulator";

function task(service: SimService, shape: PayloadShape, outcome: TaskOutcome, ids = true): SimTask {
  return {
    id:
      shape === "service" ? "3f0c8a9e-5d2b-4c1e-9a7f-2b6d8e4c1a90" : "task_1700000000000_abcd1234",
    service,
    shape,
    outcome,
    error: outcome === "failed" ? "Simulated failure" : null,
    idempotencyKey: "job_1",
    jobId: "job_1",
    projectId: ids ? "prj_1" : null,
    sceneId: ids && service !== "stitch" ? "scn_1" : null,
    sceneNumber: 1,
    take: 1,
    prompt: "A lighthouse",
    duration: 5,
    videoUrls:
      service === "video"
        ? []
        : ["https://videos.example.com/1.mp4", "https://videos.example.com/2.mp4"],
    startImageUrl: null,
    metadata:
      service === "video" ? { project_id: "prj_1", scene_id: "scn_1", job_id: "job_1" } : null,
    callbackUrl: "http://127.0.0.1:1/cb",
    delayMs: 1500,
    createdAt: Date.now(),
    answer: {},
  };
}

const STAGE: Record<SimService, Stage> = {
  video: "video-complete",
  "last-frame": "last-frame-complete",
  stitch: "stitch-complete",
};
const RESULT_KEY = {
  video: "videoUrl",
  "last-frame": "lastFrameUrl",
  stitch: "finalVideoUrl",
} as const;

describe("callback bodies", () => {
  const cases = (["video", "last-frame", "stitch"] as const).flatMap((service) =>
    (["documented", "service"] as const).flatMap((shape) =>
      (["completed", "failed"] as const).map((outcome) => [service, shape, outcome] as const),
    ),
  );

  it.each(cases)(
    "%s / %s shape / %s parses as the app's callback schema",
    (service, shape, outcome) => {
      const t = task(service, shape, outcome);
      const bodies = callbackSequence(t, 3, BASE);
      expect(bodies).toHaveLength(service === "video" ? 4 : 1);
      const parsed = bodies.map((body) => {
        const result = parseCallback(STAGE[service], JSON.parse(JSON.stringify(body)));
        if (!result.ok) throw new Error(JSON.stringify(result.issues));
        return result.callback;
      });
      expect(parsed.map((p) => p.kind)).toEqual([
        ...Array(bodies.length - 1).fill("progress"),
        outcome,
      ]);
      expect(parsed.every((p) => p.taskId === t.id)).toBe(true);
      const last = parsed.at(-1)!;
      if (outcome === "completed")
        expect(last.result[RESULT_KEY[service]]).toMatch(
          /^http:\/\/127\.0\.0\.1:3999\/api\/simulator\/media\//,
        );
      else expect(last.error).toBe("Simulated failure");
      // Ids are ours or absent, never invented.
      for (const p of parsed) {
        expect([null, "prj_1"]).toContain(p.projectId);
        expect([null, "scn_1"]).toContain(p.sceneId);
      }
    },
  );

  it("omits ids the request did not give", () => {
    for (const shape of ["documented", "service"] as const) {
      const body = callbackSequence(task("last-frame", shape, "completed", false), 0, BASE)[0]!;
      expect(body.scene_id).toBeUndefined();
      expect(body.project_id).toBeUndefined();
    }
  });

  it("progress rises strictly between 0 and 100", () => {
    expect(progressValues(0)).toEqual([]);
    expect(progressValues(2)).toEqual([33, 67]);
    const ten = progressValues(10);
    expect(ten.every((v, i) => v > 0 && v < 100 && (i === 0 || v > ten[i - 1]!))).toBe(true);
  });
});

describe("prompt markers", () => {
  it("finds each marker, case-insensitively, and tells [fail] from [fail-once]", () => {
    expect(promptMarkers("a [FAIL-once] b [Slow]")).toEqual({
      fail: false,
      failOnce: true,
      silent: false,
      flaky: false,
      slow: true,
    });
    expect(promptMarkers("[fail][silent][flaky]")).toEqual({
      fail: true,
      failOnce: false,
      silent: true,
      flaky: true,
      slow: false,
    });
    expect(promptMarkers("fail silently, slowly")).toEqual({
      fail: false,
      failOnce: false,
      silent: false,
      flaky: false,
      slow: false,
    });
    expect(promptMarkers(null).fail).toBe(false);
  });
});

describe("media helpers", () => {
  it("escapes markup and drops the control characters XML forbids", () => {
    expect(xmlEscape(`<a href="x">'&'</a>\u0000\u001b\tok`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;\tok",
    );
  });

  it("wraps long prompts into at most four lines, cutting the rest", () => {
    const lines = wrapText("word ".repeat(100), 20, 4);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.length <= 20)).toBe(true);
    expect(lines[3]!.endsWith("…")).toBe(true);
    expect(wrapText("x".repeat(100), 10)[0]).toBe(`${"x".repeat(9)}…`);
  });

  it("gives neighbouring scenes different hues and builds short absolute URLs", () => {
    const hues = Array.from({ length: 12 }, (_, i) => sceneHue(i + 1));
    expect(new Set(hues).size).toBe(12);
    expect(mediaUrl(BASE, "task_1_ab", "last-frame")).toBe(
      "http://127.0.0.1:3999/api/simulator/media/task_1_ab/last-frame.svg",
    );
  });
});

describe("takes", () => {
  it("labels each take of a scene apart: its number and a hash of its prompt", () => {
    const first = takeLabel({ take: 1, prompt: "A lighthouse" });
    expect(first).toMatch(/^take 1 · #[0-9a-f]{4}$/);
    expect(takeLabel({ take: 2, prompt: "A lighthouse" })).not.toBe(first);
    expect(takeLabel({ take: 1, prompt: "A lighthouse at night" })).not.toBe(first);
  });
});

describe("shuffle", () => {
  it("always changes the order of two or more callbacks and keeps every one", () => {
    for (let i = 0; i < 200; i++) {
      const items = ["p1", "p2", "done"];
      const out = shuffled(items);
      expect(out).not.toEqual(items);
      expect([...out].sort()).toEqual([...items].sort());
    }
    expect(shuffled(["only"])).toEqual(["only"]);
  });
});
