import { TASK_QUEUES } from '../common/task-queues';
import { Queryable } from './pool';

/**
 * GPU devices, their telemetry and worker heartbeats (migration 0002; memory budgets and admission counts, 0003;
 * devices known from uploaded DCGM telemetry alone, 0007: db/gpu-metrics.ts). Devices are physical and shared by every
 * tenant. Bounds: samples older than TELEMETRY_RETENTION_MS (24 h) are pruned by the recorders; one telemetry read
 * returns at most TELEMETRY_MAX_ROWS rows.
 */
export const TELEMETRY_RETENTION_MS = 24 * 60 * 60 * 1000;
export const TELEMETRY_MAX_ROWS = 10_000;

/** How a worker knows its device. */
export type DeviceSource = 'nvidia-smi' | 'declared';
/** How Kiln knows a stored device: from a worker, or (`dcgm`) from uploaded telemetry alone. */
export type StoredDeviceSource = DeviceSource | 'dcgm';
export type DeviceState = 'online' | 'offline';

export interface DeviceRecord {
  id: string;
  workerId: string;
  pool: string;
  host: string;
  deviceIndex: number;
  name: string;
  gpuClass?: string | null;
  memoryTotalMb: number;
  /**
   * The memory jobs may reserve on the device (the worker's `--memory-budget-mb`); null or absent when the worker
   * declared none, and then the whole device memory is the budget.
   */
  memoryBudgetMb?: number | null;
  source: DeviceSource;
}

export interface TelemetrySample {
  deviceId: string;
  recordedAt: Date;
  memoryUsedMb: number;
  memoryTotalMb: number;
  utilizationPct: number;
  temperatureC?: number | null;
  jobsRunning?: number;
  slotsUsed?: number;
  slotsFree?: number;
  /** The admission budget at that instant (gpu/admission.ts); null or absent when the worker admits by slots only. */
  memoryBudgetMb?: number | null;
  /** Memory held by admitted jobs (default 0). */
  memoryReservedMb?: number;
  /** Jobs taken from the queue and waiting for memory on the device (default 0). */
  jobsWaiting?: number;
}

export interface StoredSample {
  recordedAt: Date;
  memoryUsedMb: number;
  memoryTotalMb: number;
  utilizationPct: number;
  temperatureC: number | null;
  jobsRunning: number;
  slotsUsed: number;
  slotsFree: number;
  memoryBudgetMb: number | null;
  memoryReservedMb: number;
  jobsWaiting: number;
}

/**
 * A stored device. One known from uploaded telemetry alone (source `dcgm`) has no worker, pool or total memory
 * (null), is `offline` (no Kiln worker serves it) and is never routed to; a worker's device has all three.
 */
export interface Device {
  id: string;
  workerId: string | null;
  pool: string | null;
  host: string;
  deviceIndex: number;
  name: string;
  gpuClass: string | null;
  memoryTotalMb: number | null;
  memoryBudgetMb: number | null;
  source: StoredDeviceSource;
  state: DeviceState;
  lastSeen: Date;
  updatedAt: Date;
  latest: StoredSample | null;
}

/** A device a Kiln worker reports (not one known from uploaded telemetry alone). */
export interface WorkerDevice extends Device {
  workerId: string;
  pool: string;
  memoryTotalMb: number;
  source: DeviceSource;
}

/** Whether a worker reports the device (migration 0007's CHECK: then worker, pool and total memory are set). */
export function isWorkerDevice(d: Device): d is WorkerDevice {
  return d.source !== 'dcgm' && d.workerId !== null && d.pool !== null && d.memoryTotalMb !== null;
}

export interface WorkerHeartbeat {
  workerId: string;
  pool: string;
  host: string;
  queues: string[];
  /** The worker's activity slots and running jobs (a GPU worker: its device's admission). */
  slotsUsed?: number;
  slotsFree?: number;
  jobsRunning?: number;
}

const DEVICE_COLUMNS = `d.id, d.worker_id AS "workerId", d.pool, d.host, d.device_index AS "deviceIndex", d.name,
  d.gpu_class AS "gpuClass", d.memory_total_mb AS "memoryTotalMb", d.memory_budget_mb AS "memoryBudgetMb", d.source, d.state, d.last_seen AS "lastSeen",
  d.updated_at AS "updatedAt"`;

