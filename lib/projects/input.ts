import { z } from "zod";
import { httpUrl } from "@/lib/http/urls";

/** Limits a user would find reasonable, and that keep one project's work bounded. */
export const PROJECT_LIMITS = {
  nameMax: 200,
  scenesMax: 100,
  promptMax: 2000,
  durationMin: 1,
  durationMax: 60,
  durationDefault: 5,
} as const;

export const sceneInput = z.object({
  prompt: z.string().trim().min(1, "prompt is required").max(PROJECT_LIMITS.promptMax),
  duration: z
    .number()
    .min(PROJECT_LIMITS.durationMin)
    .max(PROJECT_LIMITS.durationMax)
    .default(PROJECT_LIMITS.durationDefault),
});

export const createProjectInput = z.object({
  name: z.string().trim().min(1, "name is required").max(PROJECT_LIMITS.nameMax),
  scenes: z
    .array(sceneInput)
    .min(1, "a project needs at least one scene")
    .max(PROJECT_LIMITS.scenesMax, `at most ${PROJECT_LIMITS.scenesMax} scenes`),
  start_image_url: httpUrl.nullish(),
  autostart: z.boolean().default(false),
});
export type CreateProjectInput = z.output<typeof createProjectInput>;
