-- Admission by GPU memory (gpu/admission.ts): the budget a GPU worker admits jobs against, and per sample the memory
-- reserved by admitted jobs and the jobs waiting for memory on the device.

ALTER TABLE gpu_devices ADD COLUMN memory_budget_mb integer CHECK (memory_budget_mb IS NULL OR memory_budget_mb > 0);

ALTER TABLE gpu_telemetry
  ADD COLUMN memory_budget_mb integer CHECK (memory_budget_mb IS NULL OR memory_budget_mb > 0),
  ADD COLUMN memory_reserved_mb integer NOT NULL DEFAULT 0 CHECK (memory_reserved_mb >= 0),
  ADD COLUMN jobs_waiting integer NOT NULL DEFAULT 0 CHECK (jobs_waiting >= 0);
