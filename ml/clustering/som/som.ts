/**
 * Self-organising map (Kohonen) on a rows×cols rectangular grid, trained as a mini-batch approximation of the online
 * SOM, with TensorFlow.js doing the distance work.
 *
 * Training: `iterations` epochs; each epoch visits every point once, in a fresh seeded random order, in batches of
 * `batchSize` rows. For a batch, every point's best-matching unit (BMU) is found against the current codebook, and
 * per unit j the sum S_j and count n_j of the points it won are collected on the host. Then each unit i then gets the neighbourhood-weighted batch mean W*_i = Σ_j h_ij S_j / H_i with H_i = Σ_j h_ij n_j
 * and the Gaussian neighbourhood h_ij = exp(−‖grid_i − grid_j‖² / 2σ²), and moves towards it:
 *     W_i ← W_i + β_i (W*_i − W_i),   β_i = 1 − (1 − α)^{H_i}.
 * β_i is the share that H_i sequential online updates W_i ← W_i + α h (x − W_i) would give the batch as a whole, so
 * the learning rate α means what it means for the online SOM (MiniSom's learning_rate), results depend little on the
 * batch size, and where a unit's neighbourhood won many points (β → 1) the step becomes Kohonen's batch map.
 *
 * Decay: both α and σ decay EXPONENTIALLY (geometrically) per batch step, from learningRate to learningRateEnd
 * (default learningRate / 100) and from sigma (default max(rows, cols) / 2) to sigmaEnd (default min(sigma, 1)),
 * reaching the end values on the last step.
 *
 * Init: the codebook starts as distinct random data rows (seeded). Results are deterministic for a seed and backend.
 *
 * Magnitude: inputs whose largest |coordinate| is far from 1 are divided by a power of two first (../scale.ts); the
 * codebook and quantization errors are scaled back, so float32 squares neither overflow nor underflow.
 *
 * Scale: the data stays on the host; a step uploads one batch and builds a batchSize × units score matrix (≤
 * MAX_DISTANCE_CELLS_PER_BLOCK cells; batches are shrunk to fit), the final assignment is blocked the same way, and the
 * neighbourhood smoothing is separable (O(units·(rows+cols)·d) per step). Memory is O(batchSize·units) on the device.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../backend';
import { Random } from '../../random';
import {
  blockRowsFor,
  centreScoreMatrix,
  featureMean,
  nearestCentres,
  throwIfAborted,
  validatePoints,
} from '../predict';
import { ClusteringHooks, ClusteringOutput } from '../types';
import { magnitudeScale, scaledPoints } from '../scale';

export interface SomParams {
  rows: number;
  cols: number;
  /** Epochs (passes over all points). */
  iterations?: number;
  /** Initial learning rate α of the online rule, in (0, 1]. */
  learningRate?: number;
  /** Initial neighbourhood radius σ in grid units (Gaussian); default max(rows, cols) / 2. */
  sigma?: number;
  seed?: number;
  /** Points per batch step (capped at n and at MAX_DISTANCE_CELLS_PER_BLOCK / units). */
  batchSize?: number;
  /** Learning rate reached on the last step; default learningRate / 100. */
  learningRateEnd?: number;
  /** Radius reached on the last step; default min(sigma, 1): one grid step, the usual final radius that keeps neighbouring units close (topographic error low); a smaller end radius trades topology for quantization error. */
  sigmaEnd?: number;
}

export const SOM_DEFAULTS = { iterations: 10, learningRate: 0.5, seed: 0, batchSize: 4096 } as const;

/** Most grid units (rows × cols): the codebook is returned inline and every step smooths units × d values. */
export const SOM_MAX_UNITS = 10_000;

/** extras.cells ([row, col] per point) is only returned for n ≤ this; labels (row*cols + col) always are. */
export const SOM_MAX_INLINE_CELLS = 100_000;

export interface SomProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  learningRate: number;
  sigma: number;
  /** Mean distance of the epoch's points to their BMU at the time they were seen. */
  epochQuantizationError: number;
}

