/** Runs what route handlers scheduled with `after()` (see tests/setup/database.ts), until none is left. */
export async function runAfterResponse(): Promise<number> {
  const store = globalThis as { __afterQueue?: unknown[] };
  let ran = 0;
  while (store.__afterQueue?.length) {
    const tasks = store.__afterQueue.splice(0);
    for (const task of tasks) {
      await (typeof task === "function" ? task() : task);
      ran++;
    }
  }
  return ran;
}
