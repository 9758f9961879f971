import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { repoRoot } from '../common/paths';
import type { PredictBatching } from '../common/predict-batching';
import { freePort } from '../launcher/free-port';
import { initComputeBackend } from '../ml/backend';
import { applyComputeConfig } from '../ml/compute-config';
import { Random } from '../ml/random';
import { loadPredictor } from '../ml/serving/predictor';
import { loadTrainedModel, predictTrained } from '../ml/training/predict';
import { PredictBatcher } from '../api/services/predict-batcher';
import { createTestKey } from '../test/support/auth';
import { startTestApi, TestApi, withAuth } from '../test/support/test-api';
import { getTestStack, stopTestStack, TestStack } from '../test/support/test-stack';
import { withWorker } from '../test/support/with-worker';

/**
 * Online predict latency and throughput of a trained MLP (64 features → 128-64-32 relu → 4 classes) over HTTP on
 * loopback. Self-contained: it starts the same real stack the integration tests use (embedded PostgreSQL, the Temporal
 * dev server, the Koa app on a free port, a CPU worker for the training job), uploads a synthetic dataset, trains
 * through POST /api/v1/training, then load-tests POST /api/v1/models/:name/predict at concurrency 1, 16 and 64 with
 * single-row and 256-row requests: a fixed number of requests per case after a warm-up, bounded in time, from a
 * keep-alive http.Agent in this process (the load generator of the first round, unchanged).
 *
 * What is served (KILN_BENCH_VARIANTS, comma-separated; every case runs each in turn, KILN_BENCH_RUNS times, and
 * reports the median run):
 * - `batched`: the app in this process (sharing its event loop with the load generator, as in the first round) with
 *   the configured micro-batching (KILN_PREDICT_BATCH_WINDOW_MS, KILN_PREDICT_MAX_BATCH_ROWS);
 * - `unbatched`: the same with batching off (max batch rows 1), so the run shows what batching alone buys;
 * - `own-process`: `dist/api/main.js` (what `npm run api` runs) in a child process on the same Postgres and Temporal,
 *   with the configured batching: the server no longer shares an event loop with the load generator;
 * - `bare-http`: not Kiln but the machine's ceiling for this load generator: a plain node:http server in this process
 *   that reads and parses each body and answers a fixed prediction of the same size (no Koa, registry or model).
 *
 * Baseline in the same run: the same model (its artifact bytes fetched via GET /api/v1/artifacts/:id) loaded with
 * loadTrainedModel and called in-process with predictTrained for the same batch sizes, one call at a time (median of
 * the runs' p50s). Per case: ratioP50 = HTTP p50 / in-process p50 (what JSON, HTTP, Koa, the registry lookup and
 * queueing cost on top), throughputRatio = HTTP predictions/s / in-process predictions/s (1000 / p50 × rows).
 * `requestsPerModelCall` comes from the server's kiln_predict_batch_requests histogram. `batcherAtConcurrency1`: what
 * the batcher adds to a lone 1-row predict, measured in process without HTTP (the HTTP figures are too noisy for a
 * difference of microseconds on a shared machine).
 *
 *   npm run bench:predict                   # prints one JSON object
 *   KILN_BENCH_RUNS=3 KILN_BENCH_SINGLE_REQUESTS=500 KILN_BENCH_BATCH_REQUESTS=100 npm run bench:predict
 */
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 5);
const SINGLE_REQUESTS = Number(process.env.KILN_BENCH_SINGLE_REQUESTS ?? 2000);
const BATCH_REQUESTS = Number(process.env.KILN_BENCH_BATCH_REQUESTS ?? 300);
const CASE_TIME_LIMIT_MS = Number(process.env.KILN_BENCH_CASE_SECONDS ?? 60) * 1000;
const VARIANTS = (process.env.KILN_BENCH_VARIANTS ?? 'batched,unbatched,own-process,bare-http')
  .split(',')
  .map((v) => v.trim());
const CONCURRENCIES = [1, 16, 64];
const ROWS = 4000;
const D = 64;
const CLASSES = ['alpha', 'beta', 'gamma', 'delta'];
const MODEL = 'bench-predict-mlp';
const BATCH = 256;

function dataset(): { csv: string; features: number[][] } {
  const rng = new Random(12);
  const centers = CLASSES.map(() => Array.from({ length: D }, () => (rng.nextFloat() - 0.5) * 4));
  const features: number[][] = [];
  const lines = [[...Array.from({ length: D }, (_, j) => `f${j}`), 'label'].join(',')];
  for (let i = 0; i < ROWS; i++) {
    const c = i % CLASSES.length;
    const row = centers[c].map((v) => Number((v + rng.nextGaussian()).toFixed(4)));
    features.push(row);
    lines.push([...row, CLASSES[c]].join(','));
  }
  return { csv: lines.join('\n') + '\n', features };
}

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const r = (v: number) => Number(v.toFixed(2));
  return { p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), min: r(sorted[0]), max: r(sorted[sorted.length - 1]) };
}