export interface SomResult {
  /** BMU of each point as row*cols + col. */
  labels: Int32Array;
  rows: number;
  cols: number;
  /** rows × cols × d. */
  codebook: number[][][];
  /** Points per cell, rows × cols. */
  hits: number[][];
  /** Mean euclidean distance of a point to its BMU (MiniSom's quantization_error). */
  quantizationError: number;
  /** Share of points whose two best units are not grid neighbours (8-neighbourhood, as MiniSom); absent for a 1×1 map. */
  topographicError?: number;
  iterations: number;
  steps: number;
}

export interface SomHooks {
  onProgress?(p: SomProgress): void | Promise<void>;
  signal?: AbortSignal;
}

const WHAT = 'SOM training';

interface Resolved {
  rows: number;
  cols: number;
  iterations: number;
  lr0: number;
  lr1: number;
  sigma0: number;
  sigma1: number;
  seed: number;
  batchSize: number;
}

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function positiveNumber(name: string, v: unknown, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
    throw new RangeError(`${name} must be a number in (0, ${max === Infinity ? '∞' : max}], got ${String(v)}`);
  }
  return v;
}

function resolveParams(n: number, params: SomParams): Resolved {
  if (params === null || typeof params !== 'object')
    throw new RangeError('params must be an object with rows and cols');
  const rows = positiveInteger('rows', params.rows);
  const cols = positiveInteger('cols', params.cols);
  if (rows * cols > SOM_MAX_UNITS)
    throw new RangeError(`rows × cols must be at most ${SOM_MAX_UNITS} units, got ${rows}×${cols}`);
  const iterations = positiveInteger('iterations', params.iterations ?? SOM_DEFAULTS.iterations);
  const lr0 = positiveNumber('learningRate', params.learningRate ?? SOM_DEFAULTS.learningRate, 1);
  const lr1 = positiveNumber('learningRateEnd', params.learningRateEnd ?? lr0 / 100, 1);
  const sigma0 = positiveNumber('sigma', params.sigma ?? Math.max(rows, cols) / 2);
  const sigma1 = positiveNumber('sigmaEnd', params.sigmaEnd ?? Math.min(sigma0, 1));
  const seed = params.seed ?? SOM_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const batchSize = Math.min(
    n,
    blockRowsFor(rows * cols),
    positiveInteger('batchSize', params.batchSize ?? SOM_DEFAULTS.batchSize),
  );
  return { rows, cols, iterations, lr0, lr1, sigma0, sigma1, seed, batchSize };
}

/**
 * Trains a rows×cols SOM on n row-major d-dimensional points. Invalid arguments reject with a RangeError naming the
 * parameter; an aborted signal rejects with an Error named 'AbortError'. No tensors outlive the call.
 */
