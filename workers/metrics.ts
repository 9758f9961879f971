import * as http from 'node:http';
import { Worker } from '@temporalio/worker';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DeviceSample } from './telemetry-recorder';

/**
 * A worker's Prometheus metrics: process defaults, activities in flight by pool, and for a GPU worker its device's
 * memory and utilisation from the latest telemetry sample. Values are read at scrape time.
 */
export function createWorkerMetrics(opts: { pool: string; workers: () => Worker[]; latestSample: () => DeviceSample | undefined }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'kiln_worker_activities_in_flight',
    help: 'Activities running in this worker process',
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.set({ pool: opts.pool }, opts.workers().reduce((sum, w) => sum + w.getStatus().numInFlightActivities, 0));
    },
  });
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
  return registry;
}

/** Serves GET /metrics on 127.0.0.1:port. A port already taken is logged, not fatal: metrics never stop a worker. */
export function serveMetrics(registry: Registry, port: number, log: (line: string) => void): http.Server {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'GET /metrics' } }));
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  server.on('error', (err) => log(`metrics server on port ${port} not started: ${err.message}`));
  server.listen(port, '127.0.0.1');
  server.unref();
  return server;
}
