DROP INDEX "error_log_created_idx";--> statement-breakpoint
DROP INDEX "webhook_events_received_idx";