import {
  ACTIVE_JOB_STATUSES,
  type Continuity,
  type JobKind,
  type JobStatus,
  type ProjectStatus,
  type RegenerateScope,
  type SceneStatus,
  type StageKind,
} from "./statuses";

/**
 * The whole pipeline of CONTRACT.md §1 as one pure function: given the current state of a
 * project and one event, decide what changes. No I/O: `apply.ts` loads the state, calls
 * this, and writes the decision with compare-and-set updates (store.ts).
 */

export type { StageKind };

export type ProjectState = {
  id: string;
  name: string;
  status: ProjectStatus;
  run: number;
  startImageUrl: string | null;
  continuity: Continuity;
};

export type SceneState = {
  id: string;
  number: number;
  prompt: string;
  duration: number;
  status: SceneStatus;
  attempts: number;
  progress: number;
  videoUrl: string | null;
  thumbnailUrl: string | null;
  lastFrameUrl: string | null;
  /** Completed generations so far (the next take is takes + 1). */
  takes: number;
};

export type JobState = {
  id: string;
  kind: JobKind;
  projectId: string;
  sceneId: string | null;
  status: JobStatus;
  attempt: number;
  payload: Record<string, unknown>;
};

export type PipelineState = {
  project: ProjectState;
  /** Every scene of the project, ordered by number. */
  scenes: SceneState[];
  /** The job the event is about (callbacks, dispatch results, deadlines). */
  job?: JobState;
  maxAttempts: number;
  /** `independent` projects: at most this many scenes generating at once. */
  maxParallel: number;
  /** The time the event is decided at (an input, so the core stays pure). */
  now: Date;
};

/** A kept generation of a scene, as select-take needs it. */
export type TakeState = {
  take: number;
  videoUrl: string;
  thumbnailUrl: string | null;
  lastFrameUrl: string | null;
};

export type { RegenerateScope };

export type NewTake = {
  sceneId: string;
  take: number;
  prompt: string;
  duration: number;
  videoUrl: string;
  thumbnailUrl: string | null;
  lastFrameUrl: string | null;
};

export type StageResult = {
  videoUrl?: string;
  thumbnailUrl?: string;
  lastFrameUrl?: string;
  finalVideoUrl?: string;
  duration?: number;
};

export type PipelineEvent =
  | { type: "start" }
  | { type: "cancel" }
  | { type: "retry" }
  | { type: "stage_completed"; result: StageResult }
  | { type: "stage_failed"; error: string }
  | { type: "stage_progress"; progress: number }
  | {
      type: "regenerate";
      sceneNumber: number;
      prompt?: string;
      duration?: number;
      /** Default: `following` in chain mode, `scene` in independent mode. */
      scope?: RegenerateScope;
    }
  /** `take` is null when the scene has no such take. */
  | { type: "select_take"; sceneNumber: number; take: TakeState | null };

export type NotifyType = "project_completed" | "project_failed";

/**
 * What each kind of job carries: written by transition(), read by the request builders
 * (lib/services/requests.ts) — one definition for both ends of the outbox.
 */
export type JobPayloads = {
  generate_video: {
    scene_id: string;
    scene_number: number;
    prompt: string;
    start_image_url: string | null;
    duration: number;
    project_id: string;
  };
  extract_last_frame: { video_url: string };
  stitch: { video_urls: (string | null)[] };
  notify: {
    type: NotifyType;
    project_id: string;
    project_name: string;
    video_url: string | null;
    error: string | null;
  };
};

export type JobSpec = {
  [K in JobKind]: { kind: K; sceneId: string | null; attempt: number; payload: JobPayloads[K] };
}[JobKind];

type Patch<T> = Partial<T>;

export type ProjectPatch = Patch<{
  status: ProjectStatus;
  run: number;
  finalVideoUrl: string | null;
  thumbnailUrl: string | null;
  duration: number | null;
  error: string | null;
  completedAt: Date | null;
}>;

