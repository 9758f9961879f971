import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../common/config';
import { initComputeBackend } from '../ml/backend';
import { clusteringQuality } from '../ml/clustering/quality';
import { kmeans } from '../ml/clustering/kmeans/kmeans';
import { applyComputeConfig } from '../ml/compute-config';
import { historyPhases } from './job-latency/history-phases';
import { JobSample, KilnApi, runJob } from './job-latency/kiln-job';
import { machine } from './job-latency/machine';
import { cpuPerJob, processCpu } from './job-latency/process-cpu';
import { blobPoints } from './job-latency/points';
import { medians, ratio, stats } from './job-latency/stats';
import { temporalBaselines } from './job-latency/temporal-baseline';
import { throughput } from './job-latency/throughput';

/**
 * Latency and throughput of small clustering jobs through the whole platform, against a running Kiln (`npm start`;
 * KILN_API_URL, default http://127.0.0.1:3000, and TEMPORAL_ADDRESS for its Temporal server, default 127.0.0.1:7233).
 * Start it with a start budget the run cannot spend (`KILN_RATE_LIMIT_START=100000/60 npm start`): it starts about
 * 250 jobs within minutes, past the default 120 a minute (429 rate_limited).
 * Each job POSTs 1,000 inline points (k = 10; its own jittered data, so each stores a fresh dataset) to
 * /api/v1/clustering and waits for GET /api/v1/jobs/:id/result?wait=60.
 *
 * 1. latency: KILN_BENCH_RUNS jobs one after another (after two warm-ups): end-to-end p50/p95 and the median of
 *    each phase, from the API's Server-Timing headers (parse, dataset, prepare, limit, start; describe, wait, result, view),
 *    from the job's workflow history (history-phases.ts) and across them (POST → workflow started, workflow completed
 *    → result received, on the same clock).
 * 2. throughput: jobs completed per second by 1, 8 and 32 closed-loop clients (KILN_BENCH_THROUGHPUT_JOBS jobs per
 *    level, default 4 × the concurrency, at least 32).
 * Baselines in the same run: the same k-means (and k-means + the quality metrics the job computes) in this process
 * with no HTTP, Temporal or Postgres; and trivial workflows on the same Temporal server (temporal-baseline.ts), the
 * floor its round trips set. Ratios: Kiln's p50 over each. With the platform's pid file at hand (KILN_DATA_DIR of the
 * `npm start` under test, default .kiln), each part's CPU ms per job too: on 2 cores that is what bounds throughput.
 *
 *   npm run bench:job-latency            # prints one JSON object
 */
const API_URL = process.env.KILN_API_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 50);
const THROUGHPUT_JOBS = process.env.KILN_BENCH_THROUGHPUT_JOBS;
const CONCURRENCY = [1, 8, 32];
const N = 1000;
const K = 10;
const D = 2;

/** A job's body: its own jittered blobs (seed) and k-means seed. */
function body(seed: number): string {
  return JSON.stringify({ algorithm: 'kmeans', params: { k: K, seed: seed % 1000 }, data: blobPoints(N, K, seed) });
}

async function inProcess(runs: number) {
  const flat = new Float32Array(blobPoints(N, K, 42).flat());
  const backend = await initComputeBackend();
  const kmeansMs: number[] = [];
  const withQualityMs: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    const out = await kmeans(flat, N, D, { k: K, seed: i });
    const t1 = performance.now();
    await clusteringQuality(flat, N, D, out.labels, { centres: out.centroids, seed: i });
    const t2 = performance.now();
    if (i >= 2) {
      kmeansMs.push(t1 - t0);
      withQualityMs.push(t2 - t0);
    }
  }
  return { backend: backend.name, kmeans: stats(kmeansMs), kmeansAndQuality: stats(withQualityMs) };
}

/** The cross-process phases of one job: the client's instants against its history's. */
function jobPhases(sample: JobSample, history: ReturnType<typeof historyPhases>): Record<string, number> {
  const r = (ms: number) => Number(ms.toFixed(2));
  return {
    'client.postToWorkflowStarted': r(history.startedAt - sample.postedAt),
    'client.workflowStartedToAccepted': r(sample.acceptedAt - history.startedAt),
    'client.acceptedToWorkflowCompleted': r(history.closedAt - sample.acceptedAt),
    'client.workflowCompletedToResult': r(sample.resultAt - history.closedAt),
  };
}

