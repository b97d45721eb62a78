import { describe, expect, it } from "vitest";
import type { Continuity, JobStatus, ProjectStatus, SceneStatus } from "@/lib/db/schema";
import {
  type JobSpec,
  type JobState,
  jobKey,
  type PipelineEvent,
  type PipelineState,
  type SceneState,
  transition,
} from "@/lib/pipeline/transition";

/** Every arrow of CONTRACT.md §1, and every event that must change nothing, without a database. */

function scene(
  number: number,
  status: SceneStatus = "pending",
  extra: Partial<SceneState> = {},
): SceneState {
  return {
    id: `scn_${number}`,
    number,
    prompt: `prompt ${number}`,
    duration: 5,
    status,
    attempts: status === "pending" ? 0 : 1,
    progress: 0,
    videoUrl: null,
    thumbnailUrl: null,
    lastFrameUrl: null,
    takes: status === "completed" ? 1 : 0,
    ...extra,
  };
}

function state(
  status: ProjectStatus,
  scenes: SceneState[],
  job?: Partial<JobState> & Pick<JobState, "kind">,
  maxAttempts = 3,
  continuity: Continuity = "chain",
): PipelineState {
  return {
    project: {
      id: "prj_1",
      name: "Demo",
      status,
      run: 1,
      startImageUrl: "https://img.example/start.png",
      continuity,
    },
    scenes,
    job: job && {
      id: "job_1",
      projectId: "prj_1",
      sceneId: null,
      status: "waiting",
      attempt: 1,
      payload: { x: 1 },
      ...job,
    },
    maxAttempts,
    maxParallel: 3,
    now: NOW,
  };
}

const NOW = new Date("2026-12-01T12:00:00Z");

const done = (n: number) =>
  scene(n, "completed", {
    videoUrl: `https://v.example/${n}.mp4`,
    thumbnailUrl: `https://v.example/${n}.jpg`,
    lastFrameUrl: `https://f.example/${n}.jpg`,
  });
const videoDone: PipelineEvent = {
  type: "stage_completed",
  result: { videoUrl: "https://v.example/new.mp4" },
};
const frameDone: PipelineEvent = {
  type: "stage_completed",
  result: { lastFrameUrl: "https://f.example/new.jpg" },
};
const stitchDone: PipelineEvent = {
  type: "stage_completed",
  result: { finalVideoUrl: "https://v.example/final.mp4", duration: 15 },
};
const failed: PipelineEvent = { type: "stage_failed", error: "model timed out" };

describe("start", () => {
  it("moves draft → generating and queues scene 1 from the project's start image", () => {
    const d = transition(state("draft", [scene(1), scene(2)]), { type: "start" });
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.project).toEqual({ id: "prj_1", expect: "draft", patch: { status: "generating" } });
    expect(d.scenes).toHaveLength(1);
    expect(d.scenes[0]).toMatchObject({
      id: "scn_1",
      expect: "pending",
      patch: { status: "generating_video", attempts: 1 },
    });
    expect(d.enqueue).toEqual([
      expect.objectContaining({
        kind: "generate_video",
        sceneId: "scn_1",
        attempt: 1,
        payload: expect.objectContaining({
          start_image_url: "https://img.example/start.png",
          scene_number: 1,
        }),
      }),
    ]);
  });

  it.each(["generating", "stitching", "completed", "failed", "cancelled"] as const)(
    "is refused from %s",
    (status) => {
      expect(transition(state(status, [scene(1)]), { type: "start" }).outcome).toBe("refused");
    },
  );
});

