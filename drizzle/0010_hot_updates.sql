DROP INDEX "jobs_external_task_idx";--> statement-breakpoint
CREATE INDEX "jobs_external_task_idx" ON "jobs" USING btree ("external_task_id") WHERE "jobs"."external_task_id" is not null;--> statement-breakpoint
-- Room on each page for a scene's updated row (status, progress, urls): its updates change no
-- indexed column, so with free space on the page they are HOT (no index entries, less WAL).
ALTER TABLE "scenes" SET (fillfactor = 85);
--> statement-breakpoint
-- The handshake rows only need to outlive the moment a park and a record of a submission meet:
-- no WAL for them. After a database crash they are gone, and a callback parked before it is
-- applied by the sweep's net (applyStrandedParkedCallbacks) instead of the record.
ALTER TABLE "task_handshakes" SET UNLOGGED;
