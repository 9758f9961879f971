-- Job event log (README: Live job events): what a job did, in order, for the event stream and the metric series.
-- Activities append as they run; the API appends the terminal `end` event once Temporal reports the job closed.
-- `seq` counts from 1 per job without gaps, and an event's idempotency key makes a retried append return the event
-- already written instead of adding one (a resumed training attempt re-running an epoch adds nothing).

CREATE TABLE job_events (
  job_id           text NOT NULL,
  seq              bigint NOT NULL CHECK (seq > 0),
  type             text NOT NULL CHECK (type IN ('status', 'progress', 'stage', 'gate', 'schedule-run', 'warning',
                                                 'resumed', 'end')),
  at               timestamptz NOT NULL DEFAULT clock_timestamp(),
  data             jsonb NOT NULL DEFAULT '{}'::jsonb,
  idempotency_key  text NOT NULL,
  PRIMARY KEY (job_id, seq),
  UNIQUE (job_id, idempotency_key)
);
-- At most one terminal event per job; appends look it up to refuse anything after it.
CREATE UNIQUE INDEX job_events_end ON job_events (job_id) WHERE type = 'end';

-- Appends one event: returns its seq and time (inserted true), the event an earlier append with the same key wrote
-- (inserted false), or no row when the job already has its `end` event (a cancelled activity still heartbeating).
-- One writer per job at a time (a transaction-scoped advisory lock on the job id's hash, class 7031997), so seq is
-- max + 1 of what is committed and events commit in seq order: a reader that sees seq n has seen 1..n-1. In a
-- VOLATILE plpgsql function each statement takes a fresh snapshot, so the max read after the lock sees the previous
-- writer's commit. The NOTIFY (payload: ids only) is delivered when the insert commits.
CREATE FUNCTION kiln_append_job_event(p_job_id text, p_type text, p_data jsonb, p_key text)
RETURNS TABLE (seq bigint, at timestamptz, inserted boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_seq bigint;
  v_at timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(7031997, hashtext(p_job_id));
  SELECT e.seq, e.at INTO v_seq, v_at FROM job_events e WHERE e.job_id = p_job_id AND e.idempotency_key = p_key;
  IF FOUND THEN
    RETURN QUERY SELECT v_seq, v_at, false;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = p_job_id AND e.type = 'end') THEN
    RETURN;
  END IF;
  SELECT COALESCE(max(e.seq), 0) + 1 INTO v_seq FROM job_events e WHERE e.job_id = p_job_id;
  v_at := clock_timestamp();
  INSERT INTO job_events (job_id, seq, type, at, data, idempotency_key)
  VALUES (p_job_id, v_seq, p_type, v_at, p_data, p_key);
  PERFORM pg_notify('kiln_job_events', json_build_object('jobId', p_job_id, 'seq', v_seq)::text);
  RETURN QUERY SELECT v_seq, v_at, true;
END
$$;

-- The training job whose events hold a version's per-epoch curves (GET /models/:name/versions/:version/metrics):
-- the training job itself, or a pipeline's training child. Versions trained before this column name their job as
-- source workflow.
ALTER TABLE model_versions ADD COLUMN training_job_id text;
UPDATE model_versions SET training_job_id = source_workflow_id
  WHERE flavor LIKE 'mlp-%' AND source_workflow_id LIKE 'training-%';
