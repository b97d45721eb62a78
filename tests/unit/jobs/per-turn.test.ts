import { describe, expect, it, vi } from "vitest";
import { batchedPerTurn, perTurn } from "@/lib/jobs/per-turn";

/** Work taken once per event-loop turn (lib/jobs/per-turn.ts). */

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("perTurn", () => {
  it("hands everything added in one turn over together, at the turn's end", async () => {
    const take = vi.fn();
    const handed = perTurn<number>(take);
    handed.add([1]);
    handed.add([2, 3]);
    expect(take).not.toHaveBeenCalled();
    await turn();
    expect(take.mock.calls).toEqual([[[1, 2, 3]]]);
    handed.add([4]);
    await turn();
    expect(take.mock.calls).toEqual([[[1, 2, 3]], [[4]]]);
  });

  it("at a microtask: takes what was added by the running code and the continuations already queued, before the turn's I/O", async () => {
    const take = vi.fn();
    const handed = perTurn<number>(take, { at: "microtask" });
    const queued = Promise.resolve().then(() => handed.add([2])); // queued before the first add
    handed.add([1]);
    expect(take).not.toHaveBeenCalled();
    await queued;
    await Promise.resolve();
    expect(take.mock.calls).toEqual([[[1, 2]]]);
    handed.add([3]);
    let turnEnded = false;
    setImmediate(() => {
      turnEnded = true;
    });
    await Promise.resolve();
    expect(take.mock.calls).toEqual([[[1, 2]], [[3]]]);
    expect(turnEnded).toBe(false);
  });

  it("now() takes what is pending at once, and the turn's end then has nothing to take", async () => {
    const take = vi.fn();
    const handed = perTurn<string>(take);
    handed.add(["a"]);
    handed.now();
    expect(take.mock.calls).toEqual([[["a"]]]);
    await turn();
    expect(take).toHaveBeenCalledTimes(1);
  });
});

describe("batchedPerTurn", () => {
  it("runs once for the inputs of one turn and gives each caller its own result", async () => {
    const run = vi.fn(async (inputs: number[]) => inputs.map((n) => n * 10));
    const call = batchedPerTurn(run, { max: 10, key: String });
    const results = await Promise.all([call(1), call(2), call(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(run.mock.calls).toEqual([[[1, 2, 3]]]);
  });

  it("puts at most `max` in one run and never two with one key: the rest go in the next turn", async () => {
    const run = vi.fn(async (inputs: string[]) => inputs.map((s) => s.toUpperCase()));
    const call = batchedPerTurn(run, { max: 2, key: (s) => s });
    const results = await Promise.all([call("a"), call("a"), call("b"), call("c")]);
    expect(results).toEqual(["A", "A", "B", "C"]);
    expect(run.mock.calls).toEqual([[["a", "b"]], [["a", "c"]]]);
  });

  it("gives every caller of a failed run the error, and runs the next turn's inputs anew", async () => {
    let fail = true;
    const run = vi.fn(async (inputs: number[]) => {
      if (fail) throw new Error("database went away");
      return inputs;
    });
    const call = batchedPerTurn(run, { max: 10, key: String });
    const outcomes = await Promise.allSettled([call(1), call(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    await expect(call(3)).resolves.toBe(3);
  });

  it("a run that throws before it returns a promise fails its callers the same way", async () => {
    const call = batchedPerTurn<number, number>(
      () => {
        throw new Error("bad input");
      },
      { max: 10, key: String },
    );
    await expect(call(1)).rejects.toThrow("bad input");
  });
});
