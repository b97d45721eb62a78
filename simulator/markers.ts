/**
 * Prompt markers: deterministic per-scene behaviour of the simulated video service,
 * for browser tests and demos. Case-insensitive, anywhere in a scene's prompt.
 *
 * - `[fail]`      every video attempt of the scene fails
 * - `[fail-once]` the scene's first video attempt fails, later ones succeed
 * - `[silent]`    the video service never calls back (the stage deadline must catch it)
 * - `[flaky]`     the first two submissions of each video job are answered 503
 * - `[slow]`      the scene's callbacks take five times the delay
 */
export type PromptMarkers = {
  fail: boolean;
  failOnce: boolean;
  silent: boolean;
  flaky: boolean;
  slow: boolean;
};

export const SLOW_FACTOR = 5;
export const FLAKY_REJECTIONS = 2;

export function promptMarkers(prompt: string | null | undefined): PromptMarkers {
  const found = new Set(
    Array.from((prompt ?? "").matchAll(/\[(fail|fail-once|silent|flaky|slow)\]/gi), (m) =>
      m[1]!.toLowerCase(),
    ),
  );
  return {
    fail: found.has("fail"),
    failOnce: found.has("fail-once"),
    silent: found.has("silent"),
    flaky: found.has("flaky"),
    slow: found.has("slow"),
  };
}
