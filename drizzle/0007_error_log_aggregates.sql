ALTER TABLE "error_log" ADD COLUMN "count" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "error_log" ADD COLUMN "aggregate_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "error_log_aggregate_uq" ON "error_log" USING btree ("aggregate_key");