export type ScenePatch = Patch<{
  status: SceneStatus;
  prompt: string;
  duration: number;
  takes: number;
  selectedTake: number | null;
  attempts: number;
  progress: number;
  videoUrl: string | null;
  thumbnailUrl: string | null;
  lastFrameUrl: string | null;
  startImageUrl: string | null;
  error: string | null;
}>;

export type JobPatch = Patch<{ status: JobStatus; lastError: string | null }>;

/** A change guarded by the status the row must still have (compare-and-set). */
export type Guarded<P> = { id: string; expect: string; patch: P };

export type Triggered = {
  scene_updated?: boolean;
  last_frame_triggered?: boolean;
  next_scene_triggered?: boolean;
  stitch_triggered?: boolean;
  project_updated?: boolean;
  user_notified?: boolean;
  final_video_url?: string;
};

export type Decision =
  | { outcome: "ignored"; reason: string }
  | { outcome: "refused"; reason: string }
  | {
      outcome: "applied";
      project?: Guarded<ProjectPatch>;
      scenes: Guarded<ScenePatch>[];
      job?: Guarded<JobPatch>;
      /** Cancel every queued/running/waiting job of the project. */
      cancelActiveJobs?: boolean;
      enqueue: JobSpec[];
      /** Scene generations completed by this change, kept as takes. */
      takes?: NewTake[];
      /** A final video this change produced, appended to the project's list. */
      finalVideo?: string;
      flags: Triggered;
      /** What happened, in words, for the logs. */
      log: string;
      /**
       * The project events this change emits (CONTRACT §6), one per change, in order; written
       * in the same statement as the change (numbered per project there). Derived from the
       * decision itself by projectEvents(), so no arrow can forget one.
       */
      events: ProjectEventSpec[];
    };

export type ProjectEventType =
  | "project.started"
  | "scene.completed"
  | "scene.failed"
  | "project.stitching"
  | "project.completed"
  | "project.failed"
  | "project.cancelled";

/** An event's `data` before its per-project `sequence` is assigned. */
export type ProjectEventSpec = { type: ProjectEventType; data: Record<string, unknown> };

const ACTIVE_JOB: readonly JobStatus[] = ACTIVE_JOB_STATUSES;
const STAGE_SCENE_STATUS: Record<"generate_video" | "extract_last_frame", SceneStatus> = {
  generate_video: "generating_video",
  extract_last_frame: "extracting_frame",
};
const STAGE_LABEL: Record<StageKind, string> = {
  generate_video: "video generation",
  extract_last_frame: "last-frame extraction",
  stitch: "stitching",
};

type Decided =
  | Exclude<Decision, { outcome: "applied" }>
  | Omit<Extract<Decision, { outcome: "applied" }>, "events">;

export function transition(state: PipelineState, event: PipelineEvent): Decision {
  const decided = decide(state, event);
  if (decided.outcome !== "applied") return decided;
  return { ...decided, events: projectEvents(state, decided) };
}

function decide(state: PipelineState, event: PipelineEvent): Decided {
  switch (event.type) {
    case "start":
      return start(state);
    case "cancel":
      return cancel(state);
    case "retry":
      return retry(state);
    case "regenerate":
      return regenerate(state, event);
    case "select_take":
      return selectTake(state, event);
    default:
      return stageEvent(state, event);
  }
}

const PROJECT_EVENT_OF: Partial<Record<ProjectStatus, ProjectEventType>> = {
  generating: "project.started",
  stitching: "project.stitching",
  completed: "project.completed",
  failed: "project.failed",
  cancelled: "project.cancelled",
};

/**
 * The events a decision emits: a scene reaching `completed` or `failed` (not the scenes a
 * cancel stops), then the project reaching a new status (a retry starts it again).
 */