async function json(api: TestApi, method: string, path: string, body?: string, contentType = 'application/json') {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: withAuth(api, body !== undefined ? { 'content-type': contentType } : {}),
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/** One POST on a keep-alive agent; resolves with the latency in ms (rejects on a non-200). */
function post(agent: http.Agent, url: URL, key: string, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': payload.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(new Error(`predict: ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`));
          resolve(performance.now() - t0);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function loadCase(api: TestApi, rows: number[][], concurrency: number, batchRows: number, requests: number) {
  const url = new URL(`${api.baseUrl}/api/v1/models/${MODEL}/predict`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  // Distinct payloads (rotating windows over the data), serialised up front so the client costs little per request.
  const payloads = Array.from({ length: 16 }, (_, i) => {
    const start = (i * 97 * batchRows) % (rows.length - batchRows);
    return Buffer.from(JSON.stringify({ inputs: rows.slice(start, start + batchRows) }));
  });
  try {
    const warmup = Math.max(concurrency * 4, Math.floor(requests / 20));
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = w; i < warmup; i += concurrency) await post(agent, url, api.key, payloads[i % payloads.length]);
      }),
    );
    const latencies: number[] = [];
    let next = 0;
    let truncated = false;
    const t0 = performance.now();
    const deadline = t0 + CASE_TIME_LIMIT_MS;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          if (performance.now() > deadline) {
            truncated = next < requests;
            return;
          }
          const i = next++;
          if (i >= requests) return;
          latencies.push(await post(agent, url, api.key, payloads[i % payloads.length]));
        }
      }),
    );
    const wallMs = performance.now() - t0;
    return { latencies, wallMs, truncated };
  } finally {
    agent.destroy();
  }
}

async function inProcessP50(
  trained: Awaited<ReturnType<typeof loadTrainedModel>>,
  rows: number[][],
  batchRows: number,
  calls: number,
): Promise<number> {
  const batches = Array.from({ length: 16 }, (_, i) => {
    const start = (i * 97 * batchRows) % (rows.length - batchRows);
    return Float32Array.from(rows.slice(start, start + batchRows).flat());
  });
  for (let i = 0; i < 20; i++) await predictTrained(trained, batches[i % batches.length]);
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await predictTrained(trained, batches[i % batches.length]);
    ms.push(performance.now() - t0);
  }
  return stats(ms).p50;
}

/** A server under test: where it listens and how to stop it. */
/**
 * A predict budget the load never reaches (the default, 6000 a minute per caller, is spent in seconds at these rates):
 * the bench measures serving, not rate limiting (bench:auth-cost does).
 */
const PREDICT_BUDGET = { points: 1_000_000_000, durationSeconds: 60 };

interface Target extends TestApi {
  variant: string;
}

