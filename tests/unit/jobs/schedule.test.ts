import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** scheduleDispatch by dispatch mode, and the coalesced loops (lib/jobs/schedule.ts). */

const after = vi.fn();
vi.mock("next/server", () => ({ after: (task: unknown) => after(task) }));

let active = 0;
let maxActive = 0;
let gate: Promise<void> = Promise.resolve();
const dispatchDueJobs = vi.fn(async () => {
  active++;
  maxActive = Math.max(maxActive, active);
  await gate;
  active--;
  return 0;
});
const dispatchNotifiedJobs = vi.fn(async (ids: string[]) => {
  await gate;
  return ids.length;
});
vi.mock("@/lib/jobs/dispatcher", () => ({
  dispatchDueJobs: () => dispatchDueJobs(),
  dispatchNotifiedJobs: (ids: string[]) => dispatchNotifiedJobs(ids),
}));

const { dispatchIdle, dispatchNotified, runDispatch, scheduleDispatch, setDispatchMode } =
  await import("@/lib/jobs/schedule");

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

beforeEach(() => {
  after.mockClear();
  dispatchDueJobs.mockClear();
  dispatchNotifiedJobs.mockClear();
  maxActive = 0;
  gate = Promise.resolve();
});
afterEach(async () => {
  gate = Promise.resolve();
  await dispatchIdle();
  setDispatchMode("after-response");
});

describe("scheduleDispatch", () => {
  it("on the web thread with PGlite: after the response", async () => {
    scheduleDispatch();
    expect(after).toHaveBeenCalledTimes(1);
    await ticks();
    expect(dispatchDueJobs).not.toHaveBeenCalled(); // not before after() runs it
    await after.mock.calls[0]![0]();
    expect(dispatchDueJobs).toHaveBeenCalledTimes(1);
  });

  it("when a worker dispatches: nothing at all", async () => {
    setDispatchMode("elsewhere");
    scheduleDispatch();
    await ticks();
    expect(after).not.toHaveBeenCalled();
    expect(dispatchDueJobs).not.toHaveBeenCalled();
  });

  it("in the worker: at once, without after()", async () => {
    setDispatchMode("here");
    scheduleDispatch();
    await dispatchIdle();
    expect(after).not.toHaveBeenCalled();
    expect(dispatchDueJobs).toHaveBeenCalledTimes(1);
  });
});

describe("runDispatch", () => {
  it("runs at most 4 loops at once; a wake-up while they are busy makes one go round again", async () => {
    let release = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (let i = 0; i < 4; i++) void runDispatch();
    await vi.waitFor(() => expect(dispatchDueJobs).toHaveBeenCalledTimes(4), { timeout: 30_000 });
    // All four are busy claiming: these wake-ups start nothing, they ask for another round.
    for (let i = 0; i < 6; i++) void runDispatch();
    await ticks();
    expect(dispatchDueJobs).toHaveBeenCalledTimes(4);
    gate = Promise.resolve();
    release();
    await dispatchIdle();
    expect(maxActive).toBe(4);
    // The 6 extra wake-ups became passes after the busy ones, not 6 more loops.
    expect(dispatchDueJobs.mock.calls.length).toBeGreaterThan(4);
    expect(dispatchDueJobs.mock.calls.length).toBeLessThan(10);
  });

  it("a job named by a NOTIFY is claimed by its id, with no scan for due jobs; ids named while a loop is busy are claimed together", async () => {
    let release = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    dispatchNotified("job_a");
    await vi.waitFor(() => expect(dispatchNotifiedJobs).toHaveBeenCalledTimes(1), {
      timeout: 30_000,
    });
    expect(dispatchNotifiedJobs).toHaveBeenLastCalledWith(["job_a"]);
    // Four loops at most: the fifth and sixth ids wait for a busy loop's next pass.
    for (const id of ["job_b", "job_c", "job_d", "job_e", "job_f"]) dispatchNotified(id);
    await ticks();
    gate = Promise.resolve();
    release();
    await dispatchIdle();
    const claimed = dispatchNotifiedJobs.mock.calls.flatMap(([ids]) => ids);
    expect(claimed.sort()).toEqual(["job_a", "job_b", "job_c", "job_d", "job_e", "job_f"]);
    expect(dispatchDueJobs).not.toHaveBeenCalled();
  });

  it("one pass claims at most 20 notified jobs: the rest wait for the next pass", async () => {
    let release = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (let i = 0; i < 4; i++) void runDispatch(); // four busy loops
    await vi.waitFor(() => expect(dispatchDueJobs).toHaveBeenCalledTimes(4), { timeout: 30_000 });
    const ids = Array.from({ length: 45 }, (_, i) => `job_${i}`);
    for (const id of ids) dispatchNotified(id);
    gate = Promise.resolve();
    release();
    await dispatchIdle();
    const batches = dispatchNotifiedJobs.mock.calls.map(([batch]) => batch);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(20);
    expect(batches.flat().sort()).toEqual([...ids].sort());
  });

  it("dispatchIdle waits for the loops under way", async () => {
    let release = () => {};
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    void runDispatch();
    await vi.waitFor(() => expect(dispatchDueJobs).toHaveBeenCalledTimes(1), { timeout: 30_000 });
    let idle = false;
    const waiting = dispatchIdle().then(() => {
      idle = true;
    });
    await ticks();
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(idle).toBe(true);
  });
});
