import Router from '@koa/router';
import { z } from 'zod';
import { NotFoundError, TooManyRequestsError, UnsupportedMediaTypeError, ValidationError } from '../../common/errors';
import { DEVICE_ID } from '../../common/gpu-device-id';
import { parseTime, TIME_FORMATS } from '../../common/parse-time';
import { latestMetricSamples, METRIC_SAMPLES_MAX_ROWS, metricWindow, StoredMetricSample } from '../../db/gpu-metrics';
import {
  Device,
  getDevice,
  isWorkerDevice,
  listDevices,
  resourceStatus,
  StoredSample,
  TELEMETRY_MAX_ROWS,
  telemetryWindow,
} from '../../db/gpus';
import { METRIC_NAME, unitOf } from '../../gpu/dcgm-fields';
import { ApiDeps } from '../context';
import { ingestTelemetry, IngestSummary } from '../services/ingest-telemetry';
import { queueBacklogs } from '../services/queue-backlog';
import { parseWith } from '../schemas/validate';
import { requires } from '../auth/access';

/** Telemetry windows: the default is the last hour; the widest allowed is 7 days (samples are kept 24 h). */
export const TELEMETRY_DEFAULT_WINDOW_MS = 60 * 60 * 1000;
export const TELEMETRY_MAX_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** Metric names one telemetry read may filter by. */
export const MAX_METRIC_FILTER = 32;

/** Seconds a telemetry upload refused for the concurrency cap is told to wait (Retry-After). */
export const TELEMETRY_RETRY_AFTER_SECONDS = 5;

const timeParam = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const date = parseTime(value);
    if (!date) {
      ctx.addIssue({ code: 'custom', message: `expected ${TIME_FORMATS}` });
      return z.NEVER;
    }
    return date;
  });

// `metric=A,B` or `metric=A&metric=B`: the ingested metrics to return (all when absent).
const metricParam = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()))
  .pipe(
    z
      .array(z.string().regex(METRIC_NAME, 'expected metric names such as DCGM_FI_DEV_GPU_UTIL, comma-separated'))
      .min(1)
      .max(MAX_METRIC_FILTER, `at most ${MAX_METRIC_FILTER} metric names`),
  );

export const telemetryQuery = z.object({
  start_time: timeParam.optional(),
  end_time: timeParam.optional(),
  metric: metricParam.optional(),
});

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

function metricSampleView(s: StoredMetricSample) {
  return { metric: s.metric, recordedAt: s.recordedAt.toISOString(), value: s.value };
}

/** The answer to an upload: 201 when it stored anything, 200 when every sample was there already. */
function ingestView(s: IngestSummary) {
  return {
    rows: s.rows,
    inserted: s.inserted,
    alreadyPresent: s.alreadyPresent,
    startTime: s.startTime.toISOString(),
    endTime: s.endTime.toISOString(),
    devices: s.devices,
    devicesCreated: s.devicesCreated,
    links: { telemetry: s.devices.map((id) => `/api/v1/gpus/${encodeURIComponent(id)}/telemetry`) },
  };
}

/**
 * A device as GET /api/v1/gpus lists it. `source` `dcgm`: known from uploaded telemetry alone; then `pool`,
 * `workerId` and `memoryTotalMb` are null, `state` is `offline` (no Kiln worker serves it) and `latest` (the worker's
 * sample) is null: its samples are the telemetry link's `metricSamples`, the latest instant's in `latestMetricSamples`
 * (every device: [] when nothing was uploaded for it).
 */
export function deviceView(d: Device, latestMetrics: StoredMetricSample[] = []) {
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
    latestMetricSamples: latestMetrics.map(metricSampleView),
    links: { telemetry: `/api/v1/gpus/${encodeURIComponent(d.id)}/telemetry` },
  };
}

/** The seed services' shape (one line per device and whether any GPU is online), plus each device's admission state. */
export async function seedGpuStatus(deps: ApiDeps) {
  // Devices known from uploaded telemetry alone run no jobs: the seed's clients see the devices they can use.
  const devices = (await listDevices(deps.pool)).filter(isWorkerDevice);
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

/**
 * Mounted under /api/v1: GPU devices, their telemetry and the pools' resource status. These are platform-wide
 * infrastructure, shared by every tenant and holding no tenant's data (devices, workers, queue depths as counts), so
 * no route here takes a tenant: any tenant's viewer sees the same fleet.
 */
export function gpusRouter(deps: ApiDeps): Router {
  const router = new Router();
  // Uploads being read in this process (the router is built once per app): each holds a pool connection.
  let uploading = 0;

  router.get('/gpus', requires('viewer'), async (ctx) => {
    const devices = await listDevices(deps.pool);
    const latest = await latestMetricSamples(
      deps.pool,
      devices.map((d) => d.id),
    );
    ctx.body = { gpus: devices.map((d) => deviceView(d, latest.get(d.id))) };
  });

  router.get('/gpus/:id/telemetry', requires('viewer'), async (ctx) => {
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
    const [{ samples, truncated }, ingested] = await Promise.all([
      telemetryWindow(deps.pool, id, start, end),
      metricWindow(deps.pool, id, start, end, query.metric),
    ]);
    const metrics = [...new Set(ingested.samples.map((s) => s.metric))];
    ctx.body = {
      deviceId: id,
      startTime: start.toISOString(),
      endTime: end.toISOString(),
      maxRows: TELEMETRY_MAX_ROWS,
      truncated,
      samples: samples.map(sampleView),
      metricSamples: ingested.samples.map(metricSampleView),
      metricSamplesMaxRows: METRIC_SAMPLES_MAX_ROWS,
      metricSamplesTruncated: ingested.truncated,
      units: Object.fromEntries(metrics.map((m) => [m, unitOf(m)])),
    };
  });

  // A flattened DCGM scrape as CSV, streamed into the store (services/ingest-telemetry.ts). GPUs are platform
  // infrastructure every tenant sees (GET /gpus): only a platform admin (the DCGM scraper's key) may add to them.
  router.post('/gpus/telemetry', requires('platform-admin'), async (ctx) => {
    // The media type itself, not ctx.is(): that answers null for an empty body, which the reader refuses by name.
    if (ctx.request.type.trim().toLowerCase() !== 'text/csv') {
      throw new UnsupportedMediaTypeError(`expected Content-Type text/csv, got ${ctx.get('content-type') || 'none'}`);
    }
    // The reader decodes UTF-8 (of which US-ASCII is a part): another declared charset would be misread, not refused.
    const charset = ctx.request.charset.trim().toLowerCase();
    if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      throw new UnsupportedMediaTypeError(`expected Content-Type text/csv in UTF-8, got charset ${charset}`);
    }
    if (uploading >= deps.telemetryLimits.maxConcurrentUploads) {
      throw new TooManyRequestsError(
        `${uploading} telemetry uploads are in progress (KILN_MAX_CONCURRENT_TELEMETRY_UPLOADS); send it again later`,
        TELEMETRY_RETRY_AFTER_SECONDS,
      );
    }
    uploading++;
    let summary: IngestSummary;
    try {
      summary = await ingestTelemetry(deps, ctx.req);
    } finally {
      uploading--;
    }
    ctx.status = summary.inserted > 0 ? 201 : 200;
    ctx.body = ingestView(summary);
  });

  router.get('/resources/status', requires('viewer'), async (ctx) => {
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
  router.get('/gpu/status', requires('viewer'), async (ctx) => {
    ctx.body = await seedGpuStatus(deps);
  });
  return router;
}
