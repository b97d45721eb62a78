import { z } from "zod";

/**
 * A stand-in's knobs: how its services behave. The simulator takes them from SIMULATOR_*
 * settings, overridden at run time through `POST /api/simulator/config`; the integration
 * tests and the bench/soak set them in code.
 */
const rate = z.number().min(0).max(1);
const ms = z.number().int().min(0).max(600_000);

export const knobsSchema = z.object({
  /** Time from submission to the final callback; progress callbacks are spread before it. */
  delay_ms: ms,
  /** Up to this much more delay, at random per task: deliveries overtake each other. */
  delay_jitter_ms: ms,
  /** Delay before answering a submission, per service (the slow-downstream bench). */
  answer_delay_ms: z.partialRecord(z.enum(["video", "last-frame", "stitch", "notify"]), ms),
  /** Send callbacks at all (false: the caller sends its own, as the integration tests do). */
  callbacks: z.boolean(),
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

/** A stand-in that answers at once and never calls back, fails or repeats itself. */
export const QUIET: Knobs = {
  delay_ms: 0,
  delay_jitter_ms: 0,
  answer_delay_ms: {},
  callbacks: false,
  failure_rate: 0,
  duplicate_rate: 0,
  silence_rate: 0,
  unavailable_rate: 0,
  early_callback_rate: 0,
  shuffle: false,
  progress_steps: 0,
  payload_shape: "mixed",
};

/** Body of `POST /api/simulator/config`: any subset of the knobs; `null` drops an override. */
export const knobOverridesInput = z
  .object(
    Object.fromEntries(
      Object.entries(knobsSchema.shape).map(([k, v]) => [k, v.nullable().optional()]),
    ),
  )
  .strict();