const SAMPLE_COLUMNS = `t.recorded_at AS "recordedAt", t.memory_used_mb AS "memoryUsedMb", t.memory_total_mb AS "memoryTotalMb",
  t.utilization_pct::float8 AS "utilizationPct", t.temperature_c::float8 AS "temperatureC", t.jobs_running AS "jobsRunning",
  t.slots_used AS "slotsUsed", t.slots_free AS "slotsFree", t.memory_budget_mb AS "memoryBudgetMb",
  t.memory_reserved_mb AS "memoryReservedMb", t.jobs_waiting AS "jobsWaiting"`;

// The device with its latest sample (the primary key (device_id, recorded_at) serves the lateral lookup).
const DEVICE_WITH_LATEST = `SELECT ${DEVICE_COLUMNS},
    CASE WHEN t.device_id IS NULL THEN NULL ELSE json_build_object(
      'recordedAt', t.recorded_at, 'memoryUsedMb', t.memory_used_mb, 'memoryTotalMb', t.memory_total_mb,
      'utilizationPct', t.utilization_pct, 'temperatureC', t.temperature_c, 'jobsRunning', t.jobs_running,
      'slotsUsed', t.slots_used, 'slotsFree', t.slots_free, 'memoryBudgetMb', t.memory_budget_mb,
      'memoryReservedMb', t.memory_reserved_mb, 'jobsWaiting', t.jobs_waiting) END AS latest
  FROM gpu_devices d
  LEFT JOIN LATERAL (
    SELECT * FROM gpu_telemetry s WHERE s.device_id = d.id ORDER BY s.recorded_at DESC LIMIT 1
  ) t ON true`;

type DeviceRow = Omit<Device, 'latest'> & {
  latest: (Omit<StoredSample, 'recordedAt'> & { recordedAt: string }) | null;
};

function toDevice(row: DeviceRow): Device {
  return { ...row, latest: row.latest && { ...row.latest, recordedAt: new Date(row.latest.recordedAt) } };
}

/**
 * Inserts or refreshes a device: it is online and seen now, owned by the worker that reported it last. The budget is
 * replaced too, cleared when that worker declares none: a stale budget from an earlier worker would misroute jobs.
 */
export async function upsertDevice(db: Queryable, device: DeviceRecord, seenAt = new Date()): Promise<void> {
  await db.query(
    `INSERT INTO gpu_devices (id, worker_id, pool, host, device_index, name, gpu_class, memory_total_mb, source, state, last_seen,
       updated_at, memory_budget_mb)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'online', $10, now(), $11)
     ON CONFLICT (id) DO UPDATE SET worker_id = EXCLUDED.worker_id, pool = EXCLUDED.pool, host = EXCLUDED.host,
       device_index = EXCLUDED.device_index, name = EXCLUDED.name, gpu_class = EXCLUDED.gpu_class,
       memory_total_mb = EXCLUDED.memory_total_mb, source = EXCLUDED.source, state = 'online',
       last_seen = EXCLUDED.last_seen, updated_at = now(), memory_budget_mb = EXCLUDED.memory_budget_mb`,
    [
      device.id,
      device.workerId,
      device.pool,
      device.host,
      device.deviceIndex,
      device.name,
      device.gpuClass ?? null,
      device.memoryTotalMb,
      device.source,
      seenAt,
      device.memoryBudgetMb ?? null,
    ],
  );
}

/** A worker says it is alive, which pool it serves and which task queues it polls. */
export async function upsertWorkerHeartbeat(db: Queryable, hb: WorkerHeartbeat, seenAt = new Date()): Promise<void> {
  await db.query(
    `INSERT INTO worker_heartbeats (worker_id, pool, host, queues, state, last_seen, slots_used, slots_free, jobs_running)
     VALUES ($1, $2, $3, $4, 'online', $5, $6, $7, $8)
     ON CONFLICT (worker_id) DO UPDATE SET pool = EXCLUDED.pool, host = EXCLUDED.host, queues = EXCLUDED.queues,
       state = 'online', last_seen = EXCLUDED.last_seen, slots_used = EXCLUDED.slots_used, slots_free = EXCLUDED.slots_free,
       jobs_running = EXCLUDED.jobs_running`,
    [hb.workerId, hb.pool, hb.host, hb.queues, seenAt, hb.slotsUsed ?? 0, hb.slotsFree ?? 0, hb.jobsRunning ?? 0],
  );
}

/** The worker stopped: its devices (and its heartbeat row) become offline. Returns how many devices changed. */
export async function markOffline(db: Queryable, workerId: string): Promise<number> {
  await db.query(`UPDATE worker_heartbeats SET state = 'offline' WHERE worker_id = $1`, [workerId]);
  const res = await db.query(
    `UPDATE gpu_devices SET state = 'offline', updated_at = now() WHERE worker_id = $1 AND state <> 'offline'`,
    [workerId],
  );
  return res.rowCount ?? 0;
}

