import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { ClusteringAlgorithm } from '../../common/jobs';
import { initComputeBackend } from '../../ml/backend';
import { CLUSTERING_RUNNERS } from '../../ml/clustering/runners';
import { adjustedRandIndex } from '../../ml/clustering/agreement';
import { applyComputeConfig } from '../../ml/compute-config';
import { SKLEARN_CASE, blobs, machine, median, round2, sklearnEnv, sklearnPython } from './shared';

/**
 * Kiln's clustering compute (in-process, no HTTP or Temporal) against scikit-learn on the same generated data, in the
 * same run. Each case runs `--runs` times (default 5), Kiln and scikit-learn alternating, and one JSON row reports the
 * medians: { algorithm, n, d, k, backend, method, kilnMs, sklearnMs, ratio, kilnCpuMs, sklearnCpuMs, cpuRatio,
 * agreementAri, runs, loadAverage }. ratio = kilnMs / sklearnMs (below 1: Kiln is faster); cpuRatio is the same for
 * CPU time (all threads of each process), which shifts less than wall time when other work shares the machine.
 * agreementAri compares the two labelings (of the last run).
 *
 *   npm run bench:clustering                          # every case (tens of minutes on 2 cores)
 *   npm run bench:clustering -- --quick               # the same cases at 1/20 the size
 *   npm run bench:clustering -- --only dbscan --runs 3
 *   npm run bench:clustering -- --only kmeans --out bench/results/clustering-DATE.json
 *
 * With --out, the rows and a description of the machine (cores, load average before and after, Node, Python, NumPy,
 * scikit-learn and their thread pools) are written there as one JSON document. scikit-learn runs from a venv outside
 * the repo (KILN_SKLEARN_PYTHON, else ~/.cache/kiln/sklearn-venv, created on first use from PyPI), without
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some hosts set for old OpenBLAS builds and which slow a current NumPy.
 */
interface Case {
  algorithm: ClusteringAlgorithm;
  n: number;
  d: number;
  centers: number;
  spread: number;
  kiln: Record<string, unknown>;
  sklearn: Record<string, unknown>;
  /** Fixed initial centroids: the first k rows (same start on both sides). */
  fixedInit?: number;
}

const FULL_CASES: Case[] = [
  {
    algorithm: 'kmeans',
    n: 1_000_000,
    d: 32,
    centers: 64,
    spread: 1,
    fixedInit: 64,
    kiln: { k: 64, maxIterations: 20, tolerance: 0 },
    sklearn: { k: 64, maxIterations: 20, tolerance: 0 },
  },
  {
    algorithm: 'minibatch-kmeans',
    n: 5_000_000,
    d: 32,
    centers: 64,
    spread: 1,
    kiln: { k: 64, batchSize: 1024, maxIterations: 100 },
    sklearn: { k: 64, batchSize: 1024, maxIterations: 100 },
  },
  {
    algorithm: 'dbscan',
    n: 100_000,
    d: 2,
    centers: 10,
    spread: 1,
    kiln: { eps: 0.1, minPoints: 10 },
    sklearn: { eps: 0.1, minPoints: 10 },
  },
  {
    algorithm: 'dbscan',
    n: 100_000,
    d: 16,
    centers: 10,
    spread: 1,
    kiln: { eps: 3, minPoints: 10 },
    sklearn: { eps: 3, minPoints: 10 },
  },
  {
    algorithm: 'hierarchical',
    n: 20_000,
    d: 8,
    centers: 10,
    spread: 1,
    kiln: { k: 10, linkage: 'ward' },
    sklearn: { k: 10, linkage: 'ward' },
  },
  {
    algorithm: 'spectral',
    n: 20_000,
    d: 2,
    centers: 10,
    spread: 1,
    kiln: { k: 10, affinity: 'nearest-neighbors', nNeighbors: 10 },
    sklearn: { k: 10, affinity: 'nearest-neighbors', nNeighbors: 10 },
  },
  {
    // scikit-learn's rbf affinity is a dense n×n matrix (20,000 points: ~13 GB); 10,000 keeps the baseline in memory.
    algorithm: 'spectral',
    n: 10_000,
    d: 2,
    centers: 10,
    spread: 1,
    kiln: { k: 10, affinity: 'rbf', gamma: 1 },
    sklearn: { k: 10, affinity: 'rbf', gamma: 1 },
  },
  {
    // No SOM in scikit-learn: MiniSom (NumPy) is the baseline, 10 passes over the data on both sides.
    algorithm: 'som',
    n: 200_000,
    d: 8,
    centers: 10,
    spread: 1,
    kiln: { rows: 20, cols: 20, iterations: 10, learningRate: 0.5, sigma: 10 },
    sklearn: { rows: 20, cols: 20, iterations: 10, learningRate: 0.5, sigma: 10 },
  },
  {
    algorithm: 'gmm',
    n: 100_000,
    d: 8,
    centers: 8,
    spread: 1,
    kiln: { k: 8, covarianceType: 'full' },
    sklearn: { k: 8, covarianceType: 'full' },
  },
];

