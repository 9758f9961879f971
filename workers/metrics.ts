import * as http from 'node:http';
import { Worker } from '@temporalio/worker';
import * as tf from '@tensorflow/tfjs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { listenOn } from '../common/listen';
import type { DeviceAdmission } from '../gpu/admission';
import { ActivityObserver } from './instrument-activities';
import { DeviceSample } from './telemetry-recorder';

export interface WorkerMetricsOptions {
  pool: string;
  workers: () => Worker[];
  latestSample: () => DeviceSample | undefined;
  /** Activity slots of the process when there is no admission (CPU pool: maxConcurrentActivityTaskExecutions). */
  maxConcurrent: number;
  /** A GPU worker's admission: slots, reserved memory, waiting jobs and admission waits come from it. */
  admission?: DeviceAdmission;
  /** The device id label for admission series. */
  deviceId?: string;
}

/** Seconds: activities run from milliseconds (registration) to hours (training). */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400];
/** Seconds a job waited for device memory. */
const WAIT_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900];

/**
 * A worker's Prometheus metrics: process defaults; activities in flight, slots used and free, activity durations and
 * fallbacks to the CPU pool, by pool; for a GPU worker its device's memory and utilisation (latest telemetry sample),
 * the memory budget, the memory reserved by admitted jobs, jobs waiting for memory and admission waits. Gauges are
 * read at scrape time. The returned observer is what the worker's activities report to.
 */
export function createWorkerMetrics(opts: WorkerMetricsOptions): { registry: Registry; observer: ActivityObserver } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'kiln_worker_activities_in_flight',
    help: 'Activities running in this worker process',
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.set(
        { pool: opts.pool },
        opts.workers().reduce((sum, w) => sum + w.getStatus().numInFlightActivities, 0),
      );
    },
  });
  // Between jobs these stay at the baseline the worker reached after its first jobs (test/workers/tensor-hygiene): a
  // series that climbs job after job is a tensor leak, visible in production and not only in the test.
  const tensors = (name: string, help: string, read: (m: tf.MemoryInfo) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'backend'] as const,
      registers: [registry],
      collect() {
        this.set({ pool: opts.pool, backend: tf.getBackend() ?? '' }, read(tf.memory()));
      },
    });
  tensors('kiln_worker_tf_tensors', 'Live TensorFlow.js tensors in this worker process', (m) => m.numTensors);
  tensors(
    'kiln_worker_tf_bytes',
    'Bytes held by live TensorFlow.js tensors (device memory on a GPU backend)',
    (m) => m.numBytes,
  );
  const device = (name: string, help: string, read: (s: DeviceSample) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool', 'device', 'gpu_class'] as const,
      registers: [registry],
      collect() {
        const sample = opts.latestSample();
        if (sample) this.set({ pool: opts.pool, device: sample.id, gpu_class: sample.gpuClass ?? '' }, read(sample));
      },
    });
  device('kiln_gpu_memory_used_mb', 'GPU memory in use (MiB), latest sample', (s) => s.memoryUsedMb);
  device('kiln_gpu_memory_total_mb', 'GPU memory of the device (MiB)', (s) => s.memoryTotalMb);
  device('kiln_gpu_utilization_pct', 'GPU utilisation (%), latest sample', (s) => s.utilizationPct);

  const inFlight = () => opts.workers().reduce((sum, w) => sum + w.getStatus().numInFlightActivities, 0);
  new Gauge({
    name: 'kiln_worker_slots_used',
    help: 'Activity slots in use (GPU: granted by the device admission slot supplier)',
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.set({ pool: opts.pool }, opts.admission ? opts.admission.stats().slotsUsed : inFlight());
    },
  });
  new Gauge({
    name: 'kiln_worker_slots_free',
    help: 'Activity slots free',
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.set(
        { pool: opts.pool },
        opts.admission ? opts.admission.stats().slotsFree : Math.max(0, opts.maxConcurrent - inFlight()),
      );
    },
  });
  const durations = new Histogram({
    name: 'kiln_worker_activity_duration_seconds',
    help: 'Activity run time in this worker (admission wait included), by pool, activity and outcome',
    labelNames: ['pool', 'activity', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'kiln_worker_fallbacks_total',
    help: 'Jobs that asked for any accelerator and ran here, on the CPU pool, because no GPU worker started them in time',
    labelNames: ['pool', 'activity'] as const,
    registers: [registry],
  });
  if (opts.admission) {
    const admission = opts.admission;
    const labels = { pool: opts.pool, device: opts.deviceId ?? '' };
    const admissionGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool', 'device'] as const,
        registers: [registry],
        collect() {
          this.set(labels, read());
        },
      });
    admissionGauge(
      'kiln_gpu_memory_budget_mb',
      'GPU memory jobs may reserve on the device (MiB)',
      () => admission.budgetMb,
    );
    admissionGauge(
      'kiln_gpu_memory_reserved_mb',
      'GPU memory reserved by admitted jobs (MiB)',
      () => admission.stats().reservedMb,
    );
    admissionGauge(
      'kiln_gpu_jobs_waiting',
      'Jobs taken by this worker and waiting for device memory',
      () => admission.stats().waiting,
    );
    const waits = new Histogram({
      name: 'kiln_gpu_admission_wait_seconds',
      help: 'Time from a job asking for device memory to its admission',
      labelNames: ['pool', 'device'] as const,
      buckets: WAIT_BUCKETS,
      registers: [registry],
    });
    admission.onEvent((e) => {
      if (e.type === 'admitted') waits.observe(labels, e.waitedMs / 1000);
    });
  }
  return {
    registry,
    observer: {
      activityFinished: (e) =>
        durations.observe({ pool: opts.pool, activity: e.activity, outcome: e.outcome }, e.seconds),
      fellBack: (e) => fallbacks.inc({ pool: opts.pool, activity: e.activity }),
    },
  };
}

/**
 * Serves GET /metrics on 127.0.0.1:port and resolves once it listens. A port in use (or one below 1024 without the
 * privilege) rejects with a ConfigError naming KILN_WORKER_METRICS_PORT (common/listen.ts): the worker then stops with
 * exit status 78 instead of running unobserved; an error after it listens is logged.
 */
export async function serveMetrics(
  registry: Registry,
  port: number,
  log: (line: string) => void,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'not_found', message: 'GET /metrics' } }));
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await listenOn(server, { port, host: '127.0.0.1', portVariable: 'KILN_WORKER_METRICS_PORT' }, (err) =>
    log(`metrics server on port ${port}: ${err.message}`),
  );
  server.unref();
  return server;
}
