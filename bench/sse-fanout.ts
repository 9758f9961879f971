import { ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Pool } from 'pg';
import { createApp } from '../api/app';
import { createApiMetrics } from '../api/metrics';
import { JobEventHub } from '../api/services/job-event-hub';
import { loadConfig } from '../common/config';
import { JOB_EVENTS_CHANNEL } from '../common/job-events';
import { createLogger } from '../common/logger';
import { appendJobEvent } from '../db/job-events';
import { createPool } from '../db/pool';
import { createTestKey } from '../test/support/auth';
import { startEmbeddedPostgres } from '../launcher/embedded-postgres';
import { freePort } from '../launcher/free-port';
import { migrate } from '../migrations/migrator';

/**
 * SSE fan-out (README: Live job events): N clients on one job's event stream (GET /api/v1/jobs/:id/events, the API
 * in a child process of its own), M events (the last `end`) appended one after another as an activity would; the time
 * from the first append to the last event reaching the last client gives deliveries/s (N × M / seconds) and events/s
 * per client. Each case runs RUNS times after a warm-up; the median is reported.
 *
 * Baseline, measured in the same run on the same Postgres with the same appends: `raw-notify-callback`, one LISTEN
 * connection whose notifications are handed to N in-process callbacks (no HTTP, no per-notification query, no SSE
 * framing): what LISTEN/NOTIFY itself delivers on this machine. The ratio says what the HTTP fan-out costs.
 *
 *   npm run build:test && node dist/bench/sse-fanout.js                 # 100 and 1000 clients, 500 events, 3 runs
 *   KILN_BENCH_CLIENTS=100,1000 KILN_BENCH_EVENTS=500 KILN_BENCH_RUNS=3 node dist/bench/sse-fanout.js
 *   KILN_BENCH_NOTE='what else ran' node dist/bench/sse-fanout.js        # recorded with the figures
 *
 * Needs no Temporal: the API's hub is given a job that never ends (the bench appends the `end` event itself).
 */
const CLIENTS = (process.env.KILN_BENCH_CLIENTS ?? '100,1000').split(',').map(Number);
/** Events per run, the terminal `end` included. */
const EVENTS = Number(process.env.KILN_BENCH_EVENTS ?? 500);
/** Runs per case; the median (by deliveries/s) is reported, with every run's figure. */
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 3);

/** The API for the bench: the real app and hub over DATABASE_URL, every job live until its `end` event. */
async function serve(databaseUrl: string): Promise<void> {
  const pool = createPool(databaseUrl, 10);
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('the bench server has no Temporal');
      },
    },
  );
  const log = createLogger({ level: 'silent' });
  const events = new JobEventHub(
    pool,
    {
      ending: () => Promise.resolve(undefined),
      waitForClose: (_jobId, _ms, signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve())),
    },
    log,
  );
  const api = loadConfig({}).api;
  const app = createApp({
    pool,
    temporal: unused as never,
    jobs: unused as never,
    events,
    metrics: createApiMetrics(),
    limits: api.limits,
    bodyLimits: api.bodyLimits,
    telemetryLimits: api.telemetryLimits,
    localComputeMaxCells: api.localComputeMaxCells,
    // The bench measures fan-out past the default cap of one process.
    maxSseClients: Math.max(api.maxSseClients, ...CLIENTS),
    // Every client's GET is a point of one caller's read budget (3000 a minute by default): out of reach here.
    rateLimits: { ...api.rateLimits, read: { points: 1_000_000_000, durationSeconds: 60 } },
    namespace: 'default',
    gpuFallbackSeconds: api.gpuFallbackSeconds,
    browser: api.browser,
    log,
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  });
  // The parent asks for the server's CPU time around each run (what the fan-out costs the API).
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMs: (user + system) / 1000 });
  });
}

/** The API child's CPU milliseconds so far. */
function serverCpuMs(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: { cpuMs?: number }) => {
      if (m.cpuMs === undefined) return;
      child.off('message', onMessage);
      resolve(m.cpuMs);
    };
    child.on('message', onMessage);
    child.send({ cpu: true });
  });
}

/** A minimal SSE client: counts `data:` lines (one per event) and notes when `target` of them have arrived. */
interface Counter {
  count: number;
  done: Promise<number>;
}

