-- GPU telemetry ingestion (POST /api/v1/gpus/telemetry): samples from a DCGM exporter scrape flattened to CSV, one
-- metric value per row, stored in the long layout (device, instant, metric, value) so that any DCGM field can be kept
-- without a column of its own. Devices the upload names that no Kiln worker reported are created with source 'dcgm':
-- they have no worker, pool or known total memory, stay 'offline' (no Kiln worker serves them) and are never routed
-- to. A Kiln worker that later reports the same UUID takes the row over (db/gpus.ts upsertDevice).

ALTER TABLE gpu_devices DROP CONSTRAINT gpu_devices_source_check;
ALTER TABLE gpu_devices ADD CONSTRAINT gpu_devices_source_check CHECK (source IN ('nvidia-smi', 'declared', 'dcgm'));
ALTER TABLE gpu_devices
  ALTER COLUMN worker_id DROP NOT NULL,
  ALTER COLUMN pool DROP NOT NULL,
  ALTER COLUMN memory_total_mb DROP NOT NULL;
-- Only a device known from telemetry alone lacks them; a worker's device always has all three.
ALTER TABLE gpu_devices ADD CONSTRAINT gpu_devices_worker_fields CHECK (
  source = 'dcgm' OR (worker_id IS NOT NULL AND pool IS NOT NULL AND memory_total_mb IS NOT NULL)
);

-- One row per device, instant and metric. The primary key makes a re-upload idempotent (INSERT ... ON CONFLICT DO
-- NOTHING: the first value stored for a sample stays) and, led by (device_id, recorded_at), serves a device's time
-- window across metrics in time order. No automatic retention: uploads are the operator's to keep or delete
-- (rows go with their device, ON DELETE CASCADE).
CREATE TABLE gpu_metric_samples (
  device_id    text NOT NULL REFERENCES gpu_devices (id) ON DELETE CASCADE,
  recorded_at  timestamptz NOT NULL,
  metric       text NOT NULL,
  value        double precision NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
  PRIMARY KEY (device_id, recorded_at, metric)
);
