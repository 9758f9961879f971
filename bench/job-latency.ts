import { loadConfig } from '../common/config';
import { initComputeBackend } from '../ml/backend';
import { kmeans } from '../ml/clustering/kmeans/kmeans';
import { applyComputeConfig } from '../ml/compute-config';

/**
 * Latency of a small clustering job through the whole platform: POST /api/v1/clustering with 1,000 inline points
 * (k = 10) until the completed result is readable, against a running Kiln (`npm start`; KILN_API_URL, default
 * http://127.0.0.1:3000). Baseline in the same run: the same k-means computed in this process with no HTTP, Temporal
 * or Postgres, so the ratio is what durability and the API cost on top of the compute.
 *
 *   npm run bench:job-latency            # prints one JSON object
 */
const API = process.env.KILN_API_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.env.KILN_BENCH_RUNS ?? 20);
const N = 1000;
const K = 10;
const D = 2;

function points(): number[][] {
  let state = 42;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  return Array.from({ length: N }, (_, i) => {
    const cluster = i % K;
    return [cluster * 10 + uniform(), (cluster % 3) * 10 + uniform()];
  });
}

function stats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    median: Number(at(0.5).toFixed(1)),
    p95: Number(at(0.95).toFixed(1)),
    min: Number(sorted[0].toFixed(1)),
    max: Number(sorted[sorted.length - 1].toFixed(1)),
  };
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${API}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function run(): Promise<void> {
  applyComputeConfig(loadConfig(process.env).compute);
  const data = points();
  const flat = new Float32Array(data.flat());

  const backend = await initComputeBackend();
  const baseline: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    await kmeans(flat, N, D, { k: K, seed: i });
    if (i >= 2) baseline.push(performance.now() - t0); // two warm-up runs
  }

  const endToEnd: number[] = [];
  let jobBackend: string | undefined;
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = performance.now();
    const started = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: K, seed: i }, data });
    if (started.status !== 202)
      throw new Error(`POST /api/v1/clustering: ${started.status} ${JSON.stringify(started.body)}`);
    const res = await fetch(`${API}/api/v1/jobs/${started.body.jobId}/result?wait=60`);
    if (res.status !== 200) throw new Error(`result: ${res.status} ${await res.text()}`);
    const result = (await res.json()) as { backend: string; labels: number[] };
    if (result.labels.length !== N) throw new Error('incomplete result');
    if (i >= 1) endToEnd.push(performance.now() - t0); // one warm-up job
    jobBackend = result.backend;
  }

  const e2e = stats(endToEnd);
  const base = stats(baseline);
  console.log(
    JSON.stringify({
      bench: 'job-latency',
      api: API,
      n: N,
      d: D,
      k: K,
      runs: RUNS,
      backend: jobBackend,
      endToEndMs: e2e,
      baseline: { name: 'in-process kmeans (no HTTP, Temporal or Postgres)', backend: backend.name, ms: base },
      ratio: Number((e2e.median / base.median).toFixed(2)),
    }),
  );
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