describe("video-complete", () => {
  const generating = (job: Partial<JobState> = {}, sceneStatus: SceneStatus = "generating_video") =>
    state("generating", [scene(1, sceneStatus), scene(2)], {
      kind: "generate_video",
      sceneId: "scn_1",
      ...job,
    });

  it("records the video and queues last-frame extraction", () => {
    const d = transition(generating(), videoDone);
    expect(d).toMatchObject({
      outcome: "applied",
      job: { id: "job_1", expect: "waiting", patch: { status: "succeeded" } },
      scenes: [
        {
          id: "scn_1",
          expect: "generating_video",
          patch: { status: "extracting_frame", videoUrl: "https://v.example/new.mp4" },
        },
      ],
      enqueue: [
        {
          kind: "extract_last_frame",
          sceneId: "scn_1",
          attempt: 1,
          payload: { video_url: "https://v.example/new.mp4" },
        },
      ],
      flags: { scene_updated: true, last_frame_triggered: true },
    });
  });

  it("keeps the attempts the video needed when the scene moves on to its last frame", () => {
    const d = transition(generating({ attempt: 2 }), videoDone);
    expect(d.outcome).toBe("applied");
    if (d.outcome === "applied") expect(d.scenes[0]?.patch.attempts).toBeUndefined();
  });

  it("accepts a callback that raced ahead of the record of its submission (job still running)", () => {
    expect(transition(generating({ status: "running" }), videoDone).outcome).toBe("applied");
  });

  it("stores progress without changing status", () => {
    const d = transition(generating(), { type: "stage_progress", progress: 45.4 });
    expect(d).toMatchObject({
      outcome: "applied",
      scenes: [{ id: "scn_1", patch: { progress: 45 } }],
      enqueue: [],
    });
    if (d.outcome === "applied") {
      expect(d.scenes[0]?.patch.status).toBeUndefined();
      expect(d.job).toBeUndefined();
    }
  });

  it("clamps progress into 0..100", () => {
    const d = transition(generating(), { type: "stage_progress", progress: 250 });
    expect(d).toMatchObject({ scenes: [{ patch: { progress: 100 } }] });
  });

  it("retries a failed attempt below the limit with the same request", () => {
    const d = transition(generating({ attempt: 2 }), failed);
    expect(d).toMatchObject({
      outcome: "applied",
      job: { patch: { status: "failed", lastError: "model timed out" } },
      scenes: [{ id: "scn_1", patch: { attempts: 3 } }],
      enqueue: [{ kind: "generate_video", sceneId: "scn_1", attempt: 3, payload: { x: 1 } }],
    });
    if (d.outcome === "applied") expect(d.project).toBeUndefined();
  });

  it("fails the scene and the project at the last attempt, and notifies", () => {
    const d = transition(generating({ attempt: 3 }), failed);
    expect(d).toMatchObject({
      outcome: "applied",
      scenes: [{ id: "scn_1", patch: { status: "failed" } }],
      project: { expect: "generating", patch: { status: "failed" } },
      enqueue: [{ kind: "notify", payload: { type: "project_failed" } }],
      flags: { user_notified: true },
    });
    if (d.outcome === "applied")
      expect(d.scenes[0]?.patch.error).toContain("attempt 3 of 3 failed: model timed out");
  });

  it.each<[string, PipelineState, string]>([
    ["an older attempt's task", generating({ status: "failed" }), "stale attempt"],
    ["a timed-out job", generating({ status: "dead" }), "stale attempt"],
    ["a stage already completed", generating({ status: "succeeded" }), "already completed"],
    ["a cancelled job", generating({ status: "cancelled" }), "cancelled"],
    ["a scene past this stage", generating({}, "extracting_frame"), "past this stage"],
    [
      "a cancelled project",
      state("cancelled", [scene(1, "failed")], { kind: "generate_video", sceneId: "scn_1" }),
      "cancelled",
    ],
    [
      "a failed project",
      state("failed", [scene(1, "failed")], { kind: "generate_video", sceneId: "scn_1" }),
      "project is failed",
    ],
  ])("ignores %s", (_name, s, reason) => {
    for (const event of [videoDone, failed, { type: "stage_progress", progress: 10 } as const]) {
      const d = transition(s, event);
      expect(d.outcome).toBe("ignored");
      if (d.outcome === "ignored") expect(d.reason).toContain(reason);
    }
  });
});

