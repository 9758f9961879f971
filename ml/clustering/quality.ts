/**
 * Quality of a clustering, with scikit-learn's definitions so that numbers can be compared with it:
 *   silhouette        silhouette_score (euclidean), on a seeded random sample of SILHOUETTE_SAMPLE_SIZE points when
 *                     there are more (scikit-learn's sample_size; silhouetteSampled says which happened);
 *   daviesBouldin     davies_bouldin_score;
 *   calinskiHarabasz  calinski_harabasz_score;
 *   inertia           Σ squared distance of each point to its cluster's mean (the within-cluster sum of squares);
 *   ari, nmi          adjusted_rand_score and normalized_mutual_info_score (arithmetic) against `truth`, if given.
 *
 * Noise: points labelled −1 (DBSCAN-style results) are left out of EVERY metric, including ari and nmi, which are
 * computed on the remaining points only; excludedNoise says how many were left out (present only when > 0).
 * A metric that is undefined for the input (one cluster, as many clusters as points, nothing left after noise)
 * is absent from the result, never NaN and never an exception.
 *
 * Cost: Davies–Bouldin, Calinski–Harabasz and inertia need only the cluster means: two O(n·d) host passes in float64.
 * The silhouette needs all pairwise distances within the sample, s² of them (s ≤ SILHOUETTE_SAMPLE_SIZE); they are
 * computed on the device in row blocks of at most MAX_DISTANCE_CELLS_PER_BLOCK cells, and summed per cluster on the
 * host in float64.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../backend';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from './block-size';
import { adjustedRandIndex, normalizedMutualInfo } from './agreement';
import { Random } from '../random';
import { throwIfAborted, validatePoints } from './predict';

/**
 * Default silhouette sample size: 10,000 points, i.e. 10⁸ pairwise distances (about a second on the wasm backend),
 * above which the exact O(n²) score is replaced by the score of a seeded random sample, as scikit-learn's sample_size.
 */
export const SILHOUETTE_SAMPLE_SIZE = 10_000;

export interface QualityOptions {
  /** Known labels, one per point, for ari and nmi. */
  truth?: ArrayLike<number>;
  silhouetteSampleSize?: number;
  /** Seed of the silhouette sample. */
  seed?: number;
  signal?: AbortSignal;
}

export interface QualityResult {
  silhouette?: number;
  silhouetteSampled?: boolean;
  daviesBouldin?: number;
  calinskiHarabasz?: number;
  inertia?: number;
  ari?: number;
  nmi?: number;
  /** Points labelled −1 that every metric left out; present only when there were some. */
  excludedNoise?: number;
}

const WHAT = 'clustering quality';

/**
 * Quality metrics of a clustering of n row-major d-dimensional points. Invalid arguments (shapes, non-finite values,
 * labels below −1) reject with a RangeError; undefined metrics are simply absent. No tensors outlive the call.
 */
