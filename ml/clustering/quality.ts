/**
 * Quality of a clustering, with scikit-learn's definitions so that numbers can be compared with it:
 *   silhouette        silhouette_score (euclidean), on a seeded random sample of SILHOUETTE_SAMPLE_SIZE points when
 *                     there are more (scikit-learn's sample_size; silhouetteSampled says which happened);
 *   daviesBouldin     davies_bouldin_score;
 *   calinskiHarabasz  calinski_harabasz_score;
 *   inertia           Σ squared distance of each point to its cluster's centre (inertia.ts): the algorithm's centres
 *                     when given (k-means, mini-batch, SOM: each point's closest, so scikit-learn's inertia_ and the
 *                     very number the algorithm reports), else the cluster's mean (the within-cluster sum of squares);
 *   ari, nmi          adjusted_rand_score and normalized_mutual_info_score (arithmetic) against `truth`, if given.
 *
 * Noise: points labelled −1 (DBSCAN-style results) are left out of EVERY metric, including ari and nmi, which are
 * computed on the remaining points only; excludedNoise says how many were left out (present only when > 0).
 * A metric that is undefined for the input (one cluster, as many clusters as points, nothing left after noise)
 * is absent from the result, never NaN and never an exception; a metric that comes out non-finite anyway is an error
 * (NonFiniteResultError), never a value.
 *
 * Precision: everything but the silhouette's pairwise distances is float64 on the host, which holds the squares of
 * any float32 input. Davies–Bouldin's "all distances are 0" test (scikit-learn's np.allclose(x, 0), |x| ≤ 1e-8) is
 * taken relative to the data's spread (1e-8 × its RMS distance to the mean), so that the score does not depend on
 * the data's units (at 1e-25 scale every distance is below 1e-8, which scikit-learn would score 0). The silhouette's
 * distances are exact to ~1e-7 however close the clusters are and however far from the data mean (silhouette.ts).
 *
 * Cost: Davies–Bouldin, Calinski–Harabasz and inertia need only the cluster means: two O(n·d) host passes in float64.
 * The silhouette needs all pairwise distances within the sample, s² of them (s ≤ SILHOUETTE_SAMPLE_SIZE): float32
 * blocks of at most MAX_DISTANCE_CELLS_PER_BLOCK cells on the device, each about its own origin, summed per cluster on
 * the host in float64, with the few cells too close to call recomputed exactly; with at most 4 dimensions, each pair's
 * exact float64 distance once on the host, which is cheaper there (silhouette.ts).
 */
import { assertFiniteResult } from '../finite-guard';
import { adjustedRandIndex, normalizedMutualInfo } from './agreement';
import { flatCentres, inertiaToCentres } from './inertia';
import { Random } from '../random';
import { throwIfAborted, validatePoints } from './predict';
import { meanSilhouette } from './silhouette';

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
  /**
   * The algorithm's centres, indexed by label (k rows of d numbers), for algorithms whose labels are each point's
   * closest centre: inertia is then measured against them instead of the cluster means.
   */
  centres?: ArrayLike<ArrayLike<number>>;
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
 * labels below −1, centres that do not cover the labels) reject with a RangeError; undefined metrics are simply
 * absent; a metric that is not finite rejects with NonFiniteResultError. No tensors outlive the call.
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
  result.inertia = opts.centres ? centresInertia(points, n, d, labels, opts.centres) : inertia;

  // scikit-learn's check_number_of_labels: 1 < K < number of samples.
  if (K > 1 && K < m) {
    let extra = 0;
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (means[c * d + j] - overallMean[j]) ** 2;
      extra += counts[c] * s;
    }
    result.calinskiHarabasz = inertia === 0 ? 1 : (extra * (m - K)) / (inertia * (K - 1));
    // The data's RMS distance to its mean: what "zero" is relative to in Davies–Bouldin.
    result.daviesBouldin = daviesBouldin(means, counts, dist, K, d, Math.sqrt((inertia + extra) / m));
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
    result.silhouette = await meanSilhouette(
      points,
      d,
      rows.map((r) => kept[r]),
      sampleLabels,
      K,
      opts.signal,
      WHAT,
    );
    result.silhouetteSampled = sampled;
  }
  assertFiniteResult(WHAT, result);
  return result;
}

/** inertiaToCentres against the given centres, which must cover every label; RangeError otherwise. */
function centresInertia(
  points: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  centres: ArrayLike<ArrayLike<number>>,
): number {
  if (!centres || typeof centres.length !== 'number' || centres.length < 1)
    throw new RangeError('centres must be a non-empty array of rows');
  for (let c = 0; c < centres.length; c++) {
    const row = centres[c];
    if (!row || row.length !== d) throw new RangeError(`centres row ${c} must have d = ${d} numbers`);
  }
  return inertiaToCentres(points, n, d, labels, flatCentres(centres, d), centres.length);
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

/**
 * scikit-learn's davies_bouldin_score from the cluster means and per-cluster Σ distance to the mean; its all-zero test
 * is relative to `spread` (the data's RMS distance to its mean) rather than absolute, see the header.
 */
function daviesBouldin(
  means: Float64Array,
  counts: Float64Array,
  dist: Float64Array,
  K: number,
  d: number,
  spread: number,
): number {
  const intra = Float64Array.from({ length: K }, (_, c) => dist[c] / counts[c]);
  const centroidDist = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (means[a * d + j] - means[b * d + j]) ** 2;
      centroidDist[a * K + b] = Math.sqrt(s);
    }
  }
  // np.allclose(x, 0), every |x| ≤ 1e-8, in units of the data's spread.
  const zero = 1e-8 * spread;
  if (intra.every((v) => Math.abs(v) <= zero) || centroidDist.every((v) => Math.abs(v) <= zero)) return 0;
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