export function projectEvents(
  { project, scenes }: PipelineState,
  decision: Omit<Extract<Decision, { outcome: "applied" }>, "events">,
): ProjectEventSpec[] {
  const projectStatus = decision.project?.patch.status ?? project.status;
  const base = { project_id: project.id, project_name: project.name, status: projectStatus };
  const events: ProjectEventSpec[] = [];
  if (projectStatus !== "cancelled") {
    for (const change of decision.scenes) {
      const status = change.patch.status;
      if (status !== "completed" && status !== "failed") continue;
      const scene = { ...scenes.find((s) => s.id === change.id)!, ...change.patch };
      events.push({
        type: status === "completed" ? "scene.completed" : "scene.failed",
        data: {
          ...base,
          scene_id: scene.id,
          scene_number: scene.number,
          video_url: scene.videoUrl ?? null,
          last_frame_url: scene.lastFrameUrl ?? null,
          error: status === "failed" ? (scene.error ?? null) : null,
        },
      });
    }
  }
  const type = decision.project?.patch.status && PROJECT_EVENT_OF[decision.project.patch.status];
  if (type) {
    const patch = decision.project!.patch;
    const data: Record<string, unknown> = { ...base, error: patch.error ?? null };
    if (type === "project.completed") data.final_video_url = patch.finalVideoUrl ?? null;
    if (patch.run !== undefined) data.run = patch.run;
    events.push({ type, data });
  }
  return events;
}

function start(state: PipelineState): Decided {
  const { project, scenes } = state;
  if (project.status !== "draft") {
    return { outcome: "refused", reason: `cannot start a project that is ${project.status}` };
  }
  if (scenes.length === 0) return { outcome: "refused", reason: "project has no scenes" };
  const next = nextScenes(state, scenes, project);
  return {
    outcome: "applied",
    project: { id: project.id, expect: "draft", patch: { status: "generating" } },
    scenes: next.changes,
    enqueue: next.jobs,
    flags: {},
    log: `project started (${project.continuity}): ${next.log} of ${scenes.length} queued for video generation`,
  };
}

/**
 * The scenes to start now, from `after` (the scenes as this change leaves them): in chain
 * mode the first pending one, from the last frame of the scene before it; in independent
 * mode pending ones, from the project's start image, until MAX_PARALLEL_SCENES are generating.
 */
function nextScenes(
  { maxParallel, scenes: loaded }: PipelineState,
  after: SceneState[],
  project: ProjectState,
): { changes: Guarded<ScenePatch>[]; jobs: JobSpec[]; log: string } {
  const pending = after.filter((s) => s.status === "pending");
  let chosen: SceneState[];
  if (project.continuity === "chain") {
    const busy = after.some(
      (s) => s.status === "generating_video" || s.status === "extracting_frame",
    );
    chosen = busy ? [] : pending.slice(0, 1);
  } else {
    const generating = after.filter((s) => s.status === "generating_video").length;
    chosen = pending.slice(0, Math.max(0, maxParallel - generating));
  }
  const begun = chosen.map((scene) => {
    const begin = beginVideo(project, scene, startImageOf(project, after, scene), 1);
    // Guarded by the status the row has now, whatever `after` plans for it.
    const expect = loaded.find((s) => s.id === scene.id)?.status ?? scene.status;
    return { ...begin, scene: { ...begin.scene, expect } };
  });
  return {
    changes: begun.map((b) => b.scene),
    jobs: begun.map((b) => b.job),
    log: chosen.length ? `scene ${chosen.map((s) => s.number).join(", ")}` : "no scene",
  };
}

function cancel({ project, scenes }: PipelineState): Decided {
  if (!["draft", "generating", "stitching"].includes(project.status)) {
    return { outcome: "refused", reason: `cannot cancel a project that is ${project.status}` };
  }
  const inFlight = scenes.filter(
    (s) => s.status === "generating_video" || s.status === "extracting_frame",
  );
  return {
    outcome: "applied",
    project: {
      id: project.id,
      expect: project.status,
      patch: { status: "cancelled", error: "Cancelled by user" },
    },
    scenes: inFlight.map((s) => ({
      id: s.id,
      expect: s.status,
      patch: { status: "failed", error: "Cancelled by user" },
    })),
    cancelActiveJobs: true,
    enqueue: [],
    flags: {},
    log: "project cancelled",
  };
}

