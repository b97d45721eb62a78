import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  APP_DIR,
  type AppServer,
  fetchProject,
  startApp,
  withServerLogs,
} from "./harness/app-server";
import { CHROMIUM_MISSING_MESSAGE, chromiumMissing, launchChromium } from "./harness/browser";

/**
 * The pages people use every day, in a real browser against `next start` and the
 * built-in simulator: create → watch it run live → final video; cancel; retry; form errors.
 */

// CI must never pass by skipping; a developer without Chromium is told, loudly, how to get it.
const skip = chromiumMissing && process.env.CI !== "true";
if (skip) console.warn(`\n⚠ Browser tests skipped. ${CHROMIUM_MISSING_MESSAGE}\n`);

type ProjectJson = { id: string; status: string; scenes: { status: string; attempts: number }[] };

describe.skipIf(skip)("project pages in a browser", () => {
  let app: AppServer;
  let browser: Browser;
  let context: BrowserContext;
  const opened: Page[] = [];

  beforeAll(async () => {
    if (chromiumMissing) throw new Error(CHROMIUM_MISSING_MESSAGE);
    // One attempt per stage, so a `[fail-once]` scene fails its project and Retry has work to do.
    app = await startApp({ MAX_STAGE_ATTEMPTS: "1" });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Every page records the states its live indicator went through.
    await context.addInitScript(() => {
      const states: string[] = [];
      Object.assign(window, { __streamStates: states });
      new MutationObserver(() => {
        const state =
          document.querySelector<HTMLElement>("[data-stream-state]")?.dataset.streamState;
        if (state && states.at(-1) !== state) states.push(state);
      }).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-stream-state"],
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  async function newPage(): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    opened.push(page);
    return page;
  }

  async function createProject(body: Record<string, unknown>): Promise<ProjectJson> {
    const response = await fetch(`${app.url}/api/v1/projects`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as ProjectJson;
  }

  it("creates a 3-scene project from the form and shows it run to the final video without a reload", async () => {
    // The list is open in another tab the whole time: it must follow along on its own.
    const list = await newPage();
    await list.goto(`${app.url}/projects`);
    await list.evaluate(() => Object.assign(window, { __e2eMarker: "list" }));

    const page = await newPage();
    // Records every distinct filmstrip state the page shows, from the first paint on.
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.assign(window, { __filmstrip: seen });
      new MutationObserver(() => {
        const state = Array.from(document.querySelectorAll<HTMLElement>("article[data-scene]"))
          .map((a) => a.dataset.status)
          .join(",");
        if (state && seen.at(-1) !== state) seen.push(state);
      }).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ["data-status"],
      });
    });
    await page.goto(`${app.url}/projects/new`);
    await page.evaluate(() => Object.assign(window, { __e2eMarker: "kept" }));

    await page.getByLabel("Name", { exact: true }).fill("Lighthouse at dawn");
    const prompts = page.getByLabel("Prompt", { exact: true });
    await prompts.nth(0).fill("Wide shot of a lighthouse before sunrise, waves below");
    await page.getByRole("button", { name: "Add scene" }).click();
    await prompts.nth(1).fill("The lamp turns off as the sun rises");
    await page.getByRole("button", { name: "Add scene" }).click();
    await prompts.nth(2).fill("Gulls circle the tower in morning light");
    await page.getByLabel("Seconds", { exact: true }).nth(1).fill("3");
    // Reordering: scene 3 moves up to second place and back.
    await page.getByRole("button", { name: "Move scene 3 up" }).click();
    await expect(prompts.nth(1).inputValue()).resolves.toBe(
      "Gulls circle the tower in morning light",
    );
    await page.getByRole("button", { name: "Move scene 2 down" }).click();
    await expect(prompts.nth(2).inputValue()).resolves.toBe(
      "Gulls circle the tower in morning light",
    );

    await page.getByRole("button", { name: "Create and start" }).click();
    await page.waitForURL(/\/projects\/prj_/);
    const id = page.url().split("/").at(-1)!;

    await withServerLogs(app, page.locator("video[data-final-video]").waitFor({ timeout: 45_000 }));
    expect(
      await page.evaluate(() => (window as unknown as { __e2eMarker?: string }).__e2eMarker),
    ).toBe("kept");

    const states = await page.evaluate(
      () => (window as unknown as { __filmstrip: string[] }).__filmstrip,
    );
    expect(states.at(-1)).toBe("completed,completed,completed");
    if (process.env.TEST_DATABASE_URL) {
      // On PostgreSQL the web thread's writes claim the jobs they create and post them to its
      // dispatch thread (no claim statement, no NOTIFY): the counter shows that path was taken.
      const metrics = await (await fetch(`${app.url}/api/metrics`)).text();
      const handedOff = [
        ...metrics.matchAll(
          /^framechain_jobs_created_total\{[^}]*dispatch="handed_off"[^}]*\} (\d+)/gm,
        ),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
      expect(handedOff, metrics).toBeGreaterThan(0);
    }
    // It changed in place: at least one earlier state was on screen, and scenes only moved forward.
    expect(states.length).toBeGreaterThan(1);
    const rank = { pending: 0, generating_video: 1, extracting_frame: 2, completed: 3 } as Record<
      string,
      number
    >;
    for (let i = 1; i < states.length; i++) {
      const before = states[i - 1]!.split(",");
      const after = states[i]!.split(",");
      for (const [n, status] of after.entries())
        expect(rank[status]).toBeGreaterThanOrEqual(rank[before[n]!]!);
    }

    await expect(
      page.locator("[data-project-status]").getAttribute("data-project-status"),
    ).resolves.toBe("completed");
    await expect(
      page.getByRole("progressbar", { name: "Project progress" }).getAttribute("aria-valuenow"),
    ).resolves.toBe("100");
    expect(
      await page.locator('[data-callbacks] li[data-outcome="applied"]').count(),
    ).toBeGreaterThanOrEqual(7);
    // Nothing left to do: Start, Cancel and Retry are all unavailable on a completed project.
    for (const action of ["start", "cancel", "retry"]) {
      expect(await page.locator(`button[data-action="${action}"]`).isDisabled()).toBe(true);
    }

    await withServerLogs(
      app,
      list
        .locator(`li[data-project-id="${id}"][data-status="completed"]`)
        .waitFor({ timeout: 10_000 }),
    );
    expect(
      await list.evaluate(() => (window as unknown as { __e2eMarker?: string }).__e2eMarker),
    ).toBe("list");
  });

  it("cancels a running project after confirmation", async () => {
    // `[silent]`: the video service never calls back, so the project stays generating.
    const project = await createProject({
      name: "Quiet harbour",
      scenes: [{ prompt: "Boats rest in a quiet harbour [silent]" }, { prompt: "Fog lifts" }],
      autostart: true,
    });
    const page = await newPage();
    await page.goto(`${app.url}/projects/${project.id}`);
    await page.locator('[data-stream-state="live"]').waitFor();
    expect(await page.locator('button[data-action="start"]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-action="retry"]').isDisabled()).toBe(true);

    // Changing one's mind leaves it running.
    await page.locator('button[data-action="cancel"]').click();
    const dialog = page.getByRole("dialog", { name: "Cancel this project?" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Keep as is" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await fetchProject<ProjectJson>(app, project.id)).status).toBe("generating");

    await page.locator('button[data-action="cancel"]').click();
    await dialog.getByRole("button", { name: "Cancel project" }).click();
    await withServerLogs(app, page.locator('[data-project-status="cancelled"]').waitFor());
    expect(await page.locator('button[data-action="cancel"]').isDisabled()).toBe(true);
    expect((await fetchProject<ProjectJson>(app, project.id)).status).toBe("cancelled");
  });

  it("shows a failed scene with its error, then retries from the failed stage to completion", async () => {
    const project = await createProject({
      name: "Storm at sea",
      scenes: [{ prompt: "Calm sea at noon" }, { prompt: "A storm rolls in [fail-once]" }],
      autostart: true,
    });
    const page = await newPage();
    await page.goto(`${app.url}/projects/${project.id}`);
    await withServerLogs(
      app,
      page.locator('[data-project-status="failed"]').waitFor({ timeout: 30_000 }),
    );

    const failedScene = page.locator('article[data-scene="2"]');
    await expect(failedScene.getAttribute("data-status")).resolves.toBe("failed");
    await expect(failedScene.textContent()).resolves.toContain("fail-once");
    await expect(page.locator('article[data-scene="1"]').getAttribute("data-status")).resolves.toBe(
      "completed",
    );
    expect(await page.locator('button[data-action="start"]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-action="cancel"]').isDisabled()).toBe(true);
    const firstSceneAttempts = (await fetchProject<ProjectJson>(app, project.id)).scenes[0]!
      .attempts;

    // The failure is in the error log where people look: the project's own Errors panel…
    const errors = page.locator("ul[data-errors]");
    await withServerLogs(app, errors.waitFor({ timeout: 30_000 }));
    await expect(errors.textContent()).resolves.toMatch(
      /scene 2 video generation attempt 1 of \d+ failed/,
    );
    // …and /errors, linked to the project.
    const log = await newPage();
    await log.goto(`${app.url}/errors?project_id=${project.id}`);
    const row = log.locator("li", { hasText: "scene 2 video generation attempt 1" }).first();
    await withServerLogs(app, row.waitFor({ timeout: 30_000 }));
    await expect(row.locator(`a[href="/projects/${project.id}"]`).count()).resolves.toBe(1);
    await log.close();

    await page.locator('button[data-action="retry"]').click();
    await page
      .getByRole("dialog", { name: "Retry from the failed stage?" })
      .getByRole("button", { name: "Retry" })
      .click();
    await withServerLogs(app, page.locator("video[data-final-video]").waitFor({ timeout: 30_000 }));

    const after = await fetchProject<ProjectJson>(app, project.id);
    expect(after.status).toBe("completed");
    // The finished scene was kept, not generated again.
    expect(after.scenes[0]!.attempts).toBe(firstSceneAttempts);
  });

  it("shows validation messages next to the fields and moves focus to the first one", async () => {
    const page = await newPage();
    await page.goto(`${app.url}/projects/new`);
    await page.getByLabel("Start image URL").fill("ftp://example.com/start.png");
    await page.getByRole("button", { name: "Create draft" }).click();

    const name = page.getByLabel("Name", { exact: true });
    await expect(name.getAttribute("aria-invalid")).resolves.toBe("true");
    const describedBy = (await name.getAttribute("aria-describedby")) ?? "";
    await expect(
      page.locator(`[id="${describedBy.split(" ").at(-1)}"]`).textContent(),
    ).resolves.toBe("Name is required");
    expect(await name.evaluate((el) => el === document.activeElement)).toBe(true);
    await expect(page.getByLabel("Start image URL").getAttribute("aria-invalid")).resolves.toBe(
      "true",
    );
    await expect(
      page.getByLabel("Prompt", { exact: true }).getAttribute("aria-invalid"),
    ).resolves.toBe("true");
    await expect(page.getByRole("alert").first().textContent()).resolves.toContain(
      "3 fields need attention",
    );

    // Messages follow the edits once shown; nothing was created.
    await name.fill("Fixed name");
    await expect(name.getAttribute("aria-invalid")).resolves.toBe("false");
    expect(page.url()).toMatch(/\/projects\/new$/);
  });

  it("streams project snapshots over SSE (one at once, one per change) and names changed projects on the list stream", async () => {
    const unknown = await fetch(`${app.url}/api/v1/projects/prj_doesnotexist/events`);
    expect(unknown.status).toBe(404);

    const project = await createProject({
      name: "Stream check",
      scenes: [{ prompt: "Rain on a window" }],
    });
    const abort = new AbortController();
    const response = await fetch(`${app.url}/api/v1/projects/${project.id}/events`, {
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const list = new AbortController();
    const listResponse = await fetch(`${app.url}/api/v1/projects/events`, { signal: list.signal });
    expect(listResponse.headers.get("content-type")).toMatch(/^text\/event-stream/);

    const events = readEvents(response.body!);
    const first = await events.next("project");
    expect(first.project.status).toBe("draft");
    expect(first.webhook_events).toEqual([]);

    const listEvents = readEvents(listResponse.body!);
    await listEvents.next("ready");
    await fetch(`${app.url}/api/v1/projects/${project.id}/start`, { method: "POST" });
    expect((await events.next("project")).project.status).toBe("generating");
    expect((await listEvents.next("changed")).ids).toContain(project.id);
    let last = first;
    while (last.project.status !== "completed") last = await events.next("project");
    expect(last.webhook_events.map((e: { outcome: string }) => e.outcome)).toContain("applied");
    abort.abort();
    list.abort();
  });

  it("reconnects by itself after the server restarts and keeps updating in place", async () => {
    const project = await createProject({
      name: "Night ferry",
      scenes: [{ prompt: "A ferry leaves the pier" }],
    });
    const page = await newPage();
    await page.goto(`${app.url}/projects/${project.id}`);
    await page.locator('[data-stream-state="live"]').waitFor();
    await page.evaluate(() => Object.assign(window, { __e2eMarker: "kept" }));

    await withServerLogs(app, app.restart({ downtimeMs: 1000 }));
    // While the server was away the page said so; now it is back on its own.
    await page.locator('[data-stream-state="live"]').waitFor({ timeout: 20_000 });

    const started = await fetch(`${app.url}/api/v1/projects/${project.id}/start`, {
      method: "POST",
    });
    expect(started.status).toBe(200);
    await withServerLogs(app, page.locator("video[data-final-video]").waitFor({ timeout: 30_000 }));
    expect(
      await page.evaluate(() => (window as unknown as { __e2eMarker?: string }).__e2eMarker),
    ).toBe("kept");
    expect(
      await page.evaluate(
        () => (window as unknown as { __streamStates?: string[] }).__streamStates,
      ),
    ).toContain("reconnecting");
  });

  it("saves screenshots of the list and detail pages when E2E_SCREENSHOTS=1", async () => {
    if (process.env.E2E_SCREENSHOTS !== "1") return;
    const dir = path.join(APP_DIR, "docs", "screenshots");
    mkdirSync(dir, { recursive: true });
    await createProject({
      name: "Night market (draft)",
      scenes: [{ prompt: "Lanterns" }, { prompt: "Crowds" }],
    });
    const running = await createProject({
      name: "Mountain pass",
      scenes: [
        { prompt: "A road climbs into the clouds" },
        { prompt: "Snow begins to fall [silent]" },
        { prompt: "The valley opens below" },
      ],
      autostart: true,
    });
    // A running project worth showing: its first scene done, the silent one still waiting.
    await expect
      .poll(async () => (await fetchProject<ProjectJson>(app, running.id)).scenes[0]!.status, {
        timeout: 60_000,
      })
      .toBe("completed");
    const completed = (await (
      await fetch(`${app.url}/api/v1/projects?status=completed&limit=10`)
    ).json()) as {
      items: { id: string; name: string }[];
    };
    const done =
      completed.items.find((p) => p.name === "Lighthouse at dawn") ?? completed.items[0]!;

    for (const [suffix, viewport] of [
      ["desktop", { width: 1280, height: 900 }],
      ["phone", { width: 390, height: 844 }],
    ] as const) {
      const shots = await browser.newContext({
        viewport,
        deviceScaleFactor: suffix === "phone" ? 2 : 1,
      });
      const page = await shots.newPage();
      await page.goto(`${app.url}/projects`);
      await page.locator('[data-stream-state="live"]').first().waitFor();
      await page.screenshot({
        path: path.join(dir, `projects-list-${suffix}.png`),
        fullPage: true,
      });
      await page.goto(`${app.url}/projects/${done.id}`);
      await page.locator('[data-stream-state="live"]').first().waitFor();
      await page.screenshot({
        path: path.join(dir, `project-completed-${suffix}.png`),
        fullPage: true,
      });
      await page.goto(`${app.url}/projects/${running.id}`);
      await page.locator('[data-stream-state="live"]').first().waitFor();
      await page.screenshot({
        path: path.join(dir, `project-running-${suffix}.png`),
        fullPage: true,
      });
      // The form, with one scene left empty so a validation message shows.
      await page.goto(`${app.url}/projects/new`);
      await page.getByLabel("Name", { exact: true }).fill("Harbour timelapse");
      await page.getByLabel("Prompt", { exact: true }).fill("Boats drift out at first light");
      await page.getByRole("button", { name: "Add scene" }).click();
      await page.getByRole("button", { name: "Create draft" }).click();
      await page.locator("[data-field-error]").first().waitFor();
      await page.screenshot({ path: path.join(dir, `project-new-${suffix}.png`), fullPage: true });
      await shots.close();
    }
  });
});

/** Reads a text/event-stream body: `next(name)` resolves with the data of the next event of that name. */
function readEvents(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    // biome-ignore lint/suspicious/noExplicitAny: the events' shapes are checked by the assertions
    async next(name: string): Promise<any> {
      for (;;) {
        let end = buffer.indexOf("\n\n");
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === name && data !== undefined) return JSON.parse(data);
          end = buffer.indexOf("\n\n");
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before a "${name}" event`);
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}
