-- IF [NOT] EXISTS: safe to apply again (a migration step retried after its record was lost).
CREATE UNIQUE INDEX IF NOT EXISTS "jobs_project_key_uq" ON "jobs" USING btree ("project_id","key");--> statement-breakpoint
DROP INDEX IF EXISTS "jobs_key_uq";--> statement-breakpoint
DROP INDEX IF EXISTS "jobs_project_idx";