export async function clusteringQuality(
  points: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  opts: QualityOptions = {},
): Promise<QualityResult> {
  validatePoints(points, n, d);
  if (!(labels instanceof Int32Array) || labels.length !== n) {
    throw new RangeError(
      `labels must be an Int32Array with one label per point (n = ${n}), got length ${labels?.length}`,
    );
  }
  const { truth } = opts;
  if (truth !== undefined) {
    if (truth === null || typeof truth.length !== 'number' || truth.length !== n) {
      throw new RangeError(`truth must have one label per point (n = ${n}), got length ${truth?.length}`);
    }
    for (let i = 0; i < n; i++)
      if (!Number.isFinite(truth[i])) throw new RangeError(`truth[${i}] is not a finite number`);
  }
  const sampleSize = opts.silhouetteSampleSize ?? SILHOUETTE_SAMPLE_SIZE;
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 2)
    throw new RangeError(`silhouetteSampleSize must be an integer >= 2, got ${sampleSize}`);
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);

  // Points kept (not noise), and their labels renumbered 0..K−1.
  const ids = new Map<number, number>();
  const kept: number[] = [];
  const compact: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l < -1) throw new RangeError(`labels must be >= -1 (-1 marks noise); labels[${i}] is ${l}`);
    if (l === -1) continue;
    let id = ids.get(l);
    if (id === undefined) ids.set(l, (id = ids.size));
    kept.push(i);
    compact.push(id);
  }
  const m = kept.length;
  const K = ids.size;
  const result: QualityResult = {};
  if (m < n) result.excludedNoise = n - m;
  if (m === 0) return result;

  if (truth !== undefined) {
    const t = kept.map((i) => truth[i]);
    result.ari = adjustedRandIndex(t, compact);
    result.nmi = normalizedMutualInfo(t, compact);
  }

  const { means, counts, overallMean } = clusterMeans(points, d, kept, compact, K);
  // Σ‖x − μc‖² and Σ‖x − μc‖ per cluster, float64.
  const sq = new Float64Array(K);
  const dist = new Float64Array(K);
  for (let r = 0; r < m; r++) {
    const i = kept[r];
    const c = compact[r];
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = points[i * d + j] - means[c * d + j];
      s += diff * diff;
    }
    sq[c] += s;
    dist[c] += Math.sqrt(s);
  }
  const inertia = sq.reduce((a, b) => a + b, 0);
  result.inertia = inertia;

  // scikit-learn's check_number_of_labels: 1 < K < number of samples.
  if (K > 1 && K < m) {
    let extra = 0;
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (means[c * d + j] - overallMean[j]) ** 2;
      extra += counts[c] * s;
    }
    result.calinskiHarabasz = inertia === 0 ? 1 : (extra * (m - K)) / (inertia * (K - 1));
    result.daviesBouldin = daviesBouldin(means, counts, dist, K, d);
  }

  throwIfAborted(opts.signal, WHAT);
  const s = Math.min(m, sampleSize);
  const sampled = m > sampleSize;
  const rows = sampled
    ? new Random(seed).sampleDistinct(m, s).sort((a, b) => a - b)
    : Array.from({ length: m }, (_, r) => r);
  const sampleLabels = Int32Array.from(rows, (r) => compact[r]);
  const sampleK = new Set(sampleLabels).size;
  if (sampleK >= 2 && sampleK <= s - 1) {
    result.silhouette = await silhouette(
      points,
      d,
      rows.map((r) => kept[r]),
      sampleLabels,
      K,
      opts.signal,
    );
    result.silhouetteSampled = sampled;
  }
  return result;
}

function clusterMeans(
  points: Float32Array,
  d: number,
  kept: number[],
  compact: number[],
  K: number,
): { means: Float64Array; counts: Float64Array; overallMean: Float64Array } {
  const means = new Float64Array(K * d);
  const counts = new Float64Array(K);
  const overallMean = new Float64Array(d);
  for (let r = 0; r < kept.length; r++) {
    const i = kept[r];
    const c = compact[r];
    counts[c]++;
    for (let j = 0; j < d; j++) {
      means[c * d + j] += points[i * d + j];
      overallMean[j] += points[i * d + j];
    }
  }
  for (let c = 0; c < K; c++) for (let j = 0; j < d; j++) means[c * d + j] /= counts[c];
  for (let j = 0; j < d; j++) overallMean[j] /= kept.length;
  return { means, counts, overallMean };
}

/** scikit-learn's davies_bouldin_score from the cluster means and per-cluster Σ distance to the mean. */
function daviesBouldin(means: Float64Array, counts: Float64Array, dist: Float64Array, K: number, d: number): number {
  const intra = Float64Array.from({ length: K }, (_, c) => dist[c] / counts[c]);
  const centroidDist = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (means[a * d + j] - means[b * d + j]) ** 2;
      centroidDist[a * K + b] = Math.sqrt(s);
    }
  }
  // np.allclose(x, 0): every |x| ≤ 1e-8.
  if (intra.every((v) => Math.abs(v) <= 1e-8) || centroidDist.every((v) => Math.abs(v) <= 1e-8)) return 0;
  let total = 0;
  for (let a = 0; a < K; a++) {
    let worst = 0;
    for (let b = 0; b < K; b++) {
      const cd = centroidDist[a * K + b];
      if (cd === 0) continue; // scikit-learn sets zero distances to ∞, so these ratios are 0
      worst = Math.max(worst, (intra[a] + intra[b]) / cd);
    }
    total += worst;
  }
  return total / K;
}

