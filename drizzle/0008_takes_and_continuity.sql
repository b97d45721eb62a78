CREATE TABLE "final_videos" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"url" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scene_takes" (
	"scene_id" text NOT NULL,
	"take" integer NOT NULL,
	"prompt" text NOT NULL,
	"duration" real NOT NULL,
	"video_url" text NOT NULL,
	"thumbnail_url" text,
	"last_frame_url" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scene_takes_scene_id_take_pk" PRIMARY KEY("scene_id","take")
);
--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "continuity" text DEFAULT 'chain' NOT NULL;--> statement-breakpoint
ALTER TABLE "scenes" ADD COLUMN "takes" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "scenes" ADD COLUMN "selected_take" integer;--> statement-breakpoint
ALTER TABLE "final_videos" ADD CONSTRAINT "final_videos_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scene_takes" ADD CONSTRAINT "scene_takes_scene_id_scenes_id_fk" FOREIGN KEY ("scene_id") REFERENCES "public"."scenes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "final_videos_project_idx" ON "final_videos" USING btree ("project_id","id");--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_continuity_ck" CHECK ("projects"."continuity" in ('chain', 'independent'));--> statement-breakpoint
-- What existed before takes: each completed scene's generation is its take 1, each final video the first of its list.
INSERT INTO "scene_takes" ("scene_id", "take", "prompt", "duration", "video_url", "thumbnail_url", "last_frame_url", "created_at")
  SELECT "id", 1, "prompt", "duration", "video_url", "thumbnail_url", "last_frame_url", "updated_at" FROM "scenes"
  WHERE "status" = 'completed' AND "video_url" IS NOT NULL;--> statement-breakpoint
UPDATE "scenes" SET "takes" = 1, "selected_take" = 1 WHERE "status" = 'completed' AND "video_url" IS NOT NULL;--> statement-breakpoint
INSERT INTO "final_videos" ("project_id", "url", "created_at")
  SELECT "id", "final_video_url", coalesce("completed_at", "updated_at") FROM "projects" WHERE "final_video_url" IS NOT NULL;