function retry(state: PipelineState): Decided {
  const { project, scenes } = state;
  if (project.status !== "failed") {
    return {
      outcome: "refused",
      reason: `only a failed project can be retried (it is ${project.status})`,
    };
  }
  const run = project.run + 1;
  const resumed = { ...project, run };
  const projectChange = (status: ProjectStatus): Guarded<ProjectPatch> => ({
    id: project.id,
    expect: "failed",
    patch: { status, run, error: null },
  });
  const stuck = scenes.find((s) => s.status !== "completed");
  if (!stuck) {
    return {
      outcome: "applied",
      project: projectChange("stitching"),
      scenes: [],
      enqueue: [stitchJob(scenes, 1)],
      flags: { stitch_triggered: true },
      log: `retry (run ${run}): stitching again`,
    };
  }
  if (project.continuity === "independent") {
    // Every scene not completed goes again, as many at once as allowed; the rest wait.
    const after = scenes.map((s) =>
      s.status === "completed" ? s : { ...s, status: "pending" as const },
    );
    const next = nextScenes(state, after, resumed);
    const begun = new Set(next.changes.map((c) => c.id));
    const waiting = scenes
      .filter((s) => s.status !== "completed" && s.status !== "pending" && !begun.has(s.id))
      .map((s) => ({
        id: s.id,
        expect: s.status,
        patch: { status: "pending" as const, progress: 0, error: null },
      }));
    return {
      outcome: "applied",
      project: projectChange("generating"),
      scenes: [...next.changes, ...waiting],
      enqueue: next.jobs,
      flags: { next_scene_triggered: true },
      log: `retry (run ${run}): ${next.log} generated again`,
    };
  }
  if (stuck.videoUrl && stuck.status === "failed") {
    // The video exists; only its last frame is missing.
    return {
      outcome: "applied",
      project: projectChange("generating"),
      scenes: [
        {
          id: stuck.id,
          expect: stuck.status,
          patch: { status: "extracting_frame", attempts: 1, progress: 0, error: null },
        },
      ],
      enqueue: [frameJob(stuck, stuck.videoUrl, 1)],
      flags: { last_frame_triggered: true },
      log: `retry (run ${run}): scene ${stuck.number} last-frame extraction again`,
    };
  }
  const begin = beginVideo(resumed, stuck, startImageOf(project, scenes, stuck), 1);
  return {
    outcome: "applied",
    project: projectChange("generating"),
    scenes: [begin.scene],
    enqueue: [begin.job],
    flags: { next_scene_triggered: true },
    log: `retry (run ${run}): scene ${stuck.number} video generation again`,
  };
}

