import { beforeAll, describe, expect, it } from "vitest";
import { type App, loadApp } from "../../helpers/pipeline-driver";

/** The management API of CONTRACT.md §4 (create, list, get, start) against a real database. */

let app: App;
let list: typeof import("@/app/api/v1/projects/route");

beforeAll(async () => {
  app = await loadApp();
  list = await import("@/app/api/v1/projects/route");
});

const get = (query = "") => list.GET(new Request(`http://127.0.0.1:3999/api/v1/projects${query}`));

describe("POST /api/v1/projects", () => {
  it("creates a draft project with numbered scenes and snake_case fields", async () => {
    const response = await app.createProject({
      name: "  Sunrise  ",
      scenes: [{ prompt: "dawn over hills", duration: 6 }, { prompt: "birds take off" }],
      start_image_url: "https://img.test/first.png",
    });
    expect(response.status).toBe(201);
    const project = await response.json();
    expect(project).toMatchObject({
      id: expect.stringMatching(/^prj_/),
      name: "Sunrise",
      status: "draft",
      start_image_url: "https://img.test/first.png",
      final_video_url: null,
      thumbnail_url: null,
      error: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(project.scenes).toEqual([
      expect.objectContaining({
        number: 1,
        prompt: "dawn over hills",
        duration: 6,
        status: "pending",
        attempts: 0,
        progress: 0,
        video_url: null,
        thumbnail_url: null,
        last_frame_url: null,
        start_image_url: null,
        error: null,
      }),
      expect.objectContaining({
        number: 2,
        prompt: "birds take off",
        duration: 5,
        status: "pending",
      }),
    ]);
  });

  it("with autostart it is generating and scene 1 is queued", async () => {
    const project = await (
      await app.createProject({ name: "auto", scenes: [{ prompt: "x" }], autostart: true })
    ).json();
    expect(project.status).toBe("generating");
    expect(project.scenes[0]).toMatchObject({ status: "generating_video", attempts: 1 });
  });

  it.each<[string, unknown, string]>([
    ["no name", { scenes: [{ prompt: "x" }] }, "name"],
    ["no scenes", { name: "n", scenes: [] }, "scenes"],
    ["an empty prompt", { name: "n", scenes: [{ prompt: "   " }] }, "scenes.0.prompt"],
    [
      "a prompt over 2000 characters",
      { name: "n", scenes: [{ prompt: "x".repeat(2001) }] },
      "scenes.0.prompt",
    ],
    ["a zero duration", { name: "n", scenes: [{ prompt: "x", duration: 0 }] }, "scenes.0.duration"],
    ["101 scenes", { name: "n", scenes: Array(101).fill({ prompt: "x" }) }, "scenes"],
    [
      "a javascript: start image",
      { name: "n", scenes: [{ prompt: "x" }], start_image_url: "javascript:alert(1)" },
      "start_image_url",
    ],
  ])("400 with the schema's issues for %s", async (_name, body, path) => {
    const response = await app.createProject(body);
    expect(response.status).toBe(400);
    const answer = await response.json();
    expect(answer.error).toEqual(expect.any(String));
    expect(answer.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it("400 for a body that is not JSON", async () => {
    const response = await list.POST(
      new Request("http://127.0.0.1:3999/api/v1/projects", { method: "POST", body: "{nope" }),
    );
    expect(response.status).toBe(400);
  });
});

describe("GET /api/v1/projects and /{id}", () => {
  it("lists newest first with progress counts, filters by status, and pages with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await (
        await app.createProject({ name: `page ${i}`, scenes: [{ prompt: "a" }, { prompt: "b" }] })
      ).json();
      ids.push(p.id);
    }
    const first = await (await get("?limit=2&status=draft")).json();
    expect(first.items).toHaveLength(2);
    expect(first.items[0]).toMatchObject({
      id: ids[2],
      scenes_total: 2,
      scenes_completed: 0,
      stage: "draft",
    });
    expect(first.items[1].id).toBe(ids[1]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await (await get(`?limit=2&status=draft&cursor=${first.next_cursor}`)).json();
    expect(second.items[0].id).toBe(ids[0]);
    const all = await (await get()).json();
    const created = all.items.map((p: { created_at: string }) => p.created_at);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it("400 for an unknown status filter; 404 for an unknown id", async () => {
    expect((await get("?status=exploded")).status).toBe(400);
    const project = await import("@/app/api/v1/projects/[id]/route");
    const response = await project.GET(new Request("http://x"), {
      params: Promise.resolve({ id: "prj_missing" }),
    });
    expect(response.status).toBe(404);
    expect((await app.start("prj_missing")).status).toBe(404);
  });

  it("start moves draft → generating once; a second start is 409", async () => {
    const p = await (await app.createProject({ name: "s", scenes: [{ prompt: "a" }] })).json();
    const started = await app.start(p.id);
    expect(started.status).toBe(200);
    expect((await started.json()).status).toBe("generating");
    const again = await app.start(p.id);
    expect(again.status).toBe(409);
    expect((await again.json()).error).toContain("generating");
  });
});