describe("last-frame-complete", () => {
  const extracting = (scenes: SceneState[]) =>
    state("generating", scenes, {
      kind: "extract_last_frame",
      sceneId: scenes.find((s) => s.status === "extracting_frame")!.id,
    });

  it("completes the scene and starts the next one from its last frame", () => {
    const d = transition(
      extracting([
        scene(1, "extracting_frame", { videoUrl: "https://v.example/1.mp4" }),
        scene(2),
        scene(3),
      ]),
      frameDone,
    );
    expect(d).toMatchObject({
      outcome: "applied",
      scenes: [
        { id: "scn_1", patch: { status: "completed", lastFrameUrl: "https://f.example/new.jpg" } },
        {
          id: "scn_2",
          expect: "pending",
          patch: { status: "generating_video", startImageUrl: "https://f.example/new.jpg" },
        },
      ],
      enqueue: [
        {
          kind: "generate_video",
          sceneId: "scn_2",
          payload: { start_image_url: "https://f.example/new.jpg", scene_number: 2 },
        },
      ],
      flags: { next_scene_triggered: true, stitch_triggered: false },
    });
  });

  it("after the last scene moves the project to stitching with every video in order", () => {
    const d = transition(
      extracting([
        done(1),
        done(2),
        scene(3, "extracting_frame", { videoUrl: "https://v.example/3.mp4" }),
      ]),
      frameDone,
    );
    expect(d).toMatchObject({
      outcome: "applied",
      project: { expect: "generating", patch: { status: "stitching" } },
      enqueue: [
        {
          kind: "stitch",
          payload: {
            video_urls: [
              "https://v.example/1.mp4",
              "https://v.example/2.mp4",
              "https://v.example/3.mp4",
            ],
          },
        },
      ],
      flags: { stitch_triggered: true, next_scene_triggered: false },
    });
  });

  it("a one-scene project skips stitching: its final video is the scene's video", () => {
    const d = transition(
      extracting([
        scene(1, "extracting_frame", {
          videoUrl: "https://v.example/1.mp4",
          thumbnailUrl: "https://v.example/1.jpg",
        }),
      ]),
      frameDone,
    );
    expect(d).toMatchObject({
      outcome: "applied",
      project: {
        patch: {
          status: "completed",
          finalVideoUrl: "https://v.example/1.mp4",
          thumbnailUrl: "https://v.example/1.jpg",
        },
      },
      enqueue: [
        {
          kind: "notify",
          payload: { type: "project_completed", video_url: "https://v.example/1.mp4" },
        },
      ],
    });
  });

  it("ignores a frame callback for a scene still generating its video (out of order)", () => {
    const s = state("generating", [scene(1, "generating_video")], {
      kind: "extract_last_frame",
      sceneId: "scn_1",
    });
    expect(transition(s, frameDone).outcome).toBe("ignored");
  });
});

describe("stitch-complete", () => {
  const stitching = (job: Partial<JobState> = {}, status: ProjectStatus = "stitching") =>
    state(status, [done(1), done(2)], { kind: "stitch", ...job });

  it("completes the project with the final video and notifies", () => {
    const d = transition(stitching(), stitchDone);
    expect(d).toMatchObject({
      outcome: "applied",
      project: {
        expect: "stitching",
        patch: { status: "completed", finalVideoUrl: "https://v.example/final.mp4", duration: 15 },
      },
      enqueue: [{ kind: "notify", payload: { type: "project_completed" } }],
      flags: {
        project_updated: true,
        user_notified: true,
        final_video_url: "https://v.example/final.mp4",
      },
    });
  });

  it("retries a failed stitch, then fails the project at the limit", () => {
    expect(transition(stitching({ attempt: 1 }), failed)).toMatchObject({
      outcome: "applied",
      enqueue: [{ kind: "stitch", attempt: 2 }],
    });
    expect(transition(stitching({ attempt: 3 }), failed)).toMatchObject({
      outcome: "applied",
      project: { patch: { status: "failed" } },
      enqueue: [{ kind: "notify", payload: { type: "project_failed" } }],
    });
  });

  it.each(["generating", "completed", "cancelled", "failed"] as const)(
    "is ignored while the project is %s",
    (status) => {
      expect(transition(stitching({}, status), stitchDone).outcome).toBe("ignored");
    },
  );
});

