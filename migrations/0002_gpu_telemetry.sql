-- GPU-tagged worker pools, visibility: the devices workers report (discovered by nvidia-smi or declared by the
-- operator), a time series of their samples, and one heartbeat row per worker. Devices are physical and shared by
-- every tenant, so these tables carry no tenant.

CREATE TABLE worker_heartbeats (
  worker_id   text PRIMARY KEY,
  pool        text NOT NULL,
  host        text NOT NULL,
  queues      text[] NOT NULL DEFAULT '{}',
  state       text NOT NULL DEFAULT 'online' CHECK (state IN ('online', 'offline')),
  last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worker_heartbeats_pool ON worker_heartbeats (pool);

CREATE TABLE gpu_devices (
  id               text PRIMARY KEY,                -- the device UUID (nvidia-smi `uuid`, e.g. GPU-1f2e...)
  worker_id        text NOT NULL,
  pool             text NOT NULL,
  host             text NOT NULL,
  device_index     integer NOT NULL CHECK (device_index >= 0),
  name             text NOT NULL,
  gpu_class        text,
  memory_total_mb  integer NOT NULL CHECK (memory_total_mb >= 0),
  source           text NOT NULL CHECK (source IN ('nvidia-smi', 'declared')),
  state            text NOT NULL DEFAULT 'online' CHECK (state IN ('online', 'offline')),
  last_seen        timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gpu_devices_pool ON gpu_devices (pool);
CREATE INDEX gpu_devices_worker ON gpu_devices (worker_id);

-- One row per device per sample. Retention: recorders prune rows older than 24 h (db/gpus.ts
-- TELEMETRY_RETENTION_MS); reads return at most 10,000 rows per window (TELEMETRY_MAX_ROWS).
CREATE TABLE gpu_telemetry (
  device_id        text NOT NULL REFERENCES gpu_devices (id) ON DELETE CASCADE,
  recorded_at      timestamptz NOT NULL,
  memory_used_mb   integer NOT NULL CHECK (memory_used_mb >= 0),
  memory_total_mb  integer NOT NULL CHECK (memory_total_mb >= 0),
  utilization_pct  real NOT NULL CHECK (utilization_pct >= 0 AND utilization_pct <= 100),
  temperature_c    real,
  jobs_running     integer NOT NULL DEFAULT 0 CHECK (jobs_running >= 0),
  slots_used       integer NOT NULL DEFAULT 0 CHECK (slots_used >= 0),
  slots_free       integer NOT NULL DEFAULT 0 CHECK (slots_free >= 0),
  PRIMARY KEY (device_id, recorded_at)
);
-- The primary key serves per-device windows and "latest sample" lookups; this one serves pruning by age.
CREATE INDEX gpu_telemetry_recorded_at ON gpu_telemetry (recorded_at);