export async function som(
  points: Float32Array,
  n: number,
  d: number,
  params: SomParams,
  hooks: SomHooks = {},
): Promise<SomResult> {
  validatePoints(points, n, d);
  const p = resolveParams(n, params);
  const scale = magnitudeScale(points);
  if (scale !== 1) {
    // The same run on points / scale (exact), lengths scaled back: see ../scale.ts.
    const r = await som(scaledPoints(points, scale), n, d, params, {
      signal: hooks.signal,
      onProgress: (pr) => hooks.onProgress?.({ ...pr, epochQuantizationError: pr.epochQuantizationError * scale }),
    });
    return {
      ...r,
      codebook: r.codebook.map((row) => row.map((unit) => unit.map((v) => v * scale))),
      quantizationError: r.quantizationError * scale,
    };
  }
  throwIfAborted(hooks.signal, WHAT);
  await initComputeBackend();
  const { rows, cols, batchSize: B } = p;
  const U = rows * cols;
  const rng = new Random(p.seed);
  const shift = featureMean(points, n, d);

  // Codebook in shifted coordinates, float64, unit u = r*cols + c.
  const W = new Float64Array(U * d);
  const initRows = n >= U ? rng.sampleDistinct(n, U) : Array.from({ length: U }, () => rng.nextInt(n));
  initRows.forEach((i, u) => {
    for (let j = 0; j < d; j++) W[u * d + j] = points[i * d + j] - shift[j];
  });

  const stepsPerEpoch = Math.ceil(n / B);
  const totalSteps = stepsPerEpoch * p.iterations;
  // Geometric from start (first step) to end (last step); a single step uses the start values.
  const decay = (start: number, end: number, step: number): number =>
    start * Math.pow(end / start, totalSteps > 1 ? step / (totalSteps - 1) : 0);
  const zero = new Float64Array(d); // the codebook is already shifted
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const buf = new Float32Array(B * (d + 1));
  const sums = new Float64Array(U * (d + 1));
  const norms = new Float64Array(B);
  const smoother = new GridSmoother(rows, cols, d);
  let step = 0;

  for (let epoch = 0; epoch < p.iterations; epoch++) {
    // A fresh seeded permutation per epoch (Fisher–Yates).
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    let epochDistance = 0;
    for (let start = 0; start < n; start += B) {
      throwIfAborted(hooks.signal, WHAT);
      const m = Math.min(B, n - start);
      for (let r = 0; r < m; r++) {
        const i = order[start + r];
        let norm = 0;
        for (let j = 0; j < d; j++) {
          const v = Math.fround(points[i * d + j] - shift[j]);
          buf[r * (d + 1) + j] = v;
          norm += v * v;
        }
        buf[r * (d + 1) + d] = 1;
        norms[r] = norm;
      }
      const scoreT = centreScoreMatrix(W, U, d, zero);
      const [bmuT, minT] = tf.tidy(() => {
        const s = tf.matMul(tf.tensor2d(buf.subarray(0, m * (d + 1)), [m, d + 1]), scoreT);
        return [tf.argMin(s, 1), tf.min(s, 1)];
      });
      scoreT.dispose();
      const [bmus, mins] = await Promise.all([bmuT.data(), minT.data()]).finally(() => tf.dispose([bmuT, minT]));
      // Per-unit sums and counts on the host: O(batch·d), far cheaper than a one-hot matMul on the device.
      sums.fill(0);
      for (let r = 0; r < m; r++) {
        epochDistance += Math.sqrt(Math.max(0, norms[r] + mins[r]));
        const base = bmus[r] * (d + 1);
        for (let j = 0; j <= d; j++) sums[base + j] += buf[r * (d + 1) + j];
      }

      const alpha = decay(p.lr0, p.lr1, step);
      const sigma = decay(p.sigma0, p.sigma1, step);
      smoother.update(W, sums, alpha, sigma);
      step++;
    }
    await hooks.onProgress?.({
      epoch: epoch + 1,
      epochs: p.iterations,
      step,
      steps: totalSteps,
      learningRate: decay(p.lr0, p.lr1, step - 1),
      sigma: decay(p.sigma0, p.sigma1, step - 1),
      epochQuantizationError: epochDistance / n,
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throwIfAborted(hooks.signal, WHAT);

  const codebookFlat = new Float64Array(U * d);
  for (let u = 0; u < U; u++) for (let j = 0; j < d; j++) codebookFlat[u * d + j] = W[u * d + j] + shift[j];
  const final = await nearestCentres(points, n, d, codebookFlat, U, {
    shift,
    secondBest: U >= 2,
    distances: true,
    signal: hooks.signal,
    what: WHAT,
  });
  const hits = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  for (let i = 0; i < n; i++) hits[Math.floor(final.labels[i] / cols)][final.labels[i] % cols]++;
  let topographicError: number | undefined;
  if (final.second) {
    let errors = 0;
    for (let i = 0; i < n; i++) {
      const a = final.labels[i];
      const b = final.second[i];
      const dr = Math.abs(Math.floor(a / cols) - Math.floor(b / cols));
      const dc = Math.abs((a % cols) - (b % cols));
      if (dr > 1 || dc > 1) errors++;
    }
    topographicError = errors / n;
  }
  const codebook = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) =>
      Array.from(codebookFlat.subarray((r * cols + c) * d, (r * cols + c + 1) * d)),
    ),
  );
  return {
    labels: final.labels,
    rows,
    cols,
    codebook,
    hits,
    quantizationError: final.sumDistance / n,
    ...(topographicError !== undefined ? { topographicError } : {}),
    iterations: p.iterations,
    steps: totalSteps,
  };
}