describe("cancel", () => {
  it.each(["draft", "generating", "stitching"] as const)(
    "stops a %s project and its active jobs",
    (status) => {
      const d = transition(state(status, [done(1), scene(2, "generating_video"), scene(3)]), {
        type: "cancel",
      });
      expect(d).toMatchObject({
        outcome: "applied",
        project: { expect: status, patch: { status: "cancelled" } },
        cancelActiveJobs: true,
        enqueue: [],
      });
      if (d.outcome === "applied") expect(d.scenes.map((s) => s.id)).toEqual(["scn_2"]);
    },
  );

  it.each(["completed", "failed", "cancelled"] as const)("is refused from %s", (status) => {
    expect(transition(state(status, [done(1)]), { type: "cancel" }).outcome).toBe("refused");
  });
});

describe("retry", () => {
  it("resumes a scene that failed generating its video, from the previous scene's last frame, in a new run", () => {
    const d = transition(
      state("failed", [done(1), scene(2, "failed", { attempts: 3 }), scene(3)]),
      { type: "retry" },
    );
    expect(d).toMatchObject({
      outcome: "applied",
      project: { expect: "failed", patch: { status: "generating", run: 2, error: null } },
      scenes: [
        { id: "scn_2", expect: "failed", patch: { status: "generating_video", attempts: 1 } },
      ],
      enqueue: [
        {
          kind: "generate_video",
          sceneId: "scn_2",
          attempt: 1,
          payload: { start_image_url: "https://f.example/1.jpg" },
        },
      ],
    });
  });

  it("resumes a scene whose last frame failed without regenerating its video", () => {
    const d = transition(
      state("failed", [scene(1, "failed", { videoUrl: "https://v.example/1.mp4" })]),
      { type: "retry" },
    );
    expect(d).toMatchObject({
      outcome: "applied",
      scenes: [{ id: "scn_1", patch: { status: "extracting_frame" } }],
      enqueue: [{ kind: "extract_last_frame", payload: { video_url: "https://v.example/1.mp4" } }],
    });
  });

  it("stitches again when every scene was done", () => {
    const d = transition(state("failed", [done(1), done(2)]), { type: "retry" });
    expect(d).toMatchObject({
      outcome: "applied",
      project: { patch: { status: "stitching" } },
      enqueue: [{ kind: "stitch" }],
    });
  });

  it.each(["draft", "generating", "stitching", "completed", "cancelled"] as const)(
    "is refused from %s",
    (status) => {
      expect(transition(state(status, [done(1)]), { type: "retry" }).outcome).toBe("refused");
    },
  );
});

describe("jobKey", () => {
  it("differs by run and attempt, so a retry never collides with the step it replaces", () => {
    const spec: JobSpec = {
      kind: "extract_last_frame",
      sceneId: "scn_1",
      attempt: 1,
      payload: { video_url: "https://v.example/1.mp4" },
    };
    expect(jobKey("prj_1", 1, spec)).not.toBe(jobKey("prj_1", 2, spec));
    expect(jobKey("prj_1", 1, spec)).not.toBe(jobKey("prj_1", 1, { ...spec, attempt: 2 }));
  });
});

describe("statuses only move forward", () => {
  const order: Record<SceneStatus, number> = {
    pending: 0,
    generating_video: 1,
    extracting_frame: 2,
    completed: 3,
    failed: 4,
  };
  const jobStatuses: JobStatus[] = [
    "queued",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "cancelled",
    "dead",
  ];
  it("no callback event ever moves a scene backwards", () => {
    const events = [
      videoDone,
      frameDone,
      stitchDone,
      failed,
      { type: "stage_progress", progress: 5 } as const,
    ];
    const kinds = ["generate_video", "extract_last_frame", "stitch"] as const;
    const sceneStatuses = Object.keys(order) as SceneStatus[];
    for (const kind of kinds)
      for (const jobStatus of jobStatuses)
        for (const sceneStatus of sceneStatuses)
          for (const event of events) {
            const s = state(
              "generating",
              [scene(1, sceneStatus, { videoUrl: "https://v.example/1.mp4" }), scene(2)],
              {
                kind,
                sceneId: kind === "stitch" ? null : "scn_1",
                status: jobStatus,
              },
            );
            const d = transition(s, event);
            if (d.outcome !== "applied") continue;
            for (const change of d.scenes) {
              const from = s.scenes.find((x) => x.id === change.id)!.status;
              if (change.patch.status)
                expect(order[change.patch.status]).toBeGreaterThan(order[from]);
            }
          }
  });
});