/** Records samples in one statement; a second sample for the same device and instant is ignored. */
export async function recordSamples(db: Queryable, samples: TelemetrySample[]): Promise<number> {
  if (samples.length === 0) return 0;
  const res = await db.query(
    `INSERT INTO gpu_telemetry (device_id, recorded_at, memory_used_mb, memory_total_mb, utilization_pct, temperature_c,
       jobs_running, slots_used, slots_free, memory_budget_mb, memory_reserved_mb, jobs_waiting)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int[], $4::int[], $5::real[], $6::real[], $7::int[], $8::int[], $9::int[],
       $10::int[], $11::int[], $12::int[])
     ON CONFLICT (device_id, recorded_at) DO NOTHING`,
    [
      samples.map((s) => s.deviceId),
      samples.map((s) => s.recordedAt),
      samples.map((s) => Math.round(s.memoryUsedMb)),
      samples.map((s) => Math.round(s.memoryTotalMb)),
      samples.map((s) => s.utilizationPct),
      samples.map((s) => s.temperatureC ?? null),
      samples.map((s) => s.jobsRunning ?? 0),
      samples.map((s) => s.slotsUsed ?? 0),
      samples.map((s) => s.slotsFree ?? 0),
      samples.map((s) => (s.memoryBudgetMb == null ? null : Math.round(s.memoryBudgetMb))),
      samples.map((s) => Math.round(s.memoryReservedMb ?? 0)),
      samples.map((s) => s.jobsWaiting ?? 0),
    ],
  );
  return res.rowCount ?? 0;
}

export function recordSample(db: Queryable, sample: TelemetrySample): Promise<number> {
  return recordSamples(db, [sample]);
}

/** Deletes samples recorded before olderThan; returns how many. */
export async function pruneTelemetry(db: Queryable, olderThan: Date): Promise<number> {
  const res = await db.query('DELETE FROM gpu_telemetry WHERE recorded_at < $1', [olderThan]);
  return res.rowCount ?? 0;
}

/** Every device with its latest sample, by pool, host and index. */
export async function listDevices(db: Queryable, filter: { pool?: string } = {}): Promise<Device[]> {
  const { rows } = await db.query<DeviceRow>(
    `${DEVICE_WITH_LATEST} WHERE ($1::text IS NULL OR d.pool = $1) ORDER BY d.pool, d.host, d.device_index, d.id`,
    [filter.pool ?? null],
  );
  return rows.map(toDevice);
}

export async function getDevice(db: Queryable, id: string): Promise<Device | undefined> {
  const { rows } = await db.query<DeviceRow>(`${DEVICE_WITH_LATEST} WHERE d.id = $1`, [id]);
  return rows[0] && toDevice(rows[0]);
}

/**
 * Samples with start ≤ recorded_at ≤ end, oldest first, at most maxRows (≤ TELEMETRY_MAX_ROWS) of them: the earliest
 * ones, with `truncated` set when more exist (ask again from the last `recordedAt`).
 */
export async function telemetryWindow(
  db: Queryable,
  deviceId: string,
  start: Date,
  end: Date,
  maxRows = TELEMETRY_MAX_ROWS,
): Promise<{ samples: StoredSample[]; truncated: boolean }> {
  const limit = Math.max(1, Math.min(maxRows, TELEMETRY_MAX_ROWS));
  const { rows } = await db.query<StoredSample>(
    `SELECT ${SAMPLE_COLUMNS} FROM gpu_telemetry t
     WHERE t.device_id = $1 AND t.recorded_at >= $2 AND t.recorded_at <= $3
     ORDER BY t.recorded_at ASC LIMIT $4`,
    [deviceId, start, end, limit + 1],
  );
  return { samples: rows.slice(0, limit), truncated: rows.length > limit };
}

export interface PoolStatus {
  name: string;
  queues: string[];
  workers: { online: number; total: number };
  devices: Array<{
    id: string;
    name: string;
    gpuClass: string | null;
    workerId: string;
    host: string;
    state: DeviceState;
  }>;
  devicesOnline: number;
  slots: { used: number; free: number };
  jobsRunning: number;
  /** Jobs waiting for memory on the pool's online devices. */
  jobsWaiting: number;
  /** budgetMb: each online device's budget, or its total memory when it declares none; reservedMb: held by admitted jobs. */
  memory: { usedMb: number; totalMb: number; budgetMb: number; reservedMb: number };
}

/**
 * Per pool: the task queues its workers poll (always including the pool's own queue when it is a known pool), its
 * workers and devices, and slots / jobs / memory summed over the latest sample of each online device (total and
 * budget memory come from the device rows).
 */
