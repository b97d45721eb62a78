import "server-only";
import { env } from "@/lib/env";
import { log } from "@/lib/observability/log";
import { sweep } from "./dispatcher";

const state = globalThis as unknown as { __framechainSweeper?: NodeJS.Timeout };

/**
 * Starts the periodic sweep once per process (from instrumentation.ts): expires stages
 * whose callback never came and delivers due jobs — including those a crashed process
 * left behind, which is what makes "a crash at any point loses no queued work" hold.
 */
export function startSweeper() {
  if (state.__framechainSweeper || env.DISPATCH_SWEEP_INTERVAL_MS <= 0) return;
  let running = false;
  const tick = async () => {
    if (running) return; // never overlap: a slow pass just delays the next one
    running = true;
    try {
      const { expired, delivered } = await sweep();
      if (expired || delivered) log("info", "sweep", { expired, delivered });
    } catch (error) {
      log("warn", "sweep.failed", { message: (error as Error).message });
    } finally {
      running = false;
    }
  };
  state.__framechainSweeper = setInterval(tick, env.DISPATCH_SWEEP_INTERVAL_MS);
  state.__framechainSweeper.unref?.();
  setTimeout(tick, 250).unref?.();
}
