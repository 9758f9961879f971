/**
 * k-means (Lloyd's algorithm with greedy k-means++ seeding) as TensorFlow.js tensor programs, following
 * scikit-learn's KMeans(algorithm='lloyd', n_init=1) closely so results and parameters mean the same thing there.
 *
 * Layout: the data is centred on the host (float32 distances via ‖x‖² − 2x·c + ‖c‖² lose precision far from the
 * origin; scikit-learn centres for the same reason), then uploaded once as row blocks. The heavy per-iteration work
 * (distances, argmin, per-cluster sums) runs on the device one block at a time, so no distance matrix ever exceeds
 * MAX_DISTANCE_CELLS_PER_BLOCK cells; only k×d sums come back to the host, where the tiny M-step runs in float64.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from './backend';
import { Random, cumulativeSum, sampleWeighted } from './random';

export interface KMeansParams {
  k: number;
  maxIterations?: number;
  tolerance?: number;
  seed?: number;
  /** 'k-means++', 'random', or explicit initial centroids (k rows of d numbers), as scikit-learn's init=ndarray. */
  init?: 'k-means++' | 'random' | number[][];
}
export const KMEANS_DEFAULTS = { maxIterations: 300, tolerance: 1e-4, seed: 0, init: 'k-means++' } as const;
export interface KMeansProgress {
  iteration: number;
  maxIterations: number;
  /** Inertia of this iteration's assignment step, i.e. against the centroids it started from. */
  inertia: number;
  /** Sum over centroids of the squared distance each moved in this iteration. */
  shift: number;
}
export interface KMeansResult {
  labels: Int32Array;
  centroids: number[][];
  inertia: number;
  iterations: number;
  converged: boolean;
  clusterSizes: number[];
}
export interface KMeansHooks {
  onIteration?(p: KMeansProgress): void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Most cells (rows × centroids) of a distance matrix materialised at once: 2^22 float32 = 16 MiB. A block step holds
 * about three matrices of that size (scores, the int32 one-hot and its float32 cast), so peak device memory per step
 * stays near 50 MiB on top of the data itself, whatever n is.
 */
export const MAX_DISTANCE_CELLS_PER_BLOCK = 1 << 22;

const INIT_METHODS = ['k-means++', 'random'] as const;

/**
 * Clusters n row-major d-dimensional points into k clusters. Deterministic for a given seed and backend.
 * Stops when the summed squared centroid shift of an iteration is ≤ tolerance × (mean per-feature variance), with
 * converged = true, or after maxIterations with converged = false. Invalid arguments reject with a RangeError naming
 * the parameter; an aborted hooks.signal rejects with an Error named 'AbortError'. All tensors are released either way.
 */
export async function kmeans(
  points: Float32Array,
  n: number,
  d: number,
  params: KMeansParams,
  hooks: KMeansHooks = {},
): Promise<KMeansResult> {
  const p = resolveParams(points, n, d, params);
  const { mean, meanVariance } = featureStats(points, n, d);
  throwIfAborted(hooks.signal);
  await initComputeBackend();

  // Same rule as scikit-learn's _tolerance: relative to the data's spread, so it is scale-free.
  const absTolerance = p.tolerance * meanVariance;
  const rng = new Random(p.seed);
  const localTrials = 2 + Math.floor(Math.log(p.k));
  const blockRows = Math.max(1, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / Math.max(p.k, localTrials)));
  const data = new CentredData(points, n, d, mean);
  const blocks = uploadBlocks(data, blockRows);
  try {
    let centroids = Array.isArray(p.init)
      ? initGiven(p.init, mean, d)
      : p.init === 'random'
        ? initRandom(data, p.k, rng)
        : await initKMeansPlusPlus(data, blocks, p.k, localTrials, rng, hooks.signal);

    let iterations = 0;
    let converged = false;
    while (iterations < p.maxIterations) {
      throwIfAborted(hooks.signal);
      const step = await assignAndSum(data, blocks, centroids, p.k, d);
      const empty = emptyClusters(step.counts);
      if (empty.length > 0) await relocateEmptyClusters(data, blocks, centroids, p.k, empty, step);
      const next = updateCentroids(step, centroids, p.k, d);
      const shift = squaredDistanceSum(next, centroids);
      centroids = next;
      iterations++;
      await hooks.onIteration?.({ iteration: iterations, maxIterations: p.maxIterations, inertia: step.inertia, shift });
      // Unchanged labels give bit-identical centroids, so shift is exactly 0 then and this also holds for tolerance 0.
      if (shift <= absTolerance) {
        converged = true;
        break;
      }
      // Let timers and I/O (heartbeats, an abort from a setTimeout) run between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throwIfAborted(hooks.signal);

    // Labels and inertia always come from one final assignment against the returned centroids, so the three agree.
    const { labels, inertia } = await finalAssignment(blocks, centroids, p.k, d, n);
    const clusterSizes = new Array<number>(p.k).fill(0);
    for (let i = 0; i < n; i++) clusterSizes[labels[i]]++;
    return { labels, centroids: uncentre(centroids, mean, p.k, d), inertia, iterations, converged, clusterSizes };
  } finally {
    disposeBlocks(blocks);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

interface ResolvedParams {
  k: number;
  maxIterations: number;
  tolerance: number;
  seed: number;
  init: 'k-means++' | 'random' | number[][];
}

function resolveParams(points: Float32Array, n: number, d: number, params: KMeansParams): ResolvedParams {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n (number of points) must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(d) || d < 1) throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d) {
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  }
  if (params === null || typeof params !== 'object') throw new RangeError('params must be an object with at least k');
  const { k } = params;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k must be an integer between 1 and n = ${n}, got ${k}`);
  const maxIterations = params.maxIterations ?? KMEANS_DEFAULTS.maxIterations;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`maxIterations must be a positive integer, got ${maxIterations}`);
  }
  const tolerance = params.tolerance ?? KMEANS_DEFAULTS.tolerance;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const seed = params.seed ?? KMEANS_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const init = params.init ?? KMEANS_DEFAULTS.init;
  if (Array.isArray(init)) {
    if (init.length !== k || init.some((row) => !Array.isArray(row) || row.length !== d || row.some((v) => !Number.isFinite(v)))) {
      throw new RangeError(`init as centroids must be k = ${k} rows of d = ${d} finite numbers`);
    }
  } else if (!(INIT_METHODS as readonly string[]).includes(init)) {
    throw new RangeError(`init must be one of ${INIT_METHODS.join(', ')} or k×d centroids, got ${JSON.stringify(init)}`);
  }
  return { k, maxIterations, tolerance, seed, init };
}

/** Per-feature mean and the mean per-feature (population) variance, in float64; also rejects NaN/Infinity. */
function featureStats(points: Float32Array, n: number, d: number): { mean: Float64Array; meanVariance: number } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = points[i * d + j];
      if (!Number.isFinite(v)) throw new RangeError(`points must be finite; row ${i}, column ${j} is ${v}`);
      mean[j] += v;
    }
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const dv = points[i * d + j] - mean[j];
      variance += dv * dv;
    }
  }
  return { mean, meanVariance: variance / (n * d) };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const err = new Error('k-means was aborted', { cause: signal.reason });
    err.name = 'AbortError';
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Data on host and device

/** Host view of the centred data; centred rows are float32 exactly as uploaded, so a point's distance to itself is 0. */
class CentredData {
  constructor(
    readonly points: Float32Array,
    readonly n: number,
    readonly d: number,
    readonly mean: Float64Array,
  ) {}

  /** Writes centred row i, rounded to float32, into out[offset..offset+d). */
  copyRow(i: number, out: Float32Array | Float64Array, offset = 0): void {
    for (let j = 0; j < this.d; j++) out[offset + j] = Math.fround(this.points[i * this.d + j] - this.mean[j]);
  }
}

/**
 * Rows [start, start+rows) on the device as [x | 1], the same transposed, and ‖x‖² per row. The trailing 1 lets a
 * single matMul with [−2c | ‖c‖²] produce ‖c‖² − 2x·c, and lets a one-hot matMul produce per-cluster sums and counts
 * together. The transposed copy exists because the wasm backend's matMul is ~8× slower with transposeA/transposeB set
 * (and tf.transpose is as slow), so every product is arranged to need no transpose flag. The price is a second
 * device copy of the data (2·n·(d+1) floats in all), linear in n like the data itself.
 */
interface Block {
  start: number;
  rows: number;
  xAug: tf.Tensor2D;
  xAugT: tf.Tensor2D;
  norm: tf.Tensor1D;
}

function disposeBlocks(blocks: Block[]): void {
  for (const b of blocks) tf.dispose([b.xAug, b.xAugT, b.norm]);
}

function uploadBlocks(data: CentredData, blockRows: number): Block[] {
  const { n, d } = data;
  const blocks: Block[] = [];
  try {
    for (let start = 0; start < n; start += blockRows) {
      const rows = Math.min(blockRows, n - start);
      const buf = new Float32Array(rows * (d + 1));
      const bufT = new Float32Array(rows * (d + 1));
      for (let r = 0; r < rows; r++) {
        data.copyRow(start + r, buf, r * (d + 1));
        buf[r * (d + 1) + d] = 1;
        for (let j = 0; j <= d; j++) bufT[j * rows + r] = buf[r * (d + 1) + j];
      }
      const xAug = tf.tensor2d(buf, [rows, d + 1]);
      const xAugT = tf.tensor2d(bufT, [d + 1, rows]);
      // ‖x‖² = Σx² over the d real columns: the appended 1 adds exactly 1.
      const norm = tf.tidy(() => tf.sum(tf.square(xAug), 1).sub(1)) as tf.Tensor1D;
      blocks.push({ start, rows, xAug, xAugT, norm });
    }
  } catch (err) {
    disposeBlocks(blocks);
    throw err;
  }
  return blocks;
}

/**
 * Centroids (m×d, float64, centred) as the float32 matrix [−2c | ‖c‖²] (m×(d+1)), or its transpose ((d+1)×m),
 * which turns one matMul with a block into distance scores ‖c‖² − 2x·c.
 */
function scoreMatrix(c: Float64Array, m: number, d: number, layout: 'centroid-rows' | 'centroid-columns'): tf.Tensor2D {
  const buf = new Float32Array(m * (d + 1));
  const at = layout === 'centroid-rows' ? (i: number, j: number) => i * (d + 1) + j : (i: number, j: number) => j * m + i;
  for (let i = 0; i < m; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.fround(c[i * d + j]);
      buf[at(i, j)] = -2 * v;
      norm += v * v;
    }
    buf[at(i, d)] = norm;
  }
  return layout === 'centroid-rows' ? tf.tensor2d(buf, [m, d + 1]) : tf.tensor2d(buf, [d + 1, m]);
}

/** ‖c‖² − 2x·c for every row x of the block and centroid c ([rows, k]); add ‖x‖² for the squared distance. */
function scores(block: Block, scoreMatT: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(block.xAug, scoreMatT);
}

// ---------------------------------------------------------------------------------------------------------------
// Initialisation

/** 'random': k distinct rows chosen uniformly. */
/** Explicit centroids, centred like the data. */
function initGiven(init: number[][], mean: Float64Array, d: number): Float64Array {
  const centroids = new Float64Array(init.length * d);
  init.forEach((row, c) => row.forEach((v, j) => (centroids[c * d + j] = v - mean[j])));
  return centroids;
}

function initRandom(data: CentredData, k: number, rng: Random): Float64Array {
  const centroids = new Float64Array(k * data.d);
  rng.sampleDistinct(data.n, k).forEach((row, c) => data.copyRow(row, centroids, c * data.d));
  return centroids;
}

/**
 * Greedy k-means++ as in scikit-learn's _kmeans_plusplus: the first centre is uniform; each next one is the best (by
 * resulting potential Σ min-distance²) of `localTrials` candidates drawn with probability ∝ distance² to the closest
 * centre so far. Distances stay on the device; only the n closest-distances come back per step, for sampling in
 * float64 on the host.
 */
async function initKMeansPlusPlus(
  data: CentredData,
  blocks: Block[],
  k: number,
  localTrials: number,
  rng: Random,
  signal: AbortSignal | undefined,
): Promise<Float64Array> {
  const { n, d } = data;
  const centroids = new Float64Array(k * d);
  const row = new Float32Array(d + 1);
  row[d] = 1;
  data.copyRow(rng.nextInt(n), centroids, 0);

  // closest[b]: squared distance of each row of block b to its nearest chosen centre, exact (no norm trick) so that
  // chosen points and their duplicates get weight exactly 0 and are never drawn again.
  let closest: tf.Tensor1D[] = [];
  const updateClosest = (c: number): void => {
    for (let j = 0; j < d; j++) row[j] = centroids[c * d + j];
    const prev = closest;
    closest = blocks.map((b, i) =>
      tf.tidy(() => {
        const dist = tf.sum(tf.squaredDifference(b.xAug, tf.tensor2d(row, [1, d + 1])), 1) as tf.Tensor1D;
        return c === 0 ? dist : tf.minimum(prev[i], dist);
      }),
    );
    tf.dispose(prev);
  };
  try {
    updateClosest(0);
    const candidates = new Float64Array(localTrials * d);
    for (let c = 1; c < k; c++) {
      throwIfAborted(signal); // seeding costs about as much as a few Lloyd iterations for large k
      const weights = await readConcat(closest, n);
      const cumulative = cumulativeSum(weights);
      const ids: number[] = [];
      for (let t = 0; t < localTrials; t++) {
        ids.push(sampleWeighted(cumulative, rng));
        data.copyRow(ids[t], candidates, t * d);
      }
      const potentials = await candidatePotentials(blocks, closest, cumulative[n - 1], candidates, localTrials, d);
      let best = 0;
      for (let t = 1; t < localTrials; t++) if (potentials[t] < potentials[best]) best = t;
      data.copyRow(ids[best], centroids, c * d);
      updateClosest(c);
    }
  } finally {
    tf.dispose(closest);
  }
  return centroids;
}

/**
 * Σ over all points of min(closest, distance² to candidate t), for each candidate t, computed as
 * Σclosest − Σrelu(closest − dist_t): the wasm backend's broadcasting `minimum` is ~30× slower than its broadcasting
 * `sub`. Candidates are laid out one per row ([t, rows]) so that the reduction runs along the innermost axis.
 */
async function candidatePotentials(
  blocks: Block[],
  closest: tf.Tensor1D[],
  totalClosest: number,
  candidates: Float64Array,
  count: number,
  d: number,
): Promise<Float64Array> {
  const gain = new Float64Array(count);
  const scoreMat = scoreMatrix(candidates, count, d, 'centroid-rows');
  try {
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      const partial = tf.tidy(() => {
        const dist = tf.relu(tf.matMul(scoreMat, b.xAugT).add(b.norm.expandDims(0)));
        return tf.sum(tf.relu(tf.sub(closest[i].expandDims(0), dist)), 1);
      });
      const values = await partial.data();
      partial.dispose();
      for (let t = 0; t < count; t++) gain[t] += values[t];
    }
  } finally {
    scoreMat.dispose();
  }
  return gain.map((g) => totalClosest - g);
}

async function readConcat(parts: tf.Tensor1D[], n: number): Promise<Float32Array> {
  const out = new Float32Array(n);
  let offset = 0;
  for (const part of parts) {
    const values = (await part.data()) as Float32Array;
    out.set(values, offset);
    offset += values.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Lloyd iteration

interface StepSums {
  /** k×d per-cluster sums of (centred) points, float64. */
  sums: Float64Array;
  counts: Float64Array;
  inertia: number;
}

/** Assignment step plus the sums the update step needs, block by block. */
async function assignAndSum(data: CentredData, blocks: Block[], centroids: Float64Array, k: number, d: number): Promise<StepSums> {
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const { points, mean } = data;
  let inertia = 0;
  const scoreMat = scoreMatrix(centroids, k, d, 'centroid-columns');
  try {
    for (const b of blocks) {
      const [assigned, blockDistances] = tf.tidy(() => {
        const s = scores(b, scoreMat);
        return [tf.argMin(s, 1), tf.relu(tf.min(s, 1).add(b.norm))];
      });
      const [labels, inert] = await Promise.all([assigned.data(), blockDistances.data()]);
      tf.dispose([assigned, blockDistances]);
      // Per-cluster sums on the host in float64: n·d additions cost far less than the one-hot matMul that would do
      // the same on the device (k·n·d multiply-adds, as much work again as the distances), and are more exact.
      for (let r = 0; r < b.rows; r++) {
        const c = labels[r];
        counts[c] += 1;
        const row = (b.start + r) * d;
        const out = c * d;
        for (let j = 0; j < d; j++) sums[out + j] += points[row + j];
      }
      inertia += sumFloat64(inert);
    }
  } finally {
    scoreMat.dispose();
  }
  // Sums of raw coordinates to sums of centred ones (the centroids live centred).
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) sums[c * d + j] -= counts[c] * mean[j];
  return { sums, counts, inertia };
}

function emptyClusters(counts: Float64Array): number[] {
  const empty: number[] = [];
  counts.forEach((count, c) => {
    if (count === 0) empty.push(c);
  });
  return empty;
}

/**
 * Empty clusters are handled as scikit-learn does (_relocate_empty_clusters): each takes one of the points farthest
 * from their assigned centroid, which is moved out of its old cluster's sums. This keeps all k clusters in use when
 * possible rather than leaving a dead centroid. A cluster still empty afterwards keeps its previous centroid.
 */
async function relocateEmptyClusters(
  data: CentredData,
  blocks: Block[],
  centroids: Float64Array,
  k: number,
  empty: number[],
  step: StepSums,
): Promise<void> {
  const { d } = data;
  const far = await farthestPoints(blocks, centroids, k, d, empty.length);
  const x = new Float64Array(d);
  empty.forEach((target, i) => {
    const point = far[i];
    if (!point) return;
    data.copyRow(point.index, x);
    for (let j = 0; j < d; j++) {
      step.sums[point.label * d + j] -= x[j];
      step.sums[target * d + j] = x[j];
    }
    step.counts[point.label] -= 1;
    step.counts[target] = 1;
  });
}

/** The m points farthest from their nearest centroid (ties: lower index first), with the cluster each is in. */
async function farthestPoints(
  blocks: Block[],
  centroids: Float64Array,
  k: number,
  d: number,
  m: number,
): Promise<{ index: number; label: number; dist: number }[]> {
  const found: { index: number; label: number; dist: number }[] = [];
  const scoreMat = scoreMatrix(centroids, k, d, 'centroid-columns');
  try {
    for (const b of blocks) {
      const [values, indices, labels] = tf.tidy(() => {
        const s = scores(b, scoreMat);
        const dist = tf.relu(tf.min(s, 1).add(b.norm));
        const top = tf.topk(dist, Math.min(m, b.rows));
        return [top.values, top.indices, tf.gather(tf.argMin(s, 1), top.indices)];
      });
      const [v, idx, lab] = await Promise.all([values.data(), indices.data(), labels.data()]);
      tf.dispose([values, indices, labels]);
      for (let i = 0; i < v.length; i++) found.push({ index: b.start + idx[i], label: lab[i], dist: v[i] });
    }
  } finally {
    scoreMat.dispose();
  }
  found.sort((a, b) => b.dist - a.dist || a.index - b.index);
  return found.slice(0, m);
}

/** Update step: centroid = mean of its points; a cluster with no points keeps its previous centroid. */
function updateCentroids(step: StepSums, previous: Float64Array, k: number, d: number): Float64Array {
  const next = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const count = step.counts[c];
    for (let j = 0; j < d; j++) {
      next[c * d + j] = count > 0 ? step.sums[c * d + j] / count : previous[c * d + j];
    }
  }
  return next;
}

function squaredDistanceSum(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/**
 * Labels against the final centroids, and inertia computed exactly as Σ‖x − c_label‖² (not via the norm expansion,
 * whose float32 cancellation would make a perfect fit report a small positive inertia).
 */
async function finalAssignment(
  blocks: Block[],
  centroids: Float64Array,
  k: number,
  d: number,
  n: number,
): Promise<{ labels: Int32Array; inertia: number }> {
  const labels = new Int32Array(n);
  let inertia = 0;
  const scoreMat = scoreMatrix(centroids, k, d, 'centroid-columns');
  // Rows [c | 1], so that subtracting from [x | 1] leaves [x − c | 0]; padded to the one-hot depth (≥ 2, see
  // assignAndSum) with a zero row that is never picked.
  const depth = Math.max(k, 2);
  const aug = new Float32Array(depth * (d + 1));
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) aug[c * (d + 1) + j] = centroids[c * d + j];
    aug[c * (d + 1) + d] = 1;
  }
  const centroidsAug = tf.tensor2d(aug, [depth, d + 1]);
  try {
    for (const b of blocks) {
      const [blockLabels, blockInertia] = tf.tidy(() => {
        const assigned = tf.argMin(scores(b, scoreMat), 1);
        // One-hot matMul rather than tf.gather, which is ~4× slower on wasm; picking by 1·c + 0·others is exact.
        const picked = tf.matMul(tf.oneHot(assigned, depth).cast('float32'), centroidsAug);
        const diff = tf.squaredDifference(b.xAug, picked);
        return [assigned, tf.sum(diff, 1)];
      });
      const [lab, inert] = await Promise.all([blockLabels.data(), blockInertia.data()]);
      tf.dispose([blockLabels, blockInertia]);
      labels.set(lab, b.start);
      inertia += sumFloat64(inert);
    }
  } finally {
    tf.dispose([scoreMat, centroidsAug]);
  }
  return { labels, inertia };
}

/**
 * Per-row distances are summed on the host in float64: a float32 device-side sum over ~10^5 rows drifts by ~1e-5
 * relative, visible when comparing inertia across runs or against scikit-learn.
 */
function sumFloat64(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}

function uncentre(centroids: Float64Array, mean: Float64Array, k: number, d: number): number[][] {
  return Array.from({ length: k }, (_, c) => Array.from({ length: d }, (_, j) => centroids[c * d + j] + mean[j]));
}