function stageEvent(
  state: PipelineState,
  event: Extract<PipelineEvent, { type: `stage_${string}` }>,
): Decided {
  const { project, scenes, job } = state;
  if (!job || job.kind === "notify")
    return { outcome: "ignored", reason: "no pipeline stage for this event" };
  if (project.status === "cancelled" || job.status === "cancelled") {
    return { outcome: "ignored", reason: "project cancelled" };
  }
  if (job.status === "succeeded") return { outcome: "ignored", reason: "stage already completed" };
  if (!ACTIVE_JOB.includes(job.status)) {
    return {
      outcome: "ignored",
      reason: `stale attempt ${job.attempt} (it already ${job.status})`,
    };
  }
  const kind = job.kind;
  const scene = job.sceneId ? scenes.find((s) => s.id === job.sceneId) : undefined;

  if (kind === "stitch") {
    if (project.status !== "stitching") {
      return { outcome: "ignored", reason: `project is ${project.status}, not stitching` };
    }
  } else {
    if (!scene) return { outcome: "ignored", reason: "scene no longer exists" };
    if (project.status !== "generating") {
      return { outcome: "ignored", reason: `project is ${project.status}` };
    }
    if (scene.status !== STAGE_SCENE_STATUS[kind]) {
      return {
        outcome: "ignored",
        reason: `scene ${scene.number} is ${scene.status}, past this stage`,
      };
    }
  }

  if (event.type === "stage_progress") {
    const progress = Math.max(0, Math.min(100, Math.round(event.progress)));
    if (scene && progress <= scene.progress) {
      // Progress only moves forward: a late or reordered report changes nothing.
      return { outcome: "ignored", reason: `progress ${progress} is not past ${scene.progress}` };
    }
    return {
      outcome: "applied",
      scenes: scene ? [{ id: scene.id, expect: scene.status, patch: { progress } }] : [],
      enqueue: [],
      flags: { scene_updated: Boolean(scene) },
      log: `${STAGE_LABEL[kind]} ${scene ? `of scene ${scene.number} ` : ""}at ${progress}%`,
    };
  }

  const jobDone: Guarded<JobPatch> = {
    id: job.id,
    expect: job.status,
    patch:
      event.type === "stage_completed"
        ? { status: "succeeded", lastError: null }
        : { status: "failed", lastError: event.error },
  };

  if (event.type === "stage_failed")
    return stageFailed(state, job, kind, scene, event.error, jobDone);

  const result = event.result;
  if (kind === "generate_video" && project.continuity === "independent") {
    // No last-frame stage: the video completes the scene.
    return sceneCompleted(state, scene!, jobDone, {
      videoUrl: result.videoUrl!,
      thumbnailUrl: result.thumbnailUrl ?? null,
      lastFrameUrl: null,
    });
  }
  if (kind === "generate_video") {
    const s = scene!;
    const videoUrl = result.videoUrl!;
    return {
      outcome: "applied",
      job: jobDone,
      scenes: [
        {
          id: s.id,
          expect: s.status,
          patch: {
            status: "extracting_frame",
            videoUrl,
            thumbnailUrl: result.thumbnailUrl ?? null,
            progress: 0,
            error: null,
          },
        },
      ],
      enqueue: [frameJob(s, videoUrl, 1)],
      flags: { scene_updated: true, last_frame_triggered: true },
      log: `scene ${s.number}: video ready, last frame queued`,
    };
  }

  if (kind === "extract_last_frame") {
    const s = scene!;
    return sceneCompleted(state, s, jobDone, {
      videoUrl: s.videoUrl!,
      thumbnailUrl: s.thumbnailUrl,
      lastFrameUrl: result.lastFrameUrl!,
    });
  }

  // stitch completed
  const finalVideoUrl = result.finalVideoUrl!;
  return {
    outcome: "applied",
    job: jobDone,
    scenes: [],
    project: {
      id: project.id,
      expect: "stitching",
      patch: {
        status: "completed",
        finalVideoUrl,
        thumbnailUrl: result.thumbnailUrl ?? scenes[0]?.thumbnailUrl ?? null,
        duration: result.duration ?? null,
        completedAt: state.now,
        error: null,
      },
    },
    enqueue: [notifyJob(project, "project_completed", { videoUrl: finalVideoUrl })],
    finalVideo: finalVideoUrl,
    flags: { project_updated: true, user_notified: true, final_video_url: finalVideoUrl },
    log: "final video stitched; project completed",
  };
}

