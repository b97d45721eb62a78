import { z } from "zod";
import { env } from "@/lib/env";
import { store } from "./state";

/**
 * The simulator's knobs: SIMULATOR_* settings, overridden at run time through
 * `POST /api/simulator/config` (tests and the soak run), kept in memory.
 */
const rate = z.number().min(0).max(1);

export const knobsSchema = z.object({
  /** Time from submission to the final callback; progress callbacks are spread before it. */
  delay_ms: z.number().int().min(0).max(600_000),
  failure_rate: rate,
  duplicate_rate: rate,
  silence_rate: rate,
  unavailable_rate: rate,
  early_callback_rate: rate,
  shuffle: z.boolean(),
  progress_steps: z.number().int().min(0).max(10),
  /** "mixed" picks the documented or the real-service shape per task. */
  payload_shape: z.enum(["mixed", "documented", "service"]),
});
export type Knobs = z.infer<typeof knobsSchema>;

/** Body of `POST /api/simulator/config`: any subset of the knobs; `null` drops an override. */
export const knobOverridesInput = z
  .object(
    Object.fromEntries(
      Object.entries(knobsSchema.shape).map(([k, v]) => [k, v.nullable().optional()]),
    ),
  )
  .strict();

function fromEnv(): Knobs {
  return {
    delay_ms: env.SIMULATOR_DELAY_MS,
    failure_rate: env.SIMULATOR_FAILURE_RATE,
    duplicate_rate: env.SIMULATOR_DUPLICATE_RATE,
    silence_rate: env.SIMULATOR_SILENCE_RATE,
    unavailable_rate: env.SIMULATOR_UNAVAILABLE_RATE,
    early_callback_rate: env.SIMULATOR_EARLY_CALLBACK_RATE,
    shuffle: env.SIMULATOR_SHUFFLE,
    progress_steps: env.SIMULATOR_PROGRESS_STEPS,
    payload_shape: "mixed",
  };
}

export function knobs(): Knobs {
  return { ...fromEnv(), ...(store().overrides as Partial<Knobs>) };
}

/** Merges overrides (validated by `knobOverridesInput`) and returns the knobs now in force. */
export function overrideKnobs(overrides: Record<string, unknown>): Knobs {
  const s = store();
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete s.overrides[key];
    else if (value !== undefined) s.overrides[key] = value;
  }
  return knobs();
}

export function clearKnobOverrides(): Knobs {
  store().overrides = {};
  return knobs();
}

/** True with probability `p` (0 never, 1 always). */
export function chance(p: number): boolean {
  return p > 0 && Math.random() < p;
}
