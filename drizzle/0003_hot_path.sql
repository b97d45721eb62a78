DROP INDEX "projects_updated_at_idx";--> statement-breakpoint
DROP INDEX "jobs_due_idx";--> statement-breakpoint
DROP INDEX "jobs_deadline_idx";--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD COLUMN "event" jsonb;--> statement-breakpoint
CREATE INDEX "jobs_lease_idx" ON "jobs" USING btree ("deadline_at") WHERE "jobs"."status" = 'running';--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "jobs" USING btree ("run_at") WHERE "jobs"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "jobs_deadline_idx" ON "jobs" USING btree ("deadline_at") WHERE "jobs"."status" = 'waiting';--> statement-breakpoint
ALTER TABLE "error_log" ADD CONSTRAINT "error_log_type_ck" CHECK ("error_log"."type" in ('webhook', 'service', 'pipeline', 'ratelimit', 'system'));--> statement-breakpoint
ALTER TABLE "error_log" ADD CONSTRAINT "error_log_severity_ck" CHECK ("error_log"."severity" in ('info', 'warning', 'error', 'critical'));--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_kind_ck" CHECK ("jobs"."kind" in ('generate_video', 'extract_last_frame', 'stitch', 'notify'));--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_status_ck" CHECK ("jobs"."status" in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'dead'));--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_status_ck" CHECK ("projects"."status" in ('draft', 'generating', 'stitching', 'completed', 'failed', 'cancelled'));--> statement-breakpoint
ALTER TABLE "scenes" ADD CONSTRAINT "scenes_status_ck" CHECK ("scenes"."status" in ('pending', 'generating_video', 'extracting_frame', 'completed', 'failed'));--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_source_ck" CHECK ("webhook_events"."source" in ('video-complete', 'last-frame-complete', 'stitch-complete'));--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_outcome_ck" CHECK ("webhook_events"."outcome" in ('applied', 'duplicate', 'ignored', 'parked', 'rejected'));