import * as http from 'node:http';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { initComputeBackend } from '../ml/backend';
import { applyComputeConfig } from '../ml/compute-config';
import { Random } from '../ml/random';
import { loadTrainedModel, predictTrained } from '../ml/training/predict';
import { startTestApi, TestApi } from '../test/support/test-api';
import { getTestStack, stopTestStack } from '../test/support/test-stack';
import { withWorker } from '../test/support/with-worker';

/**
 * Online predict latency and throughput of a trained MLP (64 features → 128-64-32 relu → 4 classes) over HTTP on
 * loopback. Self-contained: it starts the same real stack the integration tests use (embedded PostgreSQL, the Temporal
 * dev server, the Koa app on a free port, a CPU worker for the training job), uploads a synthetic dataset, trains
 * through POST /api/v1/training, then load-tests POST /api/v1/models/:name/predict at concurrency 1 and 16 with
 * single-row and 256-row batches (a fixed number of requests per case, after a warm-up, bounded in time).
 *
 * Baseline in the same run: the same model (its artifact bytes fetched via GET /api/v1/artifacts/:id) loaded with
 * loadTrainedModel and called in-process with predictTrained for the same batch sizes, one call at a time.
 * ratio = HTTP p50 / in-process p50 (what JSON, HTTP, Koa, the registry lookup and queueing cost on top).
 *
 *   npm run bench:predict                   # prints one JSON object
 *   KILN_BENCH_SINGLE_REQUESTS=500 KILN_BENCH_BATCH_REQUESTS=100 npm run bench:predict
 */
const SINGLE_REQUESTS = Number(process.env.KILN_BENCH_SINGLE_REQUESTS ?? 2000);
const BATCH_REQUESTS = Number(process.env.KILN_BENCH_BATCH_REQUESTS ?? 300);
const CASE_TIME_LIMIT_MS = Number(process.env.KILN_BENCH_CASE_SECONDS ?? 60) * 1000;
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
    ...(body !== undefined ? { body, headers: { 'content-type': contentType } } : {}),
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
function post(agent: http.Agent, url: URL, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
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

interface CaseResult {
  concurrency: number;
  batchRows: number;
  requests: number;
  wallMs: number;
  requestsPerSecond: number;
  predictionsPerSecond: number;
  latencyMs: ReturnType<typeof stats>;
  baselineP50Ms: number;
  ratio: number;
  truncatedByTimeLimit: boolean;
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
        for (let i = w; i < warmup; i += concurrency) await post(agent, url, payloads[i % payloads.length]);
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
          latencies.push(await post(agent, url, payloads[i % payloads.length]));
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

async function run(): Promise<void> {
  applyComputeConfig(loadConfig(process.env).compute);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const backend = (await initComputeBackend()).name;
  const { csv, features } = dataset();
  const stack = await getTestStack();
  const api = await startTestApi(stack);
  try {
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
    const artifact = await fetch(`${api.baseUrl}${version.body.links.artifact}`);
    if (artifact.status !== 200) throw new Error(`artifact: ${artifact.status}`);
    const trained = await loadTrainedModel(Buffer.from(await artifact.arrayBuffer()));

    const baseline: Record<string, number> = {};
    for (const batchRows of [1, BATCH])
      baseline[batchRows] = await inProcessP50(trained, features, batchRows, batchRows === 1 ? 500 : 200);

    const cases: CaseResult[] = [];
    for (const batchRows of [1, BATCH]) {
      for (const concurrency of [1, 16]) {
        const requests = batchRows === 1 ? SINGLE_REQUESTS : BATCH_REQUESTS;
        const { latencies, wallMs, truncated } = await loadCase(api, features, concurrency, batchRows, requests);
        const lat = stats(latencies);
        const rps = (latencies.length * 1000) / wallMs;
        cases.push({
          concurrency,
          batchRows,
          requests: latencies.length,
          wallMs: Math.round(wallMs),
          requestsPerSecond: Math.round(rps),
          predictionsPerSecond: Math.round(rps * batchRows),
          latencyMs: lat,
          baselineP50Ms: Number(baseline[batchRows].toFixed(3)),
          ratio: Number((lat.p50 / baseline[batchRows]).toFixed(2)),
          truncatedByTimeLimit: truncated,
        });
      }
    }
    trained.dispose();

    console.log(
      JSON.stringify({
        bench: 'predict-latency',
        model: {
          features: D,
          layers: [128, 64, 32],
          classes: CLASSES.length,
          trainingRows: ROWS,
          accuracy: result.finalMetrics?.accuracy,
          trainingJobMs: Math.round(trainingMs),
        },
        backend,
        cases,
        baseline: {
          name: 'in-process predictTrained on the same artifact (loadTrainedModel; no HTTP, JSON or registry), sequential',
          p50Ms: Object.fromEntries(Object.entries(baseline).map(([k, v]) => [`batch${k}`, Number(v.toFixed(3))])),
        },
        ratio: 'per case: HTTP p50 / in-process p50 for the same batch size',
        targets: { p95Ms: 10, batchedPredictionsPerSecond: 20_000 },
      }),
    );
  } finally {
    await api.close();
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