function firstRows(points: Float32Array, rows: number, d: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from(points.subarray(r * d, (r + 1) * d)));
}

async function runCase(c: Case, python: string, backend: string, runs: number): Promise<Record<string, unknown>> {
  const points = blobs(c, 7);
  const init = c.fixedInit ? { init: firstRows(points, c.fixedInit, c.d) } : {};
  const dataFile = path.join(os.tmpdir(), `kiln-bench-${process.pid}.f32`);
  fs.writeFileSync(dataFile, Buffer.from(points.buffer, points.byteOffset, points.byteLength));
  const loadBefore = os.loadavg();
  const kiln: { ms: number; cpuMs: number }[] = [];
  const sklearn: { ms: number; cpuMs: number }[] = [];
  try {
    let output: Awaited<ReturnType<(typeof CLUSTERING_RUNNERS)[ClusteringAlgorithm]>> | undefined;
    let labels: number[] | undefined;
    for (let run = 0; run < runs; run++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      output = await CLUSTERING_RUNNERS[c.algorithm](points, c.n, c.d, { ...c.kiln, ...init } as never);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      kiln.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
      const wantLabels = c.n <= 2_000_000 && run === runs - 1;
      const spec = { algorithm: c.algorithm, n: c.n, d: c.d, dataFile, params: { ...c.sklearn, ...init }, wantLabels };
      const out = JSON.parse(
        execFileSync(python, [SKLEARN_CASE, JSON.stringify(spec)], {
          encoding: 'utf8',
          maxBuffer: 1 << 30,
          env: sklearnEnv(),
        }),
      ) as { ms: number; cpuMs: number; labels?: number[] };
      sklearn.push({ ms: out.ms, cpuMs: out.cpuMs });
      labels = out.labels ?? labels;
    }
    const kilnMs = median(kiln.map((r) => r.ms));
    const sklearnMs = median(sklearn.map((r) => r.ms));
    const kilnCpuMs = median(kiln.map((r) => r.cpuMs));
    const sklearnCpuMs = median(sklearn.map((r) => r.cpuMs));
    return {
      algorithm: c.algorithm,
      n: c.n,
      d: c.d,
      k: (c.kiln.k as number | undefined) ?? output!.clusters,
      params: c.kiln,
      backend,
      ...(output!.method ? { method: output!.method } : {}),
      ...(output!.extras.algorithm ? { kmeansAlgorithm: output!.extras.algorithm } : {}),
      ...(output!.extras.scoredFraction !== undefined ? { scoredFraction: output!.extras.scoredFraction } : {}),
      baseline: c.algorithm === 'som' ? 'MiniSom' : 'scikit-learn',
      runs,
      kilnMs: Math.round(kilnMs),
      sklearnMs: Math.round(sklearnMs),
      ratio: Number((kilnMs / sklearnMs).toFixed(2)),
      kilnCpuMs: Math.round(kilnCpuMs),
      sklearnCpuMs: Math.round(sklearnCpuMs),
      cpuRatio: Number((kilnCpuMs / sklearnCpuMs).toFixed(2)),
      kilnMsEach: kiln.map((r) => Math.round(r.ms)),
      sklearnMsEach: sklearn.map((r) => Math.round(r.ms)),
      ...(labels ? { agreementAri: Number(adjustedRandIndex(output!.labels, labels).toFixed(4)) } : {}),
      loadAverage: { before: loadBefore.map(round2), after: os.loadavg().map(round2) },
    };
  } finally {
    fs.rmSync(dataFile, { force: true });
  }
}

async function run(): Promise<void> {
  applyComputeConfig(loadConfig(process.env).compute);
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5;
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const python = sklearnPython();
  const backend = (await initComputeBackend()).name;
  // --only names an algorithm, or an algorithm and its affinity (spectral/nearest-neighbors).
  const named = (c: Case): boolean =>
    !only || c.algorithm === only || `${c.algorithm}/${String(c.kiln.affinity ?? '')}` === only;
  const cases = FULL_CASES.filter(named).map((c) => (quick ? { ...c, n: Math.max(2_000, Math.floor(c.n / 20)) } : c));
  const started = new Date().toISOString();
  const loadBefore = os.loadavg().map(round2);
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    const row = await runCase(c, python, backend, runs);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  if (out) {
    const doc = {
      benchmark: 'bench/clustering/run.ts',
      started,
      finished: new Date().toISOString(),
      machine: { ...machine(python, backend), loadAverage: { before: loadBefore, after: os.loadavg().map(round2) } },
      note:
        'Shared 2-core machine: other engineers ran builds, tests and benchmarks at the same time (see loadAverage). ' +
        'Kiln and scikit-learn alternate within each case, so both see similar load; cpuRatio shifts less than ratio.',
      cases: rows,
    };
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