async function run(): Promise<void> {
  const config = loadConfig(process.env);
  applyComputeConfig(config.compute);
  const machineAtStart = machine();
  const seedBase = Date.now() % 1_000_000_000;
  let seed = seedBase;

  // CPU per job of the platform's processes, from the pid file of the `npm start` under test (its KILN_DATA_DIR).
  const cpu = processCpu(path.join(config.launcher.dataDir, 'launcher.pids'));
  // The platform admin key its API wrote on its first start (README: Authentication).
  const API: KilnApi = {
    url: API_URL,
    key: fs.readFileSync(path.join(config.launcher.dataDir, 'bootstrap-admin-key'), 'utf8').trim(),
  };
  const local = await inProcess(20);
  const temporalFloor = await temporalBaselines(config.temporal.connection, config.temporal.namespace, 30, cpu);

  for (let i = 0; i < 2; i++) await runJob(API, body(seed++), N);
  const samples: JobSample[] = [];
  const cpuBefore = cpu.sample();
  for (let i = 0; i < RUNS; i++) samples.push(await runJob(API, body(seed++), N));
  const sequentialCpu = cpuPerJob(cpuBefore, cpu.sample(), RUNS);

  const connection = await Connection.connect(config.temporal.connection);
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const histories = await Promise.all(
    samples.map(async (s) => historyPhases((await client.workflow.getHandle(s.jobId).fetchHistory()).events ?? [])),
  );
  await connection.close();

  const endToEnd = stats(samples.map((s) => s.resultAt - s.postedAt));
  const levels = [];
  for (const concurrency of CONCURRENCY) {
    const jobs = THROUGHPUT_JOBS ? Number(THROUGHPUT_JOBS) : Math.max(32, 4 * concurrency);
    levels.push(await throughput(API, concurrency, jobs, (i) => body(seed + i), N, cpu));
    seed += jobs;
  }

  const floor = (name: string) => temporalFloor.find((b) => b.name.startsWith(name));
  const c32 = levels.find((l) => l.concurrency === 32)?.jobsPerSecond ?? NaN;
  console.log(
    JSON.stringify({
      bench: 'job-latency',
      api: API.url,
      job: { algorithm: 'kmeans', n: N, d: D, k: K, inlineData: true, freshDatasetPerJob: true },
      runs: RUNS,
      machine: { ...machineAtStart, loadAverageAtEnd: machine().loadAverage },
      latency: {
        endToEndMs: endToEnd,
        postMs: stats(samples.map((s) => s.acceptedAt - s.postedAt)),
        resultMs: stats(samples.map((s) => s.resultAt - s.acceptedAt)),
        phasesMedianMs: {
          ...medians(samples.map((s, i) => jobPhases(s, histories[i]))),
          ...Object.fromEntries(
            Object.entries(medians(histories.map((h) => h.phases))).map(([k, v]) => [`history.${k}`, v]),
          ),
          ...Object.fromEntries(
            Object.entries(medians(samples.map((s) => s.postTiming))).map(([k, v]) => [`api.post.${k}`, v]),
          ),
          ...Object.fromEntries(
            Object.entries(medians(samples.map((s) => s.resultTiming))).map(([k, v]) => [`api.result.${k}`, v]),
          ),
          ...Object.fromEntries(
            Object.entries(medians(samples.map((s) => s.activityTiming))).map(([k, v]) => [`activity.${k}`, v]),
          ),
        },
        localActivityMarkers: histories.filter((h) => h.markers > 0).length,
        ...(sequentialCpu ? { cpuMsPerJob: sequentialCpu } : {}),
      },
      throughput: levels,
      baselines: {
        inProcess: { name: 'in-process k-means (no HTTP, Temporal or Postgres)', ...local },
        temporal: temporalFloor,
      },
      ratios: {
        endToEndP50OverInProcessKmeans: ratio(endToEnd.p50, local.kmeans.p50),
        endToEndP50OverInProcessKmeansAndQuality: ratio(endToEnd.p50, local.kmeansAndQuality.p50),
        endToEndP50OverNoopWorkflow: ratio(endToEnd.p50, floor('no-op workflow')?.ms.p50 ?? NaN),
        endToEndP50OverOneActivityWorkflow: ratio(endToEnd.p50, floor('one-activity workflow')?.ms.p50 ?? NaN),
        throughputC32OverNoopWorkflowC32: ratio(c32, floor('no-op workflow')?.throughputC32 ?? NaN),
      },
    }),
  );
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
