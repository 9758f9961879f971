import Router from '@koa/router';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../common/errors';
import {
  Device,
  getDevice,
  listDevices,
  resourceStatus,
  StoredSample,
  TELEMETRY_MAX_ROWS,
  telemetryWindow,
} from '../../db/gpus';
import { ApiDeps } from '../context';
import { queueBacklogs } from '../services/queue-backlog';
import { parseWith } from '../schemas/validate';

/** Telemetry windows: the default is the last hour; the widest allowed is 7 days (samples are kept 24 h). */
export const TELEMETRY_DEFAULT_WINDOW_MS = 60 * 60 * 1000;
export const TELEMETRY_MAX_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const EPOCH_MS = /^\d{1,15}$/;
// A date, or a date-time with an explicit zone: a time without one would depend on the server's zone.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** ISO-8601 (`2025-01-02T03:04:05Z`, `2025-01-02`) or epoch milliseconds; undefined when it is neither. */
export function parseTime(value: string): Date | undefined {
  const ms = EPOCH_MS.test(value) ? Number(value) : ISO_8601.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const timeParam = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const date = parseTime(value);
    if (!date) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected an ISO-8601 time with a zone (Z or ±hh:mm) or epoch milliseconds',
      });
      return z.NEVER;
    }
    return date;
  });

export const telemetryQuery = z.object({ start_time: timeParam.optional(), end_time: timeParam.optional() });

function sampleView(s: StoredSample) {
  return {
    recordedAt: s.recordedAt.toISOString(),
    memoryUsedMb: s.memoryUsedMb,
    memoryTotalMb: s.memoryTotalMb,
    utilizationPct: s.utilizationPct,
    temperatureC: s.temperatureC,
    jobsRunning: s.jobsRunning,
    slotsUsed: s.slotsUsed,
    slotsFree: s.slotsFree,
    memoryBudgetMb: s.memoryBudgetMb,
    memoryReservedMb: s.memoryReservedMb,
    jobsWaiting: s.jobsWaiting,
  };
}

export function deviceView(d: Device) {
  return {
    id: d.id,
    name: d.name,
    gpuClass: d.gpuClass,
    pool: d.pool,
    workerId: d.workerId,
    host: d.host,
    index: d.deviceIndex,
    memoryTotalMb: d.memoryTotalMb,
    // null: the worker declared no budget, and jobs may reserve the whole memoryTotalMb.
    memoryBudgetMb: d.memoryBudgetMb,
    source: d.source,
    state: d.state,
    lastSeen: d.lastSeen.toISOString(),
    latest: d.latest && sampleView(d.latest),
    links: { telemetry: `/api/v1/gpus/${encodeURIComponent(d.id)}/telemetry` },
  };
}

/** The seed services' shape (one line per device and whether any GPU is online), plus each device's admission state. */
export async function seedGpuStatus(deps: ApiDeps) {
  const devices = await listDevices(deps.pool);
  return {
    gpus: devices.map((d) => ({
      id: d.id,
      name: d.name,
      memoryUsedMb: d.latest?.memoryUsedMb ?? 0,
      memoryTotalMb: d.memoryTotalMb,
      utilizationPct: d.latest?.utilizationPct ?? 0,
      state: d.state,
      memoryBudgetMb: d.memoryBudgetMb,
      memoryReservedMb: d.latest?.memoryReservedMb ?? 0,
      jobsWaiting: d.latest?.jobsWaiting ?? 0,
    })),
    available: devices.some((d) => d.state === 'online'),
  };
}

/** Mounted under /api/v1: GPU devices, their telemetry and the pools' resource status. */
export function gpusRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/gpus', async (ctx) => {
    ctx.body = { gpus: (await listDevices(deps.pool)).map(deviceView) };
  });

  router.get('/gpus/:id/telemetry', async (ctx) => {
    const query = parseWith(telemetryQuery, ctx.query, 'query');
    const end = query.end_time ?? new Date();
    const start = query.start_time ?? new Date(end.getTime() - TELEMETRY_DEFAULT_WINDOW_MS);
    if (start.getTime() > end.getTime()) {
      throw new ValidationError(
        `query.start_time: ${start.toISOString()} is after end_time ${end.toISOString()}`,
        'query.start_time',
      );
    }
    if (end.getTime() - start.getTime() > TELEMETRY_MAX_WINDOW_MS) {
      const field = query.end_time ? 'query.end_time' : 'query.start_time';
      throw new ValidationError(`${field}: the window may span at most 7 days`, field);
    }
    const { id } = ctx.params;
    const device = DEVICE_ID.test(id) ? await getDevice(deps.pool, id) : undefined;
    if (!device) throw new NotFoundError('gpu', id, 'id');
    const { samples, truncated } = await telemetryWindow(deps.pool, id, start, end);
    ctx.body = {
      deviceId: id,
      startTime: start.toISOString(),
      endTime: end.toISOString(),
      maxRows: TELEMETRY_MAX_ROWS,
      truncated,
      samples: samples.map(sampleView),
    };
  });

  router.get('/resources/status', async (ctx) => {
    const { pools: stored } = await resourceStatus(deps.pool);
    // Jobs queued: tasks in each pool's queues that no worker has taken yet (Temporal's backlog); jobsWaiting: jobs a
    // GPU worker took that wait for device memory.
    const backlog = await queueBacklogs(deps, [...new Set(stored.flatMap((p) => p.queues))]);
    const pools = stored.map((p) => {
      const queueBacklog = Object.fromEntries(p.queues.map((q) => [q, backlog[q] ?? null]));
      const jobsQueued = Object.values(queueBacklog).reduce(
        (sum, b) => sum + (b ? b.workflowTasks + b.activityTasks : 0),
        0,
      );
      return { ...p, jobsQueued, queueBacklog };
    });
    const totals = pools.reduce(
      (acc, p) => ({
        devices: acc.devices + p.devices.length,
        devicesOnline: acc.devicesOnline + p.devicesOnline,
        slotsUsed: acc.slotsUsed + p.slots.used,
        slotsFree: acc.slotsFree + p.slots.free,
        jobsRunning: acc.jobsRunning + p.jobsRunning,
        jobsWaiting: acc.jobsWaiting + p.jobsWaiting,
        jobsQueued: acc.jobsQueued + p.jobsQueued,
      }),
      { devices: 0, devicesOnline: 0, slotsUsed: 0, slotsFree: 0, jobsRunning: 0, jobsWaiting: 0, jobsQueued: 0 },
    );
    ctx.body = { pools, totals, generatedAt: new Date().toISOString() };
  });

  return router;
}

/** Mounted under /api: `GET /api/gpu/status`, the seed services' summary. */
export function gpuSeedRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/gpu/status', async (ctx) => {
    ctx.body = await seedGpuStatus(deps);
  });
  return router;
}
