import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { repoRoot } from '../../common/paths';
import { KMEANS_PARALLEL } from '../../ml/clustering/kmeans/kmeans';
import { Random } from '../../ml/random';

/**
 * What the clustering benchmarks (run.ts, kmeans-scale.ts) share: the scikit-learn venv and the environment it runs in,
 * the generated blobs, medians, and the description of the machine that goes into a results file.
 */

/** The Python side of every case (sklearn_case.py). */
export const SKLEARN_CASE = path.join(repoRoot, 'bench', 'clustering', 'sklearn_case.py');

/** n points in d dimensions around `centers` uniform centres in [−10, 10)^d, Gaussian spread, seeded. */
export function blobs(c: { n: number; d: number; centers: number; spread: number }, seed: number): Float32Array {
  const rng = new Random(seed);
  const centers = Array.from({ length: c.centers * c.d }, () => (rng.nextFloat() - 0.5) * 20);
  const points = new Float32Array(c.n * c.d);
  for (let i = 0; i < c.n; i++) {
    const center = rng.nextInt(c.centers);
    for (let j = 0; j < c.d; j++) points[i * c.d + j] = centers[center * c.d + j] + c.spread * rng.nextGaussian();
  }
  return points;
}

/** scikit-learn's Python: KILN_SKLEARN_PYTHON, else ~/.cache/kiln/sklearn-venv, created on first use from PyPI. */
export function sklearnPython(): string {
  if (process.env.KILN_SKLEARN_PYTHON) return process.env.KILN_SKLEARN_PYTHON;
  const venv = path.join(loadConfig(process.env).launcher.cacheDir, 'sklearn-venv');
  const python = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(python)) {
    console.error(`[bench] creating ${venv} with scikit-learn and MiniSom (once)`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', 'scikit-learn', 'numpy', 'minisom'], { stdio: 'inherit' });
  }
  return python;
}

/**
 * The environment scikit-learn runs in: this one without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which some hosts set
 * for old OpenBLAS builds and which slow a current NumPy (the kernel it then runs is in machine().python.threadpools).
 */
export function sklearnEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** v to 2 decimals. */
export const round2 = (v: number): number => Number(v.toFixed(2));

/** What the figures were measured on, for the results file. */
export function machine(python: string, backend: string): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: round2(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    backend,
    kmeansThreads: KMEANS_PARALLEL.threads ?? os.availableParallelism(),
    openblasOverridesUnset: ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'].filter((v) => process.env[v] !== undefined),
    python: JSON.parse(
      execFileSync(python, [SKLEARN_CASE, '--info'], {
        encoding: 'utf8',
        env: sklearnEnv(),
      }),
    ) as unknown,
  };
}
