-- Raises (SQLSTATE FC409) when a multi-part write finds a row that changed since its state was
-- loaded: the whole statement, and so every part of the write, rolls back, and the caller
-- decides again on a fresh state. See lib/pipeline/store.ts.
CREATE FUNCTION framechain_guard(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT ok THEN
    RAISE EXCEPTION 'concurrent change: %', what USING ERRCODE = 'FC409';
  END IF;
  RETURN true;
END
$$;--> statement-breakpoint
-- jobs churns (each job is updated 3-4 times, then left finished): vacuum it early so the claim's
-- index scans do not walk dead entries.
ALTER TABLE "jobs" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 200, autovacuum_analyze_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "projects" SET (fillfactor = 85);
