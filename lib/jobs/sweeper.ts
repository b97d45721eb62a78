import "server-only";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { sweep } from "./dispatcher";

const state = globalThis as unknown as { __framechainSweeper?: NodeJS.Timeout };

/**
 * Starts the periodic sweep once per thread (the web thread with PGlite, or the dispatch
 * worker): expires stages whose callback never came and delivers due jobs — including those
 * a crashed process left behind, which is what makes "a crash at any point loses no queued
 * work" hold. Returns what stops it, resolving once a pass under way has ended (0 ms: off).
 */
export function startSweeper(intervalMs = env.DISPATCH_SWEEP_INTERVAL_MS): () => Promise<void> {
  if (state.__framechainSweeper || intervalMs <= 0) return async () => {};
  let running: Promise<void> | undefined;
  const pass = async () => {
    try {
      const { expired, delivered } = await sweep();
      if (expired || delivered) log("info", "sweep", { expired, delivered });
    } catch (error) {
      log("warn", "sweep.failed", { message: (error as Error).message });
    } finally {
      running = undefined;
    }
  };
  const tick = () => {
    running ??= pass(); // never overlap: a slow pass just delays the next one
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref?.();
  const first = setTimeout(tick, Math.min(250, intervalMs));
  first.unref?.();
  state.__framechainSweeper = timer;
  return async () => {
    clearInterval(timer);
    clearTimeout(first);
    if (state.__framechainSweeper === timer) state.__framechainSweeper = undefined;
    await running;
  };
}