describe("independent continuity", () => {
  const independent = (
    status: ProjectStatus,
    scenes: SceneState[],
    job?: Partial<JobState> & Pick<JobState, "kind">,
  ) => state(status, scenes, job, 3, "independent");

  it("start queues up to MAX_PARALLEL_SCENES scenes at once, all from the project's start image", () => {
    const d = transition(
      independent(
        "draft",
        [1, 2, 3, 4, 5].map((n) => scene(n)),
      ),
      {
        type: "start",
      },
    );
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.enqueue.map((j) => j.kind)).toEqual([
      "generate_video",
      "generate_video",
      "generate_video",
    ]);
    expect(d.enqueue.map((j) => j.sceneId)).toEqual(["scn_1", "scn_2", "scn_3"]);
    for (const j of d.enqueue)
      expect(j.payload).toMatchObject({ start_image_url: "https://img.example/start.png" });
  });

  it("a video completes its scene (no last-frame stage), keeps it as a take, and starts the next pending scene", () => {
    const scenes = [
      scene(1, "generating_video"),
      scene(2, "generating_video"),
      scene(3, "generating_video"),
      scene(4),
    ];
    const d = transition(
      independent("generating", scenes, { kind: "generate_video", sceneId: "scn_2" }),
      videoDone,
    );
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.scenes[0]).toMatchObject({
      id: "scn_2",
      patch: {
        status: "completed",
        videoUrl: "https://v.example/new.mp4",
        takes: 1,
        selectedTake: 1,
      },
    });
    expect(d.takes).toEqual([
      expect.objectContaining({ sceneId: "scn_2", take: 1, videoUrl: "https://v.example/new.mp4" }),
    ]);
    expect(d.enqueue).toEqual([
      expect.objectContaining({ kind: "generate_video", sceneId: "scn_4" }),
    ]);
  });

  it("the last scene to finish queues the one stitch, in scene order", () => {
    const scenes = [done(1), scene(2, "generating_video"), done(3)];
    const d = transition(
      independent("generating", scenes, { kind: "generate_video", sceneId: "scn_2" }),
      videoDone,
    );
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.project?.patch.status).toBe("stitching");
    expect(d.enqueue).toEqual([
      expect.objectContaining({
        kind: "stitch",
        payload: {
          video_urls: [
            "https://v.example/1.mp4",
            "https://v.example/new.mp4",
            "https://v.example/3.mp4",
          ],
        },
      }),
    ]);
  });

  it("while other scenes still generate, a completed scene waits for them", () => {
    const scenes = [scene(1, "generating_video"), scene(2, "generating_video")];
    const d = transition(
      independent("generating", scenes, { kind: "generate_video", sceneId: "scn_1" }),
      videoDone,
    );
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.enqueue).toEqual([]);
    expect(d.project).toBeUndefined();
  });
});