function stageFailed(
  { project, maxAttempts }: PipelineState,
  job: JobState,
  kind: StageKind,
  scene: SceneState | undefined,
  error: string,
  jobDone: Guarded<JobPatch>,
): Decided {
  const where = scene ? `scene ${scene.number} ${STAGE_LABEL[kind]}` : STAGE_LABEL[kind];
  const message = `${where} attempt ${job.attempt} of ${maxAttempts} failed: ${error}`;
  if (job.attempt < maxAttempts) {
    const attempt = job.attempt + 1;
    return {
      outcome: "applied",
      job: jobDone,
      scenes: scene
        ? [
            {
              id: scene.id,
              expect: scene.status,
              patch: { attempts: Math.max(scene.attempts, attempt), progress: 0, error: message },
            },
          ]
        : [],
      // The same request again: the payload the failed attempt was queued with.
      enqueue: [{ kind, sceneId: job.sceneId, attempt, payload: job.payload } as JobSpec],
      flags: { scene_updated: Boolean(scene), project_updated: !scene },
      log: `${message}; retrying (attempt ${attempt})`,
    };
  }
  return {
    outcome: "applied",
    job: jobDone,
    scenes: scene
      ? [{ id: scene.id, expect: scene.status, patch: { status: "failed", error: message } }]
      : [],
    project: {
      id: project.id,
      expect: project.status,
      patch: { status: "failed", error: message },
    },
    // Independent scenes still generating stop too; a retry generates them again.
    cancelActiveJobs: project.continuity === "independent" || undefined,
    enqueue: [notifyJob(project, "project_failed", { error: message })],
    flags: { scene_updated: Boolean(scene), project_updated: true, user_notified: true },
    log: `${message}; project failed`,
  };
}

/**
 * A scene's generation finished (chain: its last frame; independent: its video): kept as a
 * new take and selected; then the next scenes start, or — all scenes done — the project is
 * stitched (or, with one scene, completed with that scene's video).
 */
function sceneCompleted(
  state: PipelineState,
  scene: SceneState,
  jobDone: Guarded<JobPatch>,
  media: { videoUrl: string; thumbnailUrl: string | null; lastFrameUrl: string | null },
): Decided {
  const { project, scenes } = state;
  const take = scene.takes + 1;
  const done: SceneState = { ...scene, ...media, status: "completed", takes: take };
  const sceneDone: Guarded<ScenePatch> = {
    id: scene.id,
    expect: scene.status,
    patch: {
      status: "completed",
      ...media,
      progress: 100,
      error: null,
      takes: take,
      selectedTake: take,
    },
  };
  const kept: NewTake = {
    sceneId: scene.id,
    take,
    prompt: scene.prompt,
    duration: scene.duration,
    ...media,
  };
  const after = scenes.map((s) => (s.id === scene.id ? done : s));
  const next = nextScenes(state, after, project);
  const base = { outcome: "applied" as const, job: jobDone, takes: [kept] };
  if (next.jobs.length) {
    return {
      ...base,
      scenes: [sceneDone, ...next.changes],
      enqueue: next.jobs,
      flags: { scene_updated: true, next_scene_triggered: true, stitch_triggered: false },
      log: `scene ${scene.number} completed (take ${take}); ${next.log} queued`,
    };
  }
  const open = after.filter((s) => s.status !== "completed");
  if (open.length) {
    return {
      ...base,
      scenes: [sceneDone],
      enqueue: [],
      flags: { scene_updated: true, next_scene_triggered: false, stitch_triggered: false },
      log: `scene ${scene.number} completed (take ${take}); waiting for scene ${open.map((s) => s.number).join(", ")}`,
    };
  }
  if (scenes.length === 1) {
    // A one-scene project skips stitching: its final video is the scene's video.
    return {
      ...base,
      scenes: [sceneDone],
      project: {
        id: project.id,
        expect: "generating",
        patch: {
          status: "completed",
          finalVideoUrl: media.videoUrl,
          thumbnailUrl: media.thumbnailUrl,
          completedAt: state.now,
          error: null,
        },
      },
      enqueue: [notifyJob(project, "project_completed", { videoUrl: media.videoUrl })],
      finalVideo: media.videoUrl,
      flags: { scene_updated: true, next_scene_triggered: false, stitch_triggered: false },
      log: "only scene completed; project completed without stitching",
    };
  }
  return {
    ...base,
    scenes: [sceneDone],
    project: { id: project.id, expect: "generating", patch: { status: "stitching" } },
    enqueue: [stitchJob(after, 1)],
    flags: { scene_updated: true, next_scene_triggered: false, stitch_triggered: true },
    log: `scene ${scene.number} completed (take ${take}); stitching ${scenes.length} videos`,
  };
}

