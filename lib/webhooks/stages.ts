import type { JobKind, WebhookSource } from "@/lib/db/schema";
import { CALLBACK_SECRETS } from "@/lib/services/requests";

/** The three callback endpoints, the job kind each completes, and the secrets that sign it. */
export const STAGES = {
  "video-complete": {
    jobKind: "generate_video",
    secrets: CALLBACK_SECRETS["video-complete"],
    secretName: "VIDEO_WEBHOOK_SECRET",
    description: "Video generation service reports a scene's video (or its progress or failure)",
  },
  "last-frame-complete": {
    jobKind: "extract_last_frame",
    secrets: CALLBACK_SECRETS["last-frame-complete"],
    secretName: "LAST_FRAME_WEBHOOK_SECRET",
    description: "Last-frame service reports the final frame of a scene's video",
  },
  "stitch-complete": {
    jobKind: "stitch",
    secrets: CALLBACK_SECRETS["stitch-complete"],
    secretName: "STITCH_WEBHOOK_SECRET",
    description: "Stitch service reports the project's final video",
  },
} as const satisfies Record<
  WebhookSource,
  {
    jobKind: JobKind;
    secrets: () => string[] | undefined;
    secretName: string;
    description: string;
  }
>;

export type Stage = WebhookSource;