/**
 * The host half of a step: Gaussian neighbourhood smoothing of the per-unit sums and counts, separable on the grid
 * (first along each row of the grid, then along each column), then the β-weighted move of every unit.
 */
class GridSmoother {
  private readonly tmp: Float64Array;
  private readonly smoothed: Float64Array;

  constructor(
    private readonly rows: number,
    private readonly cols: number,
    private readonly d: number,
  ) {
    this.tmp = new Float64Array(rows * cols * (d + 1));
    this.smoothed = new Float64Array(rows * cols * (d + 1));
  }

  /** sums: per unit u, sums[u*(d+1) .. +d) are the coordinate sums of the points it won and sums[u*(d+1)+d] their count. */
  update(W: Float64Array, sums: Float64Array, alpha: number, sigma: number): void {
    const { rows, cols, d, tmp, smoothed } = this;
    const D = d + 1;
    const g = (delta: number): number => Math.exp(-(delta * delta) / (2 * sigma * sigma));
    const gc = Float64Array.from({ length: cols }, (_, i) => g(i));
    const gr = Float64Array.from({ length: rows }, (_, i) => g(i));
    // Along grid columns: tmp[r, c, :] = Σ_c' g(c − c') X[r, c', :], skipping units that won no point.
    tmp.fill(0);
    for (let r = 0; r < rows; r++) {
      for (let c2 = 0; c2 < cols; c2++) {
        const u2 = r * cols + c2;
        if (sums[u2 * D + d] === 0) continue;
        for (let c = 0; c < cols; c++) {
          const w = gc[Math.abs(c - c2)];
          const base = (r * cols + c) * D;
          for (let j = 0; j < D; j++) tmp[base + j] += w * sums[u2 * D + j];
        }
      }
    }
    // Along grid rows.
    smoothed.fill(0);
    for (let r2 = 0; r2 < rows; r2++) {
      for (let r = 0; r < rows; r++) {
        const w = gr[Math.abs(r - r2)];
        for (let c = 0; c < cols; c++) {
          const src = (r2 * cols + c) * D;
          const dst = (r * cols + c) * D;
          for (let j = 0; j < D; j++) smoothed[dst + j] += w * tmp[src + j];
        }
      }
    }
    const keep = Math.log1p(-Math.min(alpha, 1 - 1e-16));
    for (let u = 0; u < rows * cols; u++) {
      const H = smoothed[u * D + d];
      if (!(H > 0)) continue;
      // β = 1 − (1 − α)^H, computed as −expm1(H·log(1 − α)); α = 1 gives β = 1 (the batch map).
      const beta = alpha >= 1 ? 1 : -Math.expm1(H * keep);
      for (let j = 0; j < d; j++) {
        const target = smoothed[u * D + j] / H;
        W[u * d + j] += beta * (target - W[u * d + j]);
      }
    }
  }
}

/** SOM as a ClusteringOutput: labels are BMU cells (row*cols + col). */
export async function runSom(
  points: Float32Array,
  n: number,
  d: number,
  params: SomParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await som(points, n, d, params, { signal: hooks.signal, onProgress: (p) => hooks.onProgress?.({ ...p }) });
  const cells =
    n <= SOM_MAX_INLINE_CELLS
      ? Array.from(r.labels, (l): [number, number] => [Math.floor(l / r.cols), l % r.cols])
      : undefined;
  return {
    labels: r.labels,
    clusters: r.hits.reduce((s, row) => s + row.filter((h) => h > 0).length, 0),
    iterations: r.iterations,
    method: `mini-batch online SOM, ${r.steps} steps, exponential decay`,
    extras: {
      rows: r.rows,
      cols: r.cols,
      codebook: r.codebook,
      hits: r.hits,
      quantizationError: r.quantizationError,
      ...(r.topographicError !== undefined ? { topographicError: r.topographicError } : {}),
      ...(cells ? { cells } : {}),
    },
    model: { flavor: 'som', rows: r.rows, cols: r.cols, codebook: r.codebook },
    centres: r.codebook.flat(),
  };
}
