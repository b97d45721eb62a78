import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { getDb } from "@/lib/db/client";
import { projects } from "@/lib/db/schema";
import { PROJECT_CHANNEL } from "@/lib/pipeline/store";
import { createProject } from "@/lib/projects/actions";
import {
  pollProjectChangesOnce,
  projectChangesListening,
  stopProjectChanges,
  subscribeProjectChanges,
} from "@/lib/projects/events";

type Tx = Parameters<Parameters<Awaited<ReturnType<typeof getDb>>["transaction"]>[0]>[0];
/** What every pipeline write does for its project: a notification sent at commit. */
const notifyProjectChanged = (tx: Tx, id: string) =>
  tx.execute(sql`select pg_notify(${PROJECT_CHANNEL}, ${id})`);

/** The live-update fan-out against the real database: LISTEN/NOTIFY first, the poll as a safety net. */

const waitFor = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
};

afterAll(() => stopProjectChanges());

describe("project change fan-out", () => {
  it("wakes every subscriber from one listener when a transaction that notifies commits", async () => {
    const a: string[] = [];
    const b: string[] = [];
    const stopA = subscribeProjectChanges((id) => a.push(id));
    const stopB = subscribeProjectChanges((id) => b.push(id));
    expect(await projectChangesListening()).toBe(true);

    const project = await createProject({
      name: "fan-out",
      scenes: [{ prompt: "p", duration: 5 }],
      autostart: false,
    });
    a.length = 0;
    b.length = 0;
    const db = await getDb();
    await db.transaction((tx) => notifyProjectChanged(tx, project.id));
    expect(await waitFor(() => a.includes(project.id) && b.includes(project.id), 10_000)).toBe(
      true,
    );

    // A rolled-back transaction's notification is never delivered.
    const other = await createProject({
      name: "rolled back",
      scenes: [{ prompt: "p", duration: 5 }],
      autostart: false,
    });
    await db
      .transaction(async (tx) => {
        await notifyProjectChanged(tx, `${other.id}-never`);
        throw new Error("roll back");
      })
      .catch(() => {});
    // Notifications arrive in commit order on the one LISTEN connection: once a later one is
    // here, a rolled-back one that were ever delivered would be here too. No fixed wait.
    await db.transaction((tx) => notifyProjectChanged(tx, `${other.id}-sentinel`));
    expect(await waitFor(() => a.includes(`${other.id}-sentinel`), 10_000)).toBe(true);
    expect(a).not.toContain(`${other.id}-never`);

    stopA();
    a.length = 0;
    await db.transaction((tx) => notifyProjectChanged(tx, project.id));
    expect(await waitFor(() => b.filter((id) => id === project.id).length >= 2, 10_000)).toBe(true);
    expect(a).toEqual([]);
    stopB();
  });

  it("finds a change that sent no notification by polling updated_at", async () => {
    const project = await createProject({
      name: "quiet",
      scenes: [{ prompt: "p", duration: 5 }],
      autostart: false,
    });
    const seen: string[] = [];
    const stop = subscribeProjectChanges((id) => seen.push(id));
    // The first pass sets the watermark; then a write without pg_notify, as if the NOTIFY was
    // lost; the next pass finds it. Passes driven directly: no waiting on the interval.
    await pollProjectChangesOnce();
    const db = await getDb();
    await db.update(projects).set({ updatedAt: new Date() }).where(eq(projects.id, project.id));
    await pollProjectChangesOnce();
    expect(seen).toContain(project.id);
    stop();
  });
});