describe("re-shoots and takes", () => {
  const completed = () => [done(1), done(2), done(3), done(4)];

  it("regenerate scene 2 with scope following: scene 2 from scene 1's last frame, scenes 3-4 wait, in a new run", () => {
    const d = transition(state("completed", completed()), {
      type: "regenerate",
      sceneNumber: 2,
      prompt: "a new prompt",
      scope: "following",
    });
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.project?.patch).toMatchObject({ status: "generating", run: 2 });
    expect(d.enqueue).toEqual([
      expect.objectContaining({
        kind: "generate_video",
        sceneId: "scn_2",
        payload: expect.objectContaining({
          prompt: "a new prompt",
          start_image_url: "https://f.example/1.jpg",
        }),
      }),
    ]);
    expect(d.scenes.map((c) => [c.id, c.patch.status])).toEqual([
      ["scn_2", "generating_video"],
      ["scn_3", "pending"],
      ["scn_4", "pending"],
    ]);
    expect(d.scenes[0]?.patch.prompt).toBe("a new prompt");
  });

  it("after the re-shot scene's last frame, the next pending scene follows from the new last frame", () => {
    const scenes = [
      done(1),
      scene(2, "extracting_frame", { videoUrl: "https://v.example/2b.mp4", takes: 1 }),
      scene(3, "pending", { takes: 1, videoUrl: "https://v.example/3.mp4" }),
      scene(4, "pending", { takes: 1, videoUrl: "https://v.example/4.mp4" }),
    ];
    const d = transition(
      state("generating", scenes, { kind: "extract_last_frame", sceneId: "scn_2" }),
      frameDone,
    );
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.takes).toEqual([expect.objectContaining({ sceneId: "scn_2", take: 2 })]);
    expect(d.enqueue).toEqual([
      expect.objectContaining({
        sceneId: "scn_3",
        payload: expect.objectContaining({ start_image_url: "https://f.example/new.jpg" }),
      }),
    ]);
  });

  it("scope scene: only that scene goes again; after its last frame the project is stitched", () => {
    const d = transition(state("completed", completed()), {
      type: "regenerate",
      sceneNumber: 2,
      scope: "scene",
    });
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.scenes.map((c) => c.id)).toEqual(["scn_2"]);
    const after = [
      done(1),
      scene(2, "extracting_frame", { videoUrl: "https://v.example/2b.mp4", takes: 1 }),
      done(3),
      done(4),
    ];
    const f = transition(
      state("generating", after, { kind: "extract_last_frame", sceneId: "scn_2" }),
      frameDone,
    );
    expect(f.outcome === "applied" && f.project?.patch.status).toBe("stitching");
  });

  it("refuses a re-shoot while the project runs, and of a scene it does not have", () => {
    expect(
      transition(state("generating", completed()), { type: "regenerate", sceneNumber: 1 }).outcome,
    ).toBe("refused");
    expect(
      transition(state("completed", completed()), { type: "regenerate", sceneNumber: 9 }).outcome,
    ).toBe("refused");
  });

  it("select-take re-stitches with the chosen take and generates nothing", () => {
    const d = transition(state("completed", completed()), {
      type: "select_take",
      sceneNumber: 3,
      take: {
        take: 1,
        videoUrl: "https://v.example/3-old.mp4",
        thumbnailUrl: null,
        lastFrameUrl: null,
      },
    });
    expect(d.outcome).toBe("applied");
    if (d.outcome !== "applied") return;
    expect(d.project?.patch).toMatchObject({ status: "stitching", run: 2 });
    expect(d.enqueue).toHaveLength(1);
    expect(d.enqueue[0]).toMatchObject({
      kind: "stitch",
      payload: {
        video_urls: [
          "https://v.example/1.mp4",
          "https://v.example/2.mp4",
          "https://v.example/3-old.mp4",
          "https://v.example/4.mp4",
        ],
      },
    });
    expect(d.scenes[0]).toMatchObject({ id: "scn_3", patch: { selectedTake: 1 } });
  });

  it("select-take refuses an unknown take and a project that is not completed", () => {
    expect(
      transition(state("completed", completed()), {
        type: "select_take",
        sceneNumber: 3,
        take: null,
      }).outcome,
    ).toBe("refused");
    const take = {
      take: 1,
      videoUrl: "https://v.example/x.mp4",
      thumbnailUrl: null,
      lastFrameUrl: null,
    };
    expect(
      transition(state("failed", completed()), { type: "select_take", sceneNumber: 3, take })
        .outcome,
    ).toBe("refused");
  });

  it("a completed stitch adds the final video to the project's list", () => {
    const d = transition(state("stitching", completed(), { kind: "stitch" }), stitchDone);
    expect(d.outcome === "applied" && d.finalVideo).toBe("https://v.example/final.mp4");
  });
});