export async function resourceStatus(db: Queryable): Promise<{ pools: PoolStatus[] }> {
  const [devices, workers] = await Promise.all([
    listDevices(db),
    db.query<{
      pool: string;
      queues: string[];
      online: number;
      total: number;
      slotsUsed: number;
      slotsFree: number;
      jobsRunning: number;
    }>(
      `SELECT pool, ARRAY(SELECT DISTINCT q FROM worker_heartbeats w2, unnest(w2.queues) q WHERE w2.pool = w.pool ORDER BY q) AS queues,
         count(*) FILTER (WHERE state = 'online')::int AS online, count(*)::int AS total,
         COALESCE(sum(slots_used) FILTER (WHERE state = 'online'), 0)::int AS "slotsUsed",
         COALESCE(sum(slots_free) FILTER (WHERE state = 'online'), 0)::int AS "slotsFree",
         COALESCE(sum(jobs_running) FILTER (WHERE state = 'online'), 0)::int AS "jobsRunning"
       FROM worker_heartbeats w GROUP BY pool`,
    ),
  ]);
  const pools = new Map<string, PoolStatus>();
  const poolFor = (name: string): PoolStatus => {
    let p = pools.get(name);
    if (!p) {
      const own = (TASK_QUEUES as Record<string, string>)[name];
      p = {
        name,
        queues: own ? [own] : [],
        workers: { online: 0, total: 0 },
        devices: [],
        devicesOnline: 0,
        slots: { used: 0, free: 0 },
        jobsRunning: 0,
        jobsWaiting: 0,
        memory: { usedMb: 0, totalMb: 0, budgetMb: 0, reservedMb: 0 },
      };
      pools.set(name, p);
    }
    return p;
  };
  for (const name of Object.keys(TASK_QUEUES)) poolFor(name);
  for (const w of workers.rows) {
    const p = poolFor(w.pool);
    p.queues = [...new Set([...p.queues, ...w.queues])].sort();
    p.workers = { online: w.online, total: w.total };
  }
  // Devices known from uploaded telemetry alone belong to no pool.
  for (const d of devices.filter(isWorkerDevice)) {
    const p = poolFor(d.pool);
    p.devices.push({
      id: d.id,
      name: d.name,
      gpuClass: d.gpuClass,
      workerId: d.workerId,
      host: d.host,
      state: d.state,
    });
    if (d.state !== 'online') continue;
    p.devicesOnline += 1;
    p.memory.totalMb += d.memoryTotalMb;
    // The device's budget, as onlineGpus (routing) sees it (not the sample's, which may be older).
    p.memory.budgetMb += d.memoryBudgetMb ?? d.memoryTotalMb;
    if (d.latest) {
      p.slots.used += d.latest.slotsUsed;
      p.slots.free += d.latest.slotsFree;
      p.jobsRunning += d.latest.jobsRunning;
      p.jobsWaiting += d.latest.jobsWaiting;
      p.memory.usedMb += d.latest.memoryUsedMb;
      p.memory.reservedMb += d.latest.memoryReservedMb;
    }
  }
  // A pool without online devices (the CPU pool) reports its slots and running jobs from its workers' heartbeats.
  for (const w of workers.rows) {
    const p = poolFor(w.pool);
    if (p.devicesOnline > 0) continue;
    p.slots = { used: w.slotsUsed, free: w.slotsFree };
    p.jobsRunning = w.jobsRunning;
  }
  return { pools: [...pools.values()].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** An online GPU device as routing sees it: its class and the memory budget jobs may reserve on it. */
export interface OnlineGpu {
  id: string;
  gpuClass: string | null;
  budgetMb: number;
}

/**
 * Online GPU devices (of `gpuClass`, when given) seen within `freshSeconds`, smallest budget first. The budget is what
 * the worker declared (`--memory-budget-mb`), else the device's total memory.
 */
export async function onlineGpus(
  db: Queryable,
  gpuClass: string | undefined,
  freshSeconds: number,
): Promise<OnlineGpu[]> {
  const { rows } = await db.query<OnlineGpu>(
    `SELECT id, gpu_class AS "gpuClass", COALESCE(memory_budget_mb, memory_total_mb)::int AS "budgetMb" FROM gpu_devices
      WHERE state = 'online' AND worker_id IS NOT NULL AND last_seen > now() - make_interval(secs => $1) AND ($2::text IS NULL OR gpu_class = $2)
      ORDER BY 3, id`,
    [freshSeconds, gpuClass ?? null],
  );
  return rows;
}
