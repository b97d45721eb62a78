import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hmacSha256 } from "@/lib/services/signing";
import { callbackRequest, TEST_SECRETS, type TestStage } from "../../helpers/callbacks";
import { type FakeServices, startFakeServices } from "../../helpers/fake-services";
import { type App, completionFor, loadApp } from "../../helpers/pipeline-driver";

/**
 * Randomised bad callbacks against the real route handlers and database (issue 7): bodies that
 * fail the schema or disagree with their task, bytes that are not JSON or not UTF-8, bodies over
 * the size cap, and good bodies with bad signatures. Every one must be refused with a 4xx —
 * never a 5xx, never accepted — and change nothing the pipeline owns. FUZZ_RUNS (default 1 000,
 * ten times fast-check's own default; FUZZ_RUNS=10000 for the long run) is split over the
 * three stages.
 */

const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
const MAX_BODY_BYTES = 4096;
const STAGES: TestStage[] = ["video-complete", "last-frame-complete", "stitch-complete"];
const URL_FIELD: Record<TestStage, string> = {
  "video-complete": "video_url",
  "last-frame-complete": "last_frame_url",
  "stitch-complete": "final_video_url",
};
const STATUSES = ["completed", "failed", "processing", "pending", "queued", "running"];

let services: FakeServices;
let app: App;
/** One real task waiting at each stage: a bad callback aims at something that could change. */
const waiting = {} as Record<
  TestStage,
  { taskId: string; jobId: string; projectId: string; sceneId: string | null }
>;
let otherProjectId: string;
let otherSceneId: string;

