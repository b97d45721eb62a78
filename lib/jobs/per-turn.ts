/**
 * Work that arrives in bursts — writes that commit together, outbound calls that answer
 * together — handled once per turn of the event loop instead of once per item: whatever is
 * added during a turn is taken together at its end (`setImmediate`, after the turn's I/O).
 * Under load that is one message or one statement for many items; alone, an item waits for
 * no more than the turn it arrived in.
 *
 * `at: "microtask"` takes them sooner: once the callback that added the first one and the
 * promise continuations already queued have run — e.g. every write whose result came in one
 * read from the database — without waiting for the rest of the turn's I/O.
 */

/** Collects items and hands them to `take` together at the end of the turn; `now()` takes them at once. */
export function perTurn<T>(
  take: (items: T[]) => void,
  { at = "turn" }: { at?: "turn" | "microtask" } = {},
) {
  let pending: T[] = [];
  let scheduled = false;
  const now = () => {
    scheduled = false;
    const items = pending;
    pending = [];
    if (items.length) take(items);
  };
  return {
    add(items: T[]) {
      pending.push(...items);
      if (!scheduled) {
        scheduled = true;
        if (at === "microtask") queueMicrotask(now);
        else setImmediate(now);
      }
    },
    now,
  };
}

/**
 * A call that is run once per turn for every input that came in it: `run` gets the inputs
 * and returns one result per input, in their order. At most `max` go in one run, and no two
 * with the same `key` (the rest go in the next turn's run). When a run fails, every caller
 * in it gets the error.
 */
export function batchedPerTurn<I, O>(
  run: (inputs: I[]) => Promise<O[]>,
  options: { max: number; key: (input: I) => string },
): (input: I) => Promise<O> {
  type Waiting = { input: I; resolve: (output: O) => void; reject: (error: unknown) => void };
  const turn = perTurn<Waiting>((waiting) => {
    const batch: Waiting[] = [];
    const later: Waiting[] = [];
    const keys = new Set<string>();
    for (const entry of waiting) {
      const key = options.key(entry.input);
      if (batch.length < options.max && !keys.has(key)) {
        keys.add(key);
        batch.push(entry);
      } else later.push(entry);
    }
    if (later.length) turn.add(later);
    Promise.resolve()
      .then(() => run(batch.map((entry) => entry.input)))
      .then(
        (outputs) => {
          for (const [i, entry] of batch.entries()) entry.resolve(outputs[i] as O);
        },
        (error) => {
          for (const entry of batch) entry.reject(error);
        },
      );
  });
  return (input) => new Promise<O>((resolve, reject) => turn.add([{ input, resolve, reject }]));
}