/**
 * Re-shoot a scene of a finished (completed or failed) project, in a new run: the scene is
 * generated again — with a new prompt or duration if given — and, with scope `following`,
 * every later scene after it; scenes a failed project had not finished go again too. Then
 * the project is stitched again. Earlier takes stay.
 */
function regenerate(
  state: PipelineState,
  event: Extract<PipelineEvent, { type: "regenerate" }>,
): Decided {
  const { project, scenes } = state;
  if (project.status !== "completed" && project.status !== "failed") {
    return {
      outcome: "refused",
      reason: `a scene can be re-shot only when the project is completed or failed (it is ${project.status})`,
    };
  }
  const target = scenes.find((s) => s.number === event.sceneNumber);
  if (!target)
    return { outcome: "refused", reason: `the project has no scene ${event.sceneNumber}` };
  const scope = event.scope ?? (project.continuity === "chain" ? "following" : "scene");
  const run = project.run + 1;
  const resumed = { ...project, run };
  const reshot: SceneState = {
    ...target,
    prompt: event.prompt ?? target.prompt,
    duration: event.duration ?? target.duration,
  };
  // Everything that goes again waits as pending; the target starts now (first in chain).
  const goesAgain = (s: SceneState) =>
    s.id === target.id ||
    s.status !== "completed" ||
    (scope === "following" && s.number > target.number);
  const after = scenes.map((s) =>
    goesAgain(s) ? { ...(s.id === target.id ? reshot : s), status: "pending" as const } : s,
  );
  const first = beginVideo(resumed, reshot, startImageOf(project, after, target), 1);
  const afterFirst = after.map((s) =>
    s.id === target.id ? { ...s, status: "generating_video" as const } : s,
  );
  const more = project.continuity === "independent" ? nextScenes(state, afterFirst, resumed) : null;
  const begun = new Set([target.id, ...(more?.changes.map((c) => c.id) ?? [])]);
  const changes: Guarded<ScenePatch>[] = [
    {
      ...first.scene,
      expect: target.status,
      patch: { ...first.scene.patch, prompt: reshot.prompt, duration: reshot.duration },
    },
    ...(more?.changes ?? []),
    ...scenes
      .filter((s) => goesAgain(s) && !begun.has(s.id) && s.status !== "pending")
      .map((s) => ({
        id: s.id,
        expect: s.status,
        patch: { status: "pending" as const, progress: 0, attempts: 0, error: null },
      })),
  ];
  return {
    outcome: "applied",
    project: {
      id: project.id,
      expect: project.status,
      patch: { status: "generating", run, error: null },
    },
    scenes: changes,
    enqueue: [first.job, ...(more?.jobs ?? [])],
    flags: {},
    log: `re-shoot (run ${run}) of scene ${target.number}${scope === "following" ? " and the scenes after it" : ""}`,
  };
}

