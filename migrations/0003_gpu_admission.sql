-- Admission by GPU memory (gpu/admission.ts): the budget a GPU worker admits jobs against, and per sample the memory
-- reserved by admitted jobs and the jobs waiting for memory on the device.

ALTER TABLE gpu_devices ADD COLUMN memory_budget_mb integer CHECK (memory_budget_mb IS NULL OR memory_budget_mb > 0);

ALTER TABLE gpu_telemetry
  ADD COLUMN memory_budget_mb integer CHECK (memory_budget_mb IS NULL OR memory_budget_mb > 0),
  ADD COLUMN memory_reserved_mb integer NOT NULL DEFAULT 0 CHECK (memory_reserved_mb >= 0),
  ADD COLUMN jobs_waiting integer NOT NULL DEFAULT 0 CHECK (jobs_waiting >= 0);

-- Every worker (CPU pools too) reports its activity slots and running jobs with its heartbeat, so
-- GET /api/v1/resources/status shows slots for pools without devices.
ALTER TABLE worker_heartbeats
  ADD COLUMN slots_used integer NOT NULL DEFAULT 0 CHECK (slots_used >= 0),
  ADD COLUMN slots_free integer NOT NULL DEFAULT 0 CHECK (slots_free >= 0),
  ADD COLUMN jobs_running integer NOT NULL DEFAULT 0 CHECK (jobs_running >= 0);
