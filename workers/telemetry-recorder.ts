import * as os from 'node:os';
import { Pool } from 'pg';
import { rootLogger } from '../common/logger';
import {
  DeviceSource,
  markOffline,
  pruneTelemetry,
  recordSamples,
  TELEMETRY_RETENTION_MS,
  upsertDevice,
  upsertWorkerHeartbeat,
} from '../db/gpus';

/** One device as a worker sees it at one instant: what it is, and how busy it is. */
export interface DeviceSample {
  /** The device UUID (nvidia-smi `uuid`) or the operator's declared id. */
  id: string;
  index: number;
  name: string;
  gpuClass?: string | null;
  memoryTotalMb: number;
  source: DeviceSource;
  memoryUsedMb: number;
  utilizationPct: number;
  temperatureC?: number | null;
  jobsRunning?: number;
  slotsUsed?: number;
  slotsFree?: number;
  /** The memory jobs may reserve on the device (gpu/admission.ts); absent when the worker admits by slots only. */
  memoryBudgetMb?: number;
  /** Memory held by admitted jobs. */
  memoryReservedMb?: number;
  /** Jobs taken from the queue and waiting for memory on the device. */
  jobsWaiting?: number;
}

export interface TelemetryRecorderOptions {
  pool: Pool;
  workerId: string;
  poolName: string;
  intervalMs: number;
  sample: () => Promise<DeviceSample[]>;
  /** Samples older than this are pruned (default 24 h, TELEMETRY_RETENTION_MS). */
  retentionMs?: number;
  /** Prune every this many ticks (default 60; always on the first tick). */
  pruneEveryTicks?: number;
  host?: string;
  /** The worker's activity slots and running jobs, sent with its heartbeat (every pool, devices or not). */
  workerStats?: () => { slotsUsed: number; slotsFree: number; jobsRunning: number };
  /** Task queues the worker polls, shown by GET /api/v1/resources/status. */
  queues?: string[];
  log?: (message: string) => void;
}

export interface TelemetryRecorder {
  /** Stops the timer, waits for a tick in flight, marks this worker's devices offline. */
  stop(): Promise<void>;
  /** Resolves after the next completed tick (tests, and the first sample at start-up). */
  nextTick(): Promise<void>;
}

/**
 * Every intervalMs: heartbeat the worker, upsert the devices `sample()` reports and record one sample per device;
 * every pruneEveryTicks ticks, prune samples older than retentionMs. A failing tick is logged, never thrown: the timer
 * goes on. Ticks never overlap (the next one is scheduled when the previous ends).
 */
export function startTelemetryRecorder(options: TelemetryRecorderOptions): TelemetryRecorder {
  const { pool, workerId, poolName, intervalMs, sample } = options;
  const retentionMs = options.retentionMs ?? TELEMETRY_RETENTION_MS;
  const pruneEvery = Math.max(1, options.pruneEveryTicks ?? 60);
  const host = options.host ?? os.hostname();
  const log = options.log ?? ((m: string) => rootLogger().child({ module: 'telemetry', workerId }).error(m));
  if (!(intervalMs > 0)) throw new Error(`intervalMs must be positive, got ${intervalMs}`);

  let stopped = false;
  let ticks = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let waiters: Array<() => void> = [];

  async function tick(): Promise<void> {
    const recordedAt = new Date();
    await upsertWorkerHeartbeat(
      pool,
      { workerId, pool: poolName, host, queues: options.queues ?? [], ...(options.workerStats?.() ?? {}) },
      recordedAt,
    );
    const devices = await sample();
    for (const d of devices) {
      await upsertDevice(
        pool,
        {
          id: d.id,
          workerId,
          pool: poolName,
          host,
          deviceIndex: d.index,
          name: d.name,
          gpuClass: d.gpuClass ?? null,
          memoryTotalMb: d.memoryTotalMb,
          memoryBudgetMb: d.memoryBudgetMb ?? null,
          source: d.source,
        },
        recordedAt,
      );
    }
    await recordSamples(
      pool,
      devices.map((d) => ({
        deviceId: d.id,
        recordedAt,
        memoryUsedMb: d.memoryUsedMb,
        memoryTotalMb: d.memoryTotalMb,
        utilizationPct: d.utilizationPct,
        temperatureC: d.temperatureC ?? null,
        jobsRunning: d.jobsRunning ?? 0,
        slotsUsed: d.slotsUsed ?? 0,
        slotsFree: d.slotsFree ?? 0,
        memoryBudgetMb: d.memoryBudgetMb ?? null,
        memoryReservedMb: d.memoryReservedMb ?? 0,
        jobsWaiting: d.jobsWaiting ?? 0,
      })),
    );
    if (ticks % pruneEvery === 0) await pruneTelemetry(pool, new Date(Date.now() - retentionMs));
  }

  function run(): void {
    timer = undefined;
    if (stopped) return;
    inFlight = tick()
      .catch((err: unknown) => log(`tick failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        ticks += 1;
        inFlight = undefined;
        const done = waiters;
        waiters = [];
        done.forEach((resolve) => resolve());
        if (!stopped) timer = setTimeout(run, intervalMs);
      });
  }

  timer = setTimeout(run, 0);

  return {
    nextTick: () => new Promise<void>((resolve) => waiters.push(resolve)),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await inFlight;
      const done = waiters;
      waiters = [];
      done.forEach((resolve) => resolve());
      try {
        await markOffline(pool, workerId);
      } catch (err) {
        log(`marking devices offline failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}
