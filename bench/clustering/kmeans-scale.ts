import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { initComputeBackend } from '../../ml/backend';
import { kmeans } from '../../ml/clustering/kmeans/kmeans';
import { applyComputeConfig } from '../../ml/compute-config';
import { SKLEARN_CASE, blobs, machine, round2, sklearnEnv, sklearnPython } from './shared';

/**
 * k-means at scale, once: n×32 points (default 10,000,000: 1.28 GB of float32), 64 clusters, 20 iterations, default
 * k-means++ initialisation, in this process (the worker pool included, as a job's activity runs it), then
 * scikit-learn's KMeans on the same data. Prints one JSON object: times, CPU times, and peak resident memory of each
 * process (Kiln's from process.resourceUsage(), all threads; the input array itself is 1.28 GB of it).
 *
 *   npm run build:test && node dist/bench/clustering/kmeans-scale.js [--n 10000000] [--no-sklearn] [--out FILE]
 *
 * --out adds the row to a results file from bench/clustering/run.ts --out (as `kmeansScale`), or writes one.
 * For an outside view of Kiln's peak memory, run it under /usr/bin/time -v (Maximum resident set size).
 */
async function main(): Promise<void> {
  applyComputeConfig(loadConfig(process.env).compute);
  const args = process.argv.slice(2);
  const n = args.includes('--n') ? Number(args[args.indexOf('--n') + 1]) : 10_000_000;
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const withSklearn = !args.includes('--no-sklearn');
  const d = 32;
  const k = 64;
  const params = { k, maxIterations: 20, tolerance: 0, seed: 0 };
  const backend = (await initComputeBackend()).name;
  const points = blobs({ n, d, centers: 64, spread: 1 }, 7);
  const rssBeforeMb = process.memoryUsage().rss / 2 ** 20;
  const loadBefore = os.loadavg().map(round2);

  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await kmeans(points, n, d, params);
  const kilnMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const kiln = {
    ms: Math.round(kilnMs),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    // maxRSS: the peak over the whole process so far (kilobytes), the generated input included.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    rssBeforeRunMb: Math.round(rssBeforeMb),
    inputMb: Math.round(points.byteLength / 2 ** 20),
    algorithm: r.algorithm,
    scoredFraction: round2(r.scoredFraction),
    threads: r.threads,
    iterations: r.iterations,
    inertia: r.inertia,
  };

  let sklearn: Record<string, number> | undefined;
  if (withSklearn) {
    const python = sklearnPython();
    const dataFile = path.join(os.tmpdir(), `kiln-bench-scale-${process.pid}.f32`);
    fs.writeFileSync(dataFile, Buffer.from(points.buffer, points.byteOffset, points.byteLength));
    try {
      const spec = { algorithm: 'kmeans', n, d, dataFile, params: { ...params, init: 'k-means++' }, wantLabels: false };
      const res = JSON.parse(
        execFileSync(python, [SKLEARN_CASE, JSON.stringify(spec)], { encoding: 'utf8', env: sklearnEnv() }),
      ) as { ms: number; cpuMs: number; peakRssMb: number; inertia?: number };
      sklearn = { ms: Math.round(res.ms), cpuMs: Math.round(res.cpuMs), peakRssMb: Math.round(res.peakRssMb) };
    } finally {
      fs.rmSync(dataFile, { force: true });
    }
  }
  const row = {
    case: `kmeans ${n}x${d}, k ${k}, 20 iterations, k-means++`,
    backend,
    kiln,
    ...(sklearn ? { sklearn, ratio: round2(kiln.ms / sklearn.ms), cpuRatio: round2(kiln.cpuMs / sklearn.cpuMs) } : {}),
    loadAverage: { before: loadBefore, after: os.loadavg().map(round2) },
  };
  console.log(JSON.stringify(row));
  if (out) {
    // Into an existing results file (bench/clustering/run.ts --out) as its `kmeansScale`, or a file of its own.
    const doc = fs.existsSync(out)
      ? (JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>)
      : { machine: machine(sklearnPython(), backend) };
    doc.kmeansScale = { benchmark: 'bench/clustering/kmeans-scale.ts', ...row };
    fs.writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
