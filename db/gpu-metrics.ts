/**
 * Ingested GPU metric samples (migration 0007): one row per device, instant and metric, in `gpu_metric_samples`.
 * Writes happen inside the caller's transaction (an upload is atomic): each batch is copied (COPY FROM STDIN, text
 * format) into a temporary staging table and moved over with INSERT ... ON CONFLICT DO NOTHING, so a sample already
 * stored (or repeated) is counted and skipped, never an error. Measured against plain INSERTs of the same batches by
 * bench/telemetry-ingest.ts.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Queryable } from './pool';

/** A sample to store. `deviceId` and `metric` are COPY-safe (no tab, backslash or line break): callers validate them. */
export interface MetricSample {
  deviceId: string;
  /** Epoch milliseconds. */
  recordedAtMs: number;
  metric: string;
  /** Finite. */
  value: number;
}

/** A device first seen in an upload, to create when no row has its id yet. */
export interface IngestedDevice {
  id: string;
  index: number;
  name: string;
  gpuClass: string | null;
  host: string;
  /** The first sample naming it (touchIngestedDevices moves it to the upload's latest). */
  lastSeen: Date;
}

/** A stored sample as reads return it. */
export interface StoredMetricSample {
  metric: string;
  recordedAt: Date;
  value: number;
}

/** At most this many samples per read (GET /api/v1/gpus/:id/telemetry). */
export const METRIC_SAMPLES_MAX_ROWS = 10_000;

const STAGING = 'gpu_metric_staging';

/**
 * Creates the transaction's staging table (dropped at commit or rollback). Call once per transaction, before
 * insertMetricSamples.
 */
export async function createMetricStaging(client: PoolClient): Promise<void> {
  await client.query(
    `CREATE TEMP TABLE ${STAGING} (device_id text, recorded_at timestamptz, metric text, value float8) ON COMMIT DROP`,
  );
}

/**
 * Creates the devices no row has yet, with source 'dcgm' (no worker, pool or total memory; offline: no Kiln worker
 * serves them). A device that exists (a worker's, or one an earlier upload created) is left as it is. Returns the ids
 * created.
 */
export async function createIngestedDevices(db: Queryable, devices: IngestedDevice[]): Promise<string[]> {
  if (devices.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO gpu_devices (id, worker_id, pool, host, device_index, name, gpu_class, memory_total_mb, source, state,
       last_seen, updated_at)
     SELECT id, NULL, NULL, host, device_index, name, gpu_class, NULL, 'dcgm', 'offline', last_seen, now()
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[])
         AS d(id, host, device_index, name, gpu_class, last_seen)
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [
      devices.map((d) => d.id),
      devices.map((d) => d.host),
      devices.map((d) => d.index),
      devices.map((d) => d.name),
      devices.map((d) => d.gpuClass),
      devices.map((d) => d.lastSeen),
    ],
  );
  return rows.map((r) => r.id);
}

/** `samples` as COPY text lines: device, ISO instant, metric, value (shortest round-trip decimal). */
function copyText(samples: MetricSample[]): string {
  let text = '';
  // Rows of one scrape share their instant: format it once.
  let lastMs = NaN;
  let lastIso = '';
  for (const s of samples) {
    if (s.recordedAtMs !== lastMs) {
      lastMs = s.recordedAtMs;
      lastIso = new Date(lastMs).toISOString();
    }
    text += `${s.deviceId}\t${lastIso}\t${s.metric}\t${s.value}\n`;
  }
  return text;
}

/**
 * Stores a batch inside the caller's transaction (createMetricStaging first; the devices must exist): COPY into the
 * staging table, INSERT ... ON CONFLICT DO NOTHING into gpu_metric_samples, staging emptied. Returns how many samples
 * were new; the rest were stored already (or repeated within the upload), and the first value stored stays.
 */
export async function insertMetricSamples(client: PoolClient, samples: MetricSample[]): Promise<number> {
  if (samples.length === 0) return 0;
  await pipeline(Readable.from([copyText(samples)]), client.query(copyFrom(`COPY ${STAGING} FROM STDIN`)));
  const res = await client.query(
    `INSERT INTO gpu_metric_samples (device_id, recorded_at, metric, value)
     SELECT device_id, recorded_at, metric, value FROM ${STAGING}
     ON CONFLICT (device_id, recorded_at, metric) DO NOTHING`,
  );
  await client.query(`TRUNCATE ${STAGING}`);
  return res.rowCount ?? 0;
}

/** A device known from telemetry alone was last seen at its latest sample (worker devices keep their own time). */
export async function touchIngestedDevices(db: Queryable, ids: string[], lastSeen: Date): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE gpu_devices SET last_seen = greatest(last_seen, $2), updated_at = now() WHERE id = ANY($1) AND source = 'dcgm'`,
    [ids, lastSeen],
  );
}

/**
 * Samples of one device with start ≤ recorded_at ≤ end, oldest first (by metric within an instant), only the
 * `metrics` named when given; at most maxRows (≤ METRIC_SAMPLES_MAX_ROWS) of them, the earliest, with `truncated`
 * set when more exist. The primary key (device_id, recorded_at, metric) serves the range in this order.
 */
export async function metricWindow(
  db: Queryable,
  deviceId: string,
  start: Date,
  end: Date,
  metrics?: string[],
  maxRows = METRIC_SAMPLES_MAX_ROWS,
): Promise<{ samples: StoredMetricSample[]; truncated: boolean }> {
  const limit = Math.max(1, Math.min(maxRows, METRIC_SAMPLES_MAX_ROWS));
  const { rows } = await db.query<StoredMetricSample>(
    `SELECT metric, recorded_at AS "recordedAt", value FROM gpu_metric_samples
     WHERE device_id = $1 AND recorded_at >= $2 AND recorded_at <= $3 AND ($4::text[] IS NULL OR metric = ANY($4))
     ORDER BY recorded_at, metric LIMIT $5`,
    [deviceId, start, end, metrics ?? null, limit + 1],
  );
  return { samples: rows.slice(0, limit), truncated: rows.length > limit };
}

/**
 * Each device's samples at its latest uploaded instant (every metric of its last scrape), by device id, metrics in
 * name order; a device without uploaded samples is absent. One index probe per device (primary key led by
 * (device_id, recorded_at)).
 */
export async function latestMetricSamples(
  db: Queryable,
  deviceIds: string[],
): Promise<Map<string, StoredMetricSample[]>> {
  const { rows } = await db.query<StoredMetricSample & { deviceId: string }>(
    `SELECT s.device_id AS "deviceId", s.metric, s.recorded_at AS "recordedAt", s.value
       FROM unnest($1::text[]) AS d(id)
       CROSS JOIN LATERAL (
         SELECT recorded_at FROM gpu_metric_samples WHERE device_id = d.id ORDER BY recorded_at DESC LIMIT 1
       ) AS last
       JOIN gpu_metric_samples s ON s.device_id = d.id AND s.recorded_at = last.recorded_at
      ORDER BY s.device_id, s.metric`,
    [deviceIds],
  );
  const byDevice = new Map<string, StoredMetricSample[]>();
  for (const { deviceId, ...sample } of rows) {
    const list = byDevice.get(deviceId) ?? [];
    list.push(sample);
    byDevice.set(deviceId, list);
  }
  return byDevice;
}