/** Use an earlier take of a scene in a completed project: stitched again, nothing generated. */
function selectTake(
  state: PipelineState,
  event: Extract<PipelineEvent, { type: "select_take" }>,
): Decided {
  const { project, scenes } = state;
  if (project.status !== "completed") {
    return {
      outcome: "refused",
      reason: `a take can be selected only on a completed project (it is ${project.status})`,
    };
  }
  const scene = scenes.find((s) => s.number === event.sceneNumber);
  if (!scene)
    return { outcome: "refused", reason: `the project has no scene ${event.sceneNumber}` };
  const take = event.take;
  if (!take) return { outcome: "refused", reason: `scene ${scene.number} has no such take` };
  const media = {
    videoUrl: take.videoUrl,
    thumbnailUrl: take.thumbnailUrl,
    lastFrameUrl: take.lastFrameUrl,
  };
  const change: Guarded<ScenePatch> = {
    id: scene.id,
    expect: scene.status,
    patch: { ...media, selectedTake: take.take },
  };
  const after = scenes.map((s) => (s.id === scene.id ? { ...s, ...media } : s));
  const run = project.run + 1;
  if (scenes.length === 1) {
    return {
      outcome: "applied",
      project: {
        id: project.id,
        expect: "completed",
        patch: { run, finalVideoUrl: take.videoUrl, thumbnailUrl: take.thumbnailUrl },
      },
      scenes: [change],
      enqueue: [],
      finalVideo: take.videoUrl,
      flags: {},
      log: `scene 1 take ${take.take} selected: it is the final video`,
    };
  }
  return {
    outcome: "applied",
    project: { id: project.id, expect: "completed", patch: { status: "stitching", run } },
    scenes: [change],
    enqueue: [stitchJob(after, 1)],
    flags: { stitch_triggered: true },
    log: `scene ${scene.number} take ${take.take} selected; stitching again`,
  };
}

/**
 * What a scene's video starts from: in `chain`, the last frame of the scene before (the
 * project's start image for the first); in `independent` (no last frames), the start image.
 */
function startImageOf(
  project: ProjectState,
  scenes: SceneState[],
  scene: SceneState,
): string | null {
  if (project.continuity !== "chain") return project.startImageUrl;
  const previous = scenes.find((s) => s.number === scene.number - 1);
  return previous?.lastFrameUrl ?? project.startImageUrl;
}

function beginVideo(
  project: ProjectState,
  scene: SceneState,
  startImageUrl: string | null,
  attempt: number,
): { scene: Guarded<ScenePatch>; job: JobSpec } {
  return {
    scene: {
      id: scene.id,
      expect: scene.status,
      patch: {
        status: "generating_video",
        attempts: attempt,
        progress: 0,
        startImageUrl,
        videoUrl: null,
        thumbnailUrl: null,
        lastFrameUrl: null,
        error: null,
      },
    },
    job: {
      kind: "generate_video",
      sceneId: scene.id,
      attempt,
      payload: {
        scene_id: scene.id,
        scene_number: scene.number,
        prompt: scene.prompt,
        start_image_url: startImageUrl,
        duration: scene.duration,
        project_id: project.id,
      },
    },
  };
}

function frameJob(scene: SceneState, videoUrl: string, attempt: number): JobSpec {
  return {
    kind: "extract_last_frame",
    sceneId: scene.id,
    attempt,
    payload: { video_url: videoUrl },
  };
}

function stitchJob(scenes: SceneState[], attempt: number): JobSpec {
  return {
    kind: "stitch",
    sceneId: null,
    attempt,
    payload: { video_urls: scenes.map((s) => s.videoUrl) },
  };
}

function notifyJob(
  project: ProjectState,
  type: NotifyType,
  details: { videoUrl?: string | null; error?: string },
): JobSpec {
  return {
    kind: "notify",
    sceneId: null,
    attempt: 1,
    payload: {
      type,
      project_id: project.id,
      project_name: project.name,
      video_url: details.videoUrl ?? null,
      error: details.error ?? null,
    },
  };
}

/** The unique key of a job: the same step of the same run can never be queued twice. */
export function jobKey(projectId: string, run: number, spec: JobSpec): string {
  if (spec.kind === "notify") return `notify:${projectId}:r${run}:${spec.payload.type}`;
  return `${spec.kind}:${spec.sceneId ?? projectId}:r${run}:a${spec.attempt}`;
}