function openStream(port: number, jobId: string, target: number, key: string): Promise<Counter> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/v1/jobs/${jobId}/events`,
        headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let partial = '';
        let finish: (t: number) => void = () => undefined;
        const counter: Counter = { count: 0, done: new Promise<number>((r) => (finish = r)) };
        res.on('data', (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop()!;
          for (const line of lines) {
            if (line.startsWith('data:') && ++counter.count === target) finish(performance.now());
          }
        });
        res.on('error', () => undefined);
        resolve(counter);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Appends `n` progress events to the job one after another; resolves with the time the first append started. */
async function appendAll(pool: Pool, jobId: string, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    await appendJobEvent(pool, {
      jobId,
      type: 'progress',
      data: { phase: 'training', epoch: i, epochs: n, loss: 1 / i, metrics: { accuracy: 1 - 1 / (i + 1) } },
      key: `progress:epoch:${i}`,
    });
  }
  return t0;
}

interface Measure {
  seconds: number;
  deliveriesPerSec: number;
  eventsPerSecPerClient: number;
  /** CPU of the API process (SSE) or of the listening process (baseline) per 1,000 deliveries, ms. */
  cpuMsPer1000Deliveries: number;
}

function measure(clients: number, events: number, seconds: number, cpuMs: number): Measure {
  return {
    seconds: Number(seconds.toFixed(3)),
    deliveriesPerSec: Math.round((clients * events) / seconds),
    eventsPerSecPerClient: Math.round(events / seconds),
    cpuMsPer1000Deliveries: Number(((cpuMs * 1000) / (clients * events)).toFixed(3)),
  };
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The baseline: one LISTEN connection, each notification handed to `clients` callbacks in this process. */
async function rawNotify(databaseUrl: string, pool: Pool, clients: number, events: number): Promise<Measure> {
  const jobId = `bench-raw-${randomUUID()}`;
  const listener = new Client({ connectionString: databaseUrl });
  await listener.connect();
  await listener.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
  const counts = new Array<number>(clients).fill(0);
  let finish: (t: number) => void = () => undefined;
  const done = new Promise<number>((r) => (finish = r));
  let complete = 0;
  const callbacks = counts.map((_, i) => (payload: { jobId: string; seq: number }) => {
    if (payload.jobId === jobId && ++counts[i] === events && ++complete === clients) finish(performance.now());
  });
  listener.on('notification', (msg) => {
    const payload = JSON.parse(msg.payload!) as { jobId: string; seq: number };
    for (const callback of callbacks) callback(payload);
  });
  // This process also appends: its CPU bounds the baseline's from above.
  const cpu0 = ownCpuMs();
  const t0 = await appendAll(pool, jobId, events - 1);
  await appendJobEvent(pool, { jobId, type: 'end', data: { status: 'completed' }, key: 'end' });
  const t1 = await done;
  const cpu = ownCpuMs() - cpu0;
  await listener.end();
  return measure(clients, events, (t1 - t0) / 1000, cpu);
}

/** N streams over HTTP from the API child; appends M - 1 events and `end`, and waits until every stream has them all. */
async function sse(child: ChildProcess, port: number, pool: Pool, clients: number, events: number): Promise<Measure> {
  const key = await createTestKey(pool, { role: 'viewer' });
  const jobId = `bench-sse-${randomUUID()}`;
  const streams: Counter[] = [];
  // Connect in batches (a thousand SYNs at once overflow a small accept backlog).
  for (let i = 0; i < clients; i += 100) {
    const batch = Math.min(100, clients - i);
    streams.push(...(await Promise.all(Array.from({ length: batch }, () => openStream(port, jobId, events, key)))));
  }
  const cpu0 = await serverCpuMs(child);
  const t0 = await appendAll(pool, jobId, events - 1);
  await appendJobEvent(pool, { jobId, type: 'end', data: { status: 'completed' }, key: 'end' });
  const arrivals = await Promise.all(streams.map((s) => s.done));
  const cpu = (await serverCpuMs(child)) - cpu0;
  return measure(clients, events, (Math.max(...arrivals) - t0) / 1000, cpu);
}

/** The run with the median deliveries/s of `runs` runs of `fn`, and every run's figure. */
async function median(runs: number, fn: () => Promise<Measure>): Promise<Measure & { runs: number[] }> {
  const measured: Measure[] = [];
  for (let i = 0; i < runs; i++) measured.push(await fn());
  const sorted = [...measured].sort((a, b) => a.deliveriesPerSec - b.deliveriesPerSec);
  return { ...sorted[Math.floor(sorted.length / 2)], runs: measured.map((m) => m.deliveriesPerSec) };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-sse-'));
  fs.chmodSync(tmp, 0o755);
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  const pool = createPool(postgres.url, 4);
  const child = fork(__filename, ['--server', postgres.url], { stdio: 'inherit' });
  try {
    await migrate(pool);
    const port = await new Promise<number>((resolve) =>
      child.once('message', (m: { port: number }) => resolve(m.port)),
    );
    // Warm-up (JIT, connections, the hub's LISTEN), not reported.
    await rawNotify(postgres.url, pool, 10, 50);
    await sse(child, port, pool, 10, 50);
    const cases = [];
    for (const clients of CLIENTS) {
      const baseline = await median(RUNS, () => rawNotify(postgres.url, pool, clients, EVENTS));
      const measured = await median(RUNS, () => sse(child, port, pool, clients, EVENTS));
      cases.push({
        clients,
        events: EVENTS,
        sse: measured,
        baseline: { name: 'raw-notify-callback', ...baseline },
        ratio: Number((measured.deliveriesPerSec / baseline.deliveriesPerSec).toFixed(3)),
      });
    }
    const cpus = os.cpus();
    console.log(
      JSON.stringify(
        {
          bench: 'sse-fanout',
          date: new Date().toISOString(),
          machine: {
            cpus: cpus.length,
            cpuModel: cpus[0]?.model,
            memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
            platform: `${os.platform()} ${os.release()}`,
            node: process.version,
            loadAverage: {
              before: loadBefore.map((l) => Number(l.toFixed(2))),
              after: os.loadavg().map((l) => Number(l.toFixed(2))),
            },
          },
          method:
            'N SSE clients (node:http, this process) on one job of the API (child process, the real app and hub); M - 1 progress events appended one at a time, then `end`; seconds from the first append to the last event at the last client; median of RUNS runs by deliveries/s after a warm-up. Baseline raw-notify-callback: one LISTEN connection in this process handing each notification to N callbacks, same appends.',
          ...(process.env.KILN_BENCH_NOTE ? { note: process.env.KILN_BENCH_NOTE } : {}),
          runsPerCase: RUNS,
          cases,
        },
        null,
        2,
      ),
    );
  } finally {
    child.kill();
    await pool.end();
    await postgres.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--server') {
  void serve(process.argv[3]);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