/** The configured app in a child process (dist/api/main.js, what `npm run api` runs), on the stack's servers. */
async function ownProcessApi(stack: TestStack): Promise<TestApi> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'api', 'main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: stack.env.address,
      PORT: String(port),
      HOST: '127.0.0.1',
      KILN_LOG_LEVEL: 'warn',
      KILN_RATE_LIMIT_PREDICT: `${PREDICT_BUDGET.points}/${PREDICT_BUDGET.durationSeconds}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api: TestApi = {
    baseUrl: `http://127.0.0.1:${port}`,
    key: await createTestKey(stack.pool, { role: 'editor' }),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API child exited with ${child.exitCode}`);
    const up = await fetch(`${api.baseUrl}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) return api;
    if (Date.now() > deadline) {
      await api.close();
      throw new Error('the API child did not answer /health within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The `bare-http` server: reads and parses the body, answers a fixed label and probabilities for each of its rows. */
async function bareHttpApi(): Promise<TestApi> {
  const row = { label: 'alpha', probabilities: [0.9704887270927429, 0.0047, 0.02, 0.0048112729072571] };
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { inputs } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: unknown[] };
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(
        JSON.stringify({
          model: MODEL,
          version: 1,
          labels: inputs.map(() => row.label),
          probabilities: inputs.map(() => row.probabilities),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    key: 'kiln_bare-http-checks-no-key',
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startTarget(variant: string, stack: TestStack, batching: PredictBatching): Promise<Target> {
  switch (variant) {
    case 'batched':
      return {
        variant,
        ...(await startTestApi(stack, {}, {}, { predictBatching: batching, rateLimits: { predict: PREDICT_BUDGET } })),
      };
    case 'unbatched':
      return {
        variant,
        ...(await startTestApi(
          stack,
          {},
          {},
          { predictBatching: { windowMs: 0, maxRows: 1 }, rateLimits: { predict: PREDICT_BUDGET } },
        )),
      };
    case 'own-process':
      return { variant, ...(await ownProcessApi(stack)) };
    case 'bare-http':
      return { variant, ...(await bareHttpApi()) };
    default:
      throw new Error(
        `KILN_BENCH_VARIANTS: unknown variant ${JSON.stringify(variant)} (batched, unbatched, own-process, bare-http)`,
      );
  }
}

/** The server's kiln_predict_batch_requests count (model calls) and sum (requests answered); zeros without one. */
async function modelCalls(target: Target): Promise<{ calls: number; requests: number }> {
  const res = await fetch(`${target.baseUrl}/metrics`);
  if (!res.ok) return { calls: 0, requests: 0 };
  const text = await res.text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { calls: read('kiln_predict_batch_requests_count'), requests: read('kiln_predict_batch_requests_sum') };
}

/**
 * What the batcher adds to a lone request (concurrency 1), in process, without HTTP: the same guarded predictor called
 * through PredictBatcher (admit, predict) and directly, in alternating blocks; medians of each, in microseconds.
 */
async function batcherOverheadAtConcurrency1(
  content: Buffer,
  rows: number[][],
  batching: PredictBatching,
): Promise<{ directUs: number; batchedUs: number; addedUs: number }> {
  const predictor = await loadPredictor('mlp-classification', content);
  try {
    const batcher = new PredictBatcher(batching);
    const points = Array.from({ length: 16 }, (_, i) => Float32Array.from(rows[i * 13]));
    const direct: number[] = [];
    const batched: number[] = [];
    for (let block = 0; block < 20; block++) {
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        await predictor.predict(points[i % 16], 1);
        direct.push(performance.now() - t0);
        const t1 = performance.now();
        await batcher.admit().predict(predictor, points[i % 16], 1);
        batched.push(performance.now() - t1);
      }
    }
    const us = (ms: number[]) => round(median(ms) * 1000, 1);
    return { directUs: us(direct), batchedUs: us(batched), addedUs: round(us(batched) - us(direct), 1) };
  } finally {
    predictor.dispose();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const round = (v: number, digits = 2) => Number(v.toFixed(digits));

async function run(): Promise<void> {
  const config = loadConfig(process.env);
  applyComputeConfig(config.compute);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const backend = (await initComputeBackend()).name;
  const loadBefore = os.loadavg();
  const { csv, features } = dataset();
  const stack = await getTestStack();
  const targets: Target[] = [];
  try {
    for (const variant of VARIANTS) targets.push(await startTarget(variant, stack, config.api.predictBatching));
    const api =
      targets.find((t) => t.variant === 'batched' || t.variant === 'unbatched') ?? (await startTestApi(stack));
    if (!targets.includes(api as Target)) targets.push({ variant: 'setup', ...api });
    const upload = await json(api, 'POST', '/api/v1/datasets?name=bench-predict', csv, 'text/csv');
    if (upload.status !== 201 && upload.status !== 200)
      throw new Error(`upload: ${upload.status} ${JSON.stringify(upload.body)}`);

    const trainStart = performance.now();
    const result = await withWorker(stack, async () => {
      const started = await json(
        api,
        'POST',
        '/api/v1/training',
        JSON.stringify({
          datasetId: upload.body.id,
          target: 'label',
          model: { name: MODEL },
          spec: {
            task: 'classification',
            layers: [
              { units: 128, activation: 'relu' },
              { units: 64, activation: 'relu' },
              { units: 32, activation: 'relu' },
            ],
          },
          training: { epochs: 5, batchSize: 64, learningRate: 0.005, seed: 1 },
        }),
      );
      if (started.status !== 202)
        throw new Error(`POST /api/v1/training: ${started.status} ${JSON.stringify(started.body)}`);
      const deadline = Date.now() + 300_000;
      for (;;) {
        const res = await json(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
        if (res.status === 200) return res.body;
        if (Date.now() > deadline || res.status >= 400)
          throw new Error(`training result: ${res.status} ${JSON.stringify(res.body)}`);
      }
    });
    const trainingMs = performance.now() - trainStart;
    const version = await json(api, 'GET', result.links.modelVersion);
    const artifact = await fetch(`${api.baseUrl}${version.body.links.artifact}`, { headers: withAuth(api) });
    if (artifact.status !== 200) throw new Error(`artifact: ${artifact.status}`);
    const content = Buffer.from(await artifact.arrayBuffer());
    const trained = await loadTrainedModel(content);
    const overhead = await batcherOverheadAtConcurrency1(content, features, config.api.predictBatching);

    const measured = targets.filter((t) => t.variant !== 'setup');
    const baseline: Record<number, number> = {};
    const cases = [];
    for (const batchRows of [1, BATCH]) {
      const baselineRuns: number[] = [];
      for (let r = 0; r < RUNS; r++)
        baselineRuns.push(await inProcessP50(trained, features, batchRows, batchRows === 1 ? 500 : 200));
      baseline[batchRows] = median(baselineRuns);
      const baselinePredictionsPerSecond = (1000 / baseline[batchRows]) * batchRows;
      for (const concurrency of CONCURRENCIES) {
        const requests = batchRows === 1 ? SINGLE_REQUESTS : BATCH_REQUESTS;
        const runs = new Map<string, Array<ReturnType<typeof stats> & { rps: number; truncated: boolean }>>();
        const calls = new Map<string, { calls: number; requests: number }>();
        for (const target of measured) {
          runs.set(target.variant, []);
          calls.set(target.variant, await modelCalls(target));
        }
        // Variants take turns run by run, so a burst of load from elsewhere on the machine hits them alike.
        for (let r = 0; r < RUNS; r++) {
          for (const target of measured) {
            const { latencies, wallMs, truncated } = await loadCase(target, features, concurrency, batchRows, requests);
            runs.get(target.variant)!.push({
              ...stats(latencies),
              rps: (latencies.length * 1000) / wallMs,
              truncated,
            });
          }
        }
        for (const target of measured) {
          const variantRuns = runs.get(target.variant)!;
          const before = calls.get(target.variant)!;
          const after = await modelCalls(target);
          const p50 = median(variantRuns.map((x) => x.p50));
          const rps = median(variantRuns.map((x) => x.rps));
          const callsMade = after.calls - before.calls;
          cases.push({
            variant: target.variant,
            concurrency,
            batchRows,
            runs: variantRuns.length,
            requestsPerRun: requests,
            requestsPerSecond: Math.round(rps),
            predictionsPerSecond: Math.round(rps * batchRows),
            latencyMs: {
              p50,
              p95: median(variantRuns.map((x) => x.p95)),
              p99: median(variantRuns.map((x) => x.p99)),
            },
            perRun: variantRuns.map((x) => ({ rps: Math.round(x.rps), p50: x.p50, p95: x.p95 })),
            baselineP50Ms: round(baseline[batchRows], 3),
            ratioP50: round(p50 / baseline[batchRows]),
            throughputRatio: round((rps * batchRows) / baselinePredictionsPerSecond, 3),
            requestsPerModelCall: callsMade > 0 ? round((after.requests - before.requests) / callsMade) : null,
            truncatedByTimeLimit: variantRuns.some((x) => x.truncated),
          });
        }
      }
    }
    trained.dispose();

    const loadAfter = os.loadavg();
    console.log(
      JSON.stringify({
        bench: 'predict-latency',
        machine: {
          cpus: os.cpus().length,
          cpuModel: os.cpus()[0]?.model,
          memoryGiB: round(os.totalmem() / 2 ** 30, 1),
          node: process.version,
          loadAverage: { before: loadBefore.map((v) => round(v)), after: loadAfter.map((v) => round(v)) },
        },
        model: {
          features: D,
          layers: [128, 64, 32],
          classes: CLASSES.length,
          trainingRows: ROWS,
          accuracy: result.finalMetrics?.accuracy,
          trainingJobMs: Math.round(trainingMs),
        },
        backend,
        predictBatching: config.api.predictBatching,
        batcherAtConcurrency1: {
          ...overhead,
          what: 'one 1-row predict in process: through PredictBatcher vs predictor.predict directly (medians of 2000)',
        },
        cases,
        baseline: {
          name: 'in-process predictTrained on the same artifact (loadTrainedModel; no HTTP, JSON or registry), sequential',
          p50Ms: Object.fromEntries(Object.entries(baseline).map(([k, v]) => [`batch${k}`, round(v, 3)])),
        },
        ratio:
          'per case: ratioP50 = HTTP p50 / in-process p50 for the same batch size; throughputRatio = HTTP predictions/s / in-process predictions/s (sequential)',
        targets: { concurrency16SingleRow: { p95Ms: 10, requestsPerSecond: 3000 } },
      }),
    );
  } finally {
    for (const target of targets) await target.close();
    await stopTestStack();
  }
}

run().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
