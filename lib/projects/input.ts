import { z } from "zod";
import { httpUrl } from "@/lib/http/urls";
import { CONTINUITY_MODES, REGENERATE_SCOPES } from "@/lib/pipeline/statuses";

/** Limits a user would find reasonable, and that keep one project's work bounded. */
export const PROJECT_LIMITS = {
  nameMax: 200,
  scenesMax: 100,
  promptMax: 2000,
  durationMin: 1,
  durationMax: 60,
  durationDefault: 5,
} as const;

const L = PROJECT_LIMITS;

/**
 * Every message here is read by people: the form shows it next to its field and the API
 * returns it in `issues`. So plain sentences, never zod's defaults ("Too small: expected
 * number to be >=1"). Durations are seconds and may be decimals (2.5): the services take
 * fractional seconds and the hint says so.
 */
const missingOr = (missing: string, wrongType: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? missing : wrongType;

/** A scene's length in seconds (decimals allowed). */
const sceneDuration = z
  .number({
    error: `Enter the length in seconds, a number from ${L.durationMin} to ${L.durationMax}`,
  })
  .min(L.durationMin, `A scene lasts at least ${L.durationMin} second`)
  .max(L.durationMax, `A scene lasts at most ${L.durationMax} seconds`);

export const sceneInput = z.object(
  {
    prompt: z
      .string({ error: missingOr("Prompt is required", "The prompt must be text") })
      .trim()
      .min(1, "Prompt is required")
      .max(L.promptMax, `Keep the prompt to ${L.promptMax} characters or fewer`),
    duration: sceneDuration.default(L.durationDefault),
  },
  { error: "Each scene needs a prompt (and optionally a duration)" },
);

export const createProjectInput = z.object(
  {
    name: z
      .string({ error: missingOr("Name is required", "The name must be text") })
      .trim()
      .min(1, "Name is required")
      .max(L.nameMax, `Keep the name to ${L.nameMax} characters or fewer`),
    scenes: z
      .array(sceneInput, {
        error: missingOr("Add at least one scene", "Scenes must be a list of scenes"),
      })
      .min(1, "Add at least one scene")
      .max(L.scenesMax, `A project can have at most ${L.scenesMax} scenes`),
    start_image_url: httpUrl.nullish(),
    autostart: z.boolean({ error: "autostart must be true or false" }).default(false),
    continuity: z
      .enum(CONTINUITY_MODES, {
        error:
          'continuity is "chain" (each scene from the last frame of the one before) or "independent"',
      })
      .default("chain"),
  },
  { error: "Send a JSON object with a name and scenes" },
);
/** A validated project to create; `continuity` may be left out by callers in code (chain). */
export type CreateProjectInput = Omit<z.output<typeof createProjectInput>, "continuity"> &
  Partial<Pick<z.output<typeof createProjectInput>, "continuity">>;

/** `POST …/scenes/{number}/regenerate`: optionally a new prompt or duration, and the scope. */
export const regenerateInput = z.object(
  {
    prompt: sceneInput.shape.prompt.optional(),
    duration: sceneDuration.optional(),
    scope: z
      .enum(REGENERATE_SCOPES, {
        error: 'scope is "scene" (only this one) or "following" (this one and every later scene)',
      })
      .optional(),
  },
  { error: "Send a JSON object (it may be empty)" },
);
export type RegenerateInput = z.output<typeof regenerateInput>;

export const selectTakeInput = z.object(
  { take: z.number({ error: "take is the number of one of the scene's takes" }).int().min(1) },
  { error: 'Send a JSON object like {"take": 1}' },
);