/**
 * Mean silhouette of the sample (rows `idx` of points, labels 0..K−1), scikit-learn's silhouette_samples averaged:
 * a = mean distance to the rest of its own cluster, b = smallest mean distance to another cluster,
 * s = (b − a) / max(a, b), and 0 for points alone in their cluster.
 *
 * Distances: the sample is shifted by its mean and D² = ‖x‖² + ‖y‖² − 2x·y is one matMul per block of rows. Values
 * below 10⁻⁶(‖x‖² + ‖y‖²) are float32 round-off of that expansion (about 8 ulps) and are set to 0, so that duplicates
 * and each point and itself are exactly 0 apart.
 */
async function silhouette(
  points: Float32Array,
  d: number,
  idx: number[],
  labels: Int32Array,
  K: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  await initComputeBackend();
  const s = idx.length;
  const mean = new Float64Array(d);
  for (const i of idx) for (let j = 0; j < d; j++) mean[j] += points[i * d + j] / s;
  // A: [x | ‖x‖² | 1] (s × (d+2)); B: [−2y ; 1 ; ‖y‖²] ((d+2) × s); norms: ‖x‖² as a row [1, s].
  const A = new Float32Array(s * (d + 2));
  const B = new Float32Array((d + 2) * s);
  const norms = new Float32Array(s);
  for (let r = 0; r < s; r++) {
    const i = idx[r];
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.fround(points[i * d + j] - mean[j]);
      A[r * (d + 2) + j] = v;
      B[j * s + r] = -2 * v;
      norm += v * v;
    }
    norms[r] = norm;
    A[r * (d + 2) + d] = norm;
    A[r * (d + 2) + d + 1] = 1;
    B[d * s + r] = 1;
    B[(d + 1) * s + r] = norm;
  }
  const counts = new Float64Array(K);
  for (let r = 0; r < s; r++) counts[labels[r]]++;
  const blockRows = Math.max(1, Math.min(s, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / s)));
  const Bt = tf.tensor2d(B, [d + 2, s]);
  const normRow = tf.tensor2d(norms, [1, s]);
  const sums = new Float64Array(blockRows * K);
  let total = 0;
  try {
    for (let start = 0; start < s; start += blockRows) {
      throwIfAborted(signal, WHAT);
      const rows = Math.min(blockRows, s - start);
      const distT = tf.tidy(() => {
        const a = tf.tensor2d(A.subarray(start * (d + 2), (start + rows) * (d + 2)), [rows, d + 2]);
        const d2 = tf.matMul(a, Bt);
        const scale = tf.add(tf.tensor2d(norms.subarray(start, start + rows), [rows, 1]), normRow);
        return tf.sqrt(tf.where(tf.less(d2, tf.mul(scale, 1e-6)), tf.zerosLike(d2), d2));
      });
      const values = await distT.data().finally(() => distT.dispose());
      // Per-cluster sums of distances on the host, float64 (no K-wide one-hot on the device, whatever K is).
      sums.fill(0);
      for (let r = 0; r < rows; r++) {
        const base = r * s;
        const out = r * K;
        for (let c = 0; c < s; c++) sums[out + labels[c]] += values[base + c];
      }
      for (let r = 0; r < rows; r++) {
        const own = labels[start + r];
        if (counts[own] <= 1) continue; // alone in its cluster: s = 0
        const a = sums[r * K + own] / (counts[own] - 1);
        let b = Infinity;
        for (let c = 0; c < K; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[r * K + c] / counts[c]);
        const denom = Math.max(a, b);
        if (denom > 0 && Number.isFinite(b)) total += (b - a) / denom;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    tf.dispose([Bt, normRow]);
  }
  return total / s;
}