beforeAll(async () => {
  services = await startFakeServices();
  Object.assign(process.env, services.env, { WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  app = await loadApp();
  for (const stage of STAGES) waiting[stage] = await projectWaitingAt(stage);
  const other = (await (
    await app.createProject({ name: "fuzz other", scenes: [{ prompt: "c" }] })
  ).json()) as {
    id: string;
    scenes: { id: string }[];
  };
  otherProjectId = other.id;
  otherSceneId = other.scenes[0]!.id;
}, 60_000);
afterAll(() => services.close());

/** A two-scene project driven (through the real handlers) until its request for `stage` is accepted. */
async function projectWaitingAt(stage: TestStage) {
  const created = await app.createProject({
    name: `fuzz ${stage}`,
    scenes: [{ prompt: "a" }, { prompt: "b" }],
    autostart: true,
  });
  const { id: projectId } = (await created.json()) as { id: string };
  for (let step = 0; step < 10; step++) {
    await app.dispatcher.dispatchDueJobs();
    const [job] = await rows<{ id: string; scene_id: string | null }>(
      sql`select id, scene_id from jobs where project_id = ${projectId} and status = 'waiting'`,
    );
    const submission = services.requests.find(
      (r) => r.taskId && r.headers["idempotency-key"] === job?.id,
    );
    if (!job || !submission) throw new Error(`project ${projectId} has no submitted job`);
    const completion = completionFor(submission);
    if (completion.stage === stage)
      return { taskId: submission.taskId!, jobId: job.id, projectId, sceneId: job.scene_id };
    expect((await app.send(completion.stage, completion.body, completion.url)).status).toBe(200);
  }
  throw new Error(`project ${projectId} never reached ${stage}`);
}

async function rows<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
  const result = await app.db.execute(statement);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** Everything the pipeline owns, plus any callback event that was not a rejection. */
async function snapshot() {
  const [state] = await rows<Record<string, unknown>>(sql`
    select (select json_agg(p order by id) from projects p) as projects,
           (select json_agg(s order by id) from scenes s) as scenes,
           (select json_agg(j order by id) from jobs j) as jobs,
           (select count(*)::int from webhook_events where outcome <> 'rejected') as accepted_events`);
  return JSON.stringify(state);
}

function post(
  stage: TestStage,
  raw: string | Uint8Array,
  headers: Record<string, string> = {},
  query = "",
) {
  const signature = `sha256=${hmacSha256(TEST_SECRETS[stage], raw).toString("hex")}`;
  return app.webhooks[stage].POST(
    new Request(`http://127.0.0.1:3999/api/webhooks/${stage}${query}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-webhook-signature": signature,
        "x-forwarded-for": "198.51.100.9",
        ...headers,
      },
      body: typeof raw === "string" ? raw : new Uint8Array(raw),
    }),
  );
}

// ---- arbitraries of bad values, one family per field kind ----
const notHttpUrl = fc.oneof(
  fc.constantFrom(
    "javascript:alert(1)",
    "ftp://cdn.test/v.mp4",
    "/videos/v.mp4",
    "file:///etc/passwd",
    "data:video/mp4,AAAA",
    "mailto:a@b.test",
    "",
    "http//cdn.test",
    "cdn.test/v.mp4",
  ),
  fc.string().filter((s) => !/^\s*https?:/i.test(s)),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);
const badStatus = fc.oneof(
  fc.string().filter((s) => !STATUSES.includes(s)),
  fc.constantFrom("COMPLETED", "done", "success", " completed"),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const badTaskId = fc.oneof(
  fc.constant(""),
  fc.string({ minLength: 201, maxLength: 260 }),
  fc.integer({ max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const notNumber = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
);
const badProgress = fc.oneof(
  fc.integer({ min: 101 }),
  fc.integer({ max: -1 }),
  fc.double({ min: 100.001, noNaN: true, noDefaultInfinity: true }),
  fc.string(),
);
const badShortString = fc.oneof(
  fc.string({ minLength: 101, maxLength: 200 }),
  fc.integer(),
  fc.boolean(),
);
const badRecord = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.boolean(),
);

/** A body that would apply, with one thing wrong: the field and the bad value. */
function corrupted(stage: TestStage) {
  const mutations: fc.Arbitrary<[string, unknown]>[] = [
    badStatus.map((v) => ["status", v]),
    badTaskId.map((v) => ["task_id", v]),
    notHttpUrl.map((v) => [URL_FIELD[stage], v]),
    badShortString.map((v) => ["timestamp", v]),
    badRecord.map((v) => ["metadata", v]),
    fc
      .oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }))
      .map((v) => ["error", v]),
    badTaskId.filter((v) => v !== null).map((v) => ["project_id", v]),
    fc.constant(["project_id", "(another project)"]),
    fc.constant([URL_FIELD[stage], undefined]), // completed without its result URL
    fc.constant(["status", undefined]),
    fc.constant(["task_id", undefined]),
  ];
  // Only fields of the stage's own schema: unknown fields are ignored, as they should be.
  if (stage !== "last-frame-complete") {
    mutations.push(
      notHttpUrl.map((v) => ["thumbnail_url", v]),
      notNumber.map((v) => ["duration", v]),
    );
  }
  if (stage === "video-complete") {
    mutations.push(
      badProgress.map((v) => ["progress", v]),
      notNumber.map((v) => ["fps", v]),
      fc.constant(["scene_id", "(another scene)"]),
    );
    mutations.push(
      notHttpUrl.map((v) => ["result", { video_url: v }]),
      badRecord.filter((v) => typeof v !== "object").map((v) => ["result", v]),
    );
  }
  if (stage === "last-frame-complete") {
    mutations.push(
      notHttpUrl.map((v) => ["image_url", v]),
      badShortString.map((v) => ["format", v]),
      fc.constant(["scene_id", "(another scene)"]),
    );
  }
  if (stage === "stitch-complete") {
    mutations.push(
      notHttpUrl.map((v) => ["video_result_url", v]),
      notNumber.map((v) => ["total_scenes", v]),
      badShortString.map((v) => ["resolution", v]),
    );
  }
  return fc.oneof(...mutations).map(([field, value]) => {
    const target = waiting[stage];
    const body: Record<string, unknown> = {
      task_id: target.taskId,
      status: "completed",
      [URL_FIELD[stage]]: "https://cdn.test/ok.mp4",
    };
    if (value === "(another project)") body.project_id = otherProjectId;
    else if (value === "(another scene)") body.scene_id = otherSceneId;
    else if (value === undefined) delete body[field];
    else body[field] = value;
    return body;
  });
}

const hex = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength, maxLength });

/** Whole bodies that are not a callback at all. */
const notACallback = fc.oneof(
  fc
    .jsonValue()
    .filter(
      (v) =>
        typeof v !== "object" ||
        v === null ||
        Array.isArray(v) ||
        !("task_id" in v && "status" in v),
    ),
  fc.constantFrom("null", "[]", '""', "0", "true"),
);

const runsPerStage = (share: number) =>
  Math.max(1, Math.round((TOTAL_RUNS / STAGES.length) * share));

describe.each(STAGES)("%s refuses bad callbacks and changes nothing", (stage) => {
  const refusedWith = async (response: Response, allowed: number[]) => {
    expect(response.status, await response.clone().text()).toBeLessThan(500);
    expect(allowed).toContain(response.status);
  };

  it("signed bodies with one field wrong, or that are not a callback: 400 (409 when ids disagree)", async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: corrupted(stage) },
          { weight: 1, arbitrary: notACallback },
        ),
        async (body) => {
          const raw = typeof body === "string" ? body : JSON.stringify(body);
          await refusedWith(await post(stage, raw), [400, 409]);
        },
      ),
      { numRuns: runsPerStage(0.6) },
    );
    expect(await snapshot()).toBe(before);
  }, 120_000);

  it("bytes that are not JSON or not UTF-8, and bodies over the size cap: 400 / 413", async () => {
    const before = await snapshot();
    const garbage = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }).filter((b) => {
        try {
          JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b));
          return false;
        } catch {
          return true;
        }
      }),
      fc
        .string({ maxLength: 200 })
        .map((s) => `{"task_id": "${waiting[stage].taskId}", "status": "completed", ${s}`),
      fc.constantFrom(
        new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
        new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      ),
      fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 3 }).map((n) =>
        JSON.stringify({
          task_id: waiting[stage].taskId,
          status: "completed",
          [URL_FIELD[stage]]: "https://cdn.test/ok.mp4",
          pad: "x".repeat(n),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (raw) => {
        const size = typeof raw === "string" ? Buffer.byteLength(raw) : raw.byteLength;
        await refusedWith(await post(stage, raw), size > MAX_BODY_BYTES ? [413] : [400]);
      }),
      { numRuns: runsPerStage(0.2) },
    );
    expect(await snapshot()).toBe(before);
  }, 120_000);

  it("a callback that would apply, with a missing, wrong or forged signature: 401", async () => {
    const before = await snapshot();
    const target = () => waiting[stage];
    const valid = () => ({
      task_id: target().taskId,
      status: "completed",
      [URL_FIELD[stage]]: "https://cdn.test/ok.mp4",
    });
    const forgery = fc.oneof(
      fc
        .string({ maxLength: 80 })
        .map((secret) => callbackRequest(stage, valid(), { secret: `${secret}-not-the-secret` })),
      fc.constantFrom<"hex" | "sha256" | "standard">("hex", "sha256", "standard").map((scheme) =>
        callbackRequest(stage, valid(), {
          scheme,
          secret: TEST_SECRETS[STAGES[(STAGES.indexOf(stage) + 1) % 3]!],
        }),
      ),
      hex(0, 70).map((hex) =>
        callbackRequest(stage, valid(), {
          scheme: "none",
          headers: { "x-webhook-signature": `sha256=${hex}` },
        }),
      ),
      hex(1, 70).map((sig) =>
        callbackRequest(stage, valid(), {
          scheme: "none",
          query: `ref=${target().jobId}&sig=${sig}`,
        }),
      ),
      fc.integer({ min: 301, max: 100_000 }).map((age) => {
        const ts = Math.floor(Date.now() / 1000) - age;
        const raw = JSON.stringify(valid());
        const sig = hmacSha256(TEST_SECRETS[stage], `msg_old.${ts}.${raw}`).toString("base64");
        return callbackRequest(stage, raw, {
          scheme: "none",
          headers: {
            "webhook-id": "msg_old",
            "webhook-timestamp": String(ts),
            "webhook-signature": `v1,${sig}`,
          },
        });
      }),
      fc.constant(null).map(() => callbackRequest(stage, valid(), { scheme: "none" })),
    );
    await fc.assert(
      fc.asyncProperty(forgery, async (request) => {
        await refusedWith(await app.webhooks[stage].POST(request), [401]);
      }),
      { numRuns: runsPerStage(0.2) },
    );
    expect(await snapshot()).toBe(before);
  }, 120_000);
});
