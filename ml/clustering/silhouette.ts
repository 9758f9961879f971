/**
 * The mean silhouette of a set of points (scikit-learn's silhouette_samples averaged), with distances exact enough
 * wherever the clusters are, including close clusters far from the data mean and exact duplicates.
 *
 * Why not one float32 expansion: D² = ‖x‖² + ‖y‖² − 2x·y in float32 is off by about (d + 2)·2⁻²⁴·(‖x‖² + ‖y‖²), relative
 * to whatever origin x and y are measured from. With the data mean as origin, two points 0.01 apart in a cluster 1000
 * from that mean have D² = 1e-4 against an error of ~0.1: the distance is noise (it used to be zeroed, which made a
 * = 0 and every silhouette 1 or 0; scikit-learn, in float64, gets 0.975 where Kiln reported 0.333).
 *
 * What is done instead:
 *  1. the sample is sorted by label and cut into row blocks of at most MAX_DISTANCE_CELLS_PER_BLOCK / s rows; a
 *     cluster of at least a quarter block gets blocks of its own, smaller clusters share blocks (so within a shared
 *     block every point's own cluster is small);
 *  2. each block is measured from its own origin, the mean of its rows: the block's rows and ALL s columns are shifted
 *     by it (on the host, float64) and divided by one power of two for the whole sample (no float32 overflow or
 *     underflow, ../scale.ts), then one matMul gives the block's D² in float32. Near a block's rows, where the
 *     silhouette's own-cluster and nearest-cluster distances are, ‖x − o‖ and ‖y − o‖ are of the order of the
 *     distances themselves, so the expansion's error is small relative to them;
 *  3. every cell whose float32 D² is below TAU(d) × (‖x − o‖² + ‖y − o‖²), i.e. where the bound on the expansion's
 *     error exceeds 1e-3 of D² (duplicates, near-duplicates, pairs in a shared block), is recomputed exactly on the
 *     host as Σ(x − y)² in float64; duplicates come out exactly 0.
 * So every distance used is within 0.05 % of the float64 distance between the float32 points (in practice ~1e-7), at
 * the price of one (d+2)×s upload per block. Per-cluster sums are float64 on the host.
 *
 * Few dimensions (d ≤ HOST_SILHOUETTE_MAX_DIMENSIONS) skip the device: the host loop over every cell (a compare, a
 * square root, a sum) is there anyway, and computing Σ(x − y)² in it costs less than the matMul, its upload and its
 * download, so each pair's exact float64 distance is computed once on the host and added to both of its points' sums.
 * On 1,000 two-dimensional points that is ~2-4× faster (the quality metrics of a small k-means job took longer than
 * the k-means itself), and the silhouette is the float64 one; it differs from the device path's by ~1e-8
 * (bench/results/job-latency-2026-11-30.json; test/ml/clustering/silhouette.test.ts compares the two).
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../backend';
import { throwIfAborted } from '../abort';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from './block-size';
import { powerOfTwoAtMost } from './scale';

/** Largest relative error of D² that a cell may carry without being recomputed exactly. */
const MAX_RELATIVE_ERROR = 1e-3;
const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

/**
 * The recompute threshold for d dimensions: float32 D² over a (d + 2)-term product errs by at most about
 * (2(d + 2) + 3)·u·(‖x − o‖² + ‖y − o‖²) (summation plus input rounding), so below TAU × those norms it may be off by
 * more than MAX_RELATIVE_ERROR.
 */
export function silhouetteRecomputeThreshold(d: number): number {
  return ((2 * (d + 2) + 3) * FLOAT32_UNIT_ROUNDOFF) / MAX_RELATIVE_ERROR;
}

/**
 * Dimensions up to which the distances are computed on the host (exact float64, each pair once) instead of by blocked
 * matMul on the device, as long as the s × K per-cluster sums fit in MAX_DISTANCE_CELLS_PER_BLOCK float64s.
 */
export const HOST_SILHOUETTE_MAX_DIMENSIONS = 4;

/** Where meanSilhouette computes the distances: `auto` picks the host for few dimensions (see above). */
export type SilhouetteMethod = 'auto' | 'host' | 'device';

interface RowBlock {
  start: number;
  rows: number;
}

/**
 * Mean silhouette of the points `idx` (rows of the row-major n×d `points`) with labels 0..K−1 (one per idx entry):
 * a = mean distance to the rest of its own cluster, b = smallest mean distance to another cluster, s = (b − a) /
 * max(a, b), 0 for a point alone in its cluster or with a = b = 0 (scikit-learn's nan_to_num). The caller ensures
 * 2 ≤ clusters ≤ len(idx) − 1. `method` forces the host or the device distances (tests); `auto` takes the host for
 * d ≤ HOST_SILHOUETTE_MAX_DIMENSIONS. An aborted signal rejects with an Error named 'AbortError'. No tensors outlive
 * the call.
 */
export async function meanSilhouette(
  points: Float32Array,
  d: number,
  idx: ArrayLike<number>,
  labels: Int32Array,
  K: number,
  signal: AbortSignal | undefined,
  what: string,
  method: SilhouetteMethod = 'auto',
): Promise<number> {
  const s = idx.length;
  // Counting sort by label: row r of the sorted sample is sample entry order[r].
  const counts = new Float64Array(K);
  for (let r = 0; r < s; r++) counts[labels[r]]++;
  const first = new Int32Array(K + 1);
  for (let c = 0; c < K; c++) first[c + 1] = first[c] + counts[c];
  const fill = first.slice(0, K);
  const lab = new Int32Array(s);
  const order = new Int32Array(s);
  for (let r = 0; r < s; r++) {
    const at = fill[labels[r]]++;
    order[at] = r;
    lab[at] = labels[r];
  }
  const X = centredSample(points, d, idx, order);
  const onHost = method === 'host' || (method === 'auto' && d <= HOST_SILHOUETTE_MAX_DIMENSIONS);
  if (onHost && s * K <= MAX_DISTANCE_CELLS_PER_BLOCK) {
    const sums = await hostDistanceSums(X, d, lab, K, signal, what);
    let total = 0;
    for (let r = 0; r < s; r++) total += pointSilhouette(sums, r * K, lab[r], counts, K);
    return total / s;
  }
  await initComputeBackend();
  const blocks = planBlocks(first, K, Math.max(1, Math.min(s, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / s))));
  const tau = silhouetteRecomputeThreshold(d);

  const D = d + 2;
  const maxRows = blocks.reduce((m, b) => Math.max(m, b.rows), 0);
  const A = new Float32Array(maxRows * D);
  const B = new Float32Array(D * s);
  const rowNorm = new Float64Array(maxRows);
  const colNorm = new Float64Array(s);
  const origin = new Float64Array(d);
  const sums = new Float64Array(maxRows * K);
  let total = 0;
  for (const block of blocks) {
    throwIfAborted(signal, what);
    const { start, rows } = block;
    // Origin: the mean of the block's rows.
    origin.fill(0);
    for (let r = start; r < start + rows; r++) for (let j = 0; j < d; j++) origin[j] += X[r * d + j];
    for (let j = 0; j < d; j++) origin[j] /= rows;
    // A = [x − o | ‖x − o‖² | 1] for the block's rows; B = [−2(y − o) ; 1 ; ‖y − o‖²] for every column.
    for (let r = 0; r < rows; r++) {
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const v = X[(start + r) * d + j] - origin[j];
        A[r * D + j] = v;
        norm += v * v;
      }
      rowNorm[r] = norm;
      A[r * D + d] = norm;
      A[r * D + d + 1] = 1;
    }
    for (let c = 0; c < s; c++) {
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const v = X[c * d + j] - origin[j];
        B[j * s + c] = -2 * v;
        norm += v * v;
      }
      colNorm[c] = norm;
      B[d * s + c] = 1;
      B[(d + 1) * s + c] = norm;
    }
    const d2 = tf.tidy(() => tf.matMul(tf.tensor2d(A.subarray(0, rows * D), [rows, D]), tf.tensor2d(B, [D, s])));
    const values = await d2.data().finally(() => d2.dispose());

    // Per-cluster distance sums on the host, float64; suspicious cells recomputed exactly.
    sums.fill(0, 0, rows * K);
    for (let r = 0; r < rows; r++) {
      const base = r * s;
      const out = r * K;
      const xRow = (start + r) * d;
      const nx = rowNorm[r];
      for (let c = 0; c < s; c++) {
        const v = values[base + c];
        // `!(v >= t)` also catches a NaN (it cannot occur with |coordinates| < 2, but costs nothing to cover).
        const dist = v >= tau * (nx + colNorm[c]) ? Math.sqrt(v) : exactDistance(X, xRow, c * d, d);
        sums[out + lab[c]] += dist;
      }
    }
    for (let r = 0; r < rows; r++) total += pointSilhouette(sums, r * K, lab[start + r], counts, K);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return total / s;
}

/**
 * One point's silhouette from its per-cluster distance sums (sums[at + c] for c < K): (b − a) / max(a, b), 0 for a point
 * alone in its cluster or with a = b = 0 (scikit-learn's nan_to_num).
 */
function pointSilhouette(sums: Float64Array, at: number, own: number, counts: Float64Array, K: number): number {
  if (counts[own] <= 1) return 0;
  const a = sums[at + own] / (counts[own] - 1);
  let b = Infinity;
  for (let c = 0; c < K; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[at + c] / counts[c]);
  const denom = Math.max(a, b);
  return denom > 0 && Number.isFinite(b) ? (b - a) / denom : 0;
}

/**
 * Σ distance from each row of X (s × d, float64) to each cluster: s × K sums, each pair's exact distance computed once
 * and added to both rows. Yields to the event loop (and checks `signal`) about every MAX_DISTANCE_CELLS_PER_BLOCK
 * pairs, as the device path does per block.
 */
async function hostDistanceSums(
  X: Float64Array,
  d: number,
  lab: Int32Array,
  K: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<Float64Array> {
  const s = lab.length;
  const sums = new Float64Array(s * K);
  let r = 0;
  while (r < s) {
    throwIfAborted(signal, what);
    for (let pairs = 0; r < s && pairs < MAX_DISTANCE_CELLS_PER_BLOCK; r++) {
      const xr = r * d;
      const toR = r * K;
      const labR = lab[r];
      for (let c = r + 1; c < s; c++) {
        const xc = c * d;
        let q = 0;
        for (let j = 0; j < d; j++) {
          const diff = X[xr + j] - X[xc + j];
          q += diff * diff;
        }
        const dist = Math.sqrt(q);
        sums[toR + lab[c]] += dist;
        sums[c * K + labR] += dist;
      }
      pairs += s - r - 1;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return sums;
}

/**
 * The sample in sorted order, float64, centred on its mean and divided by the power of two at or above its largest
 * |coordinate| (so |values| ≤ 1: no float32 overflow or underflow of their squares). Identical points stay identical.
 */
function centredSample(points: Float32Array, d: number, idx: ArrayLike<number>, order: Int32Array): Float64Array {
  const s = order.length;
  const mean = new Float64Array(d);
  for (let r = 0; r < s; r++) for (let j = 0; j < d; j++) mean[j] += points[idx[r] * d + j];
  for (let j = 0; j < d; j++) mean[j] /= s;
  const X = new Float64Array(s * d);
  let max = 0;
  for (let r = 0; r < s; r++) {
    const row = idx[order[r]] * d;
    for (let j = 0; j < d; j++) {
      const v = points[row + j] - mean[j];
      X[r * d + j] = v;
      max = Math.max(max, Math.abs(v));
    }
  }
  if (max > 0) {
    const inv = 1 / (2 * powerOfTwoAtMost(max));
    for (let t = 0; t < X.length; t++) X[t] *= inv;
  }
  return X;
}

/**
 * Row blocks over the label-sorted sample (cluster c occupies rows first[c]..first[c+1]): a cluster of at least
 * blockRows/4 rows is cut into blocks of its own; smaller clusters are packed together into shared blocks.
 */
function planBlocks(first: Int32Array, K: number, blockRows: number): RowBlock[] {
  const blocks: RowBlock[] = [];
  let shared: RowBlock = { start: 0, rows: 0 };
  const flush = (): void => {
    if (shared.rows > 0) blocks.push(shared);
  };
  for (let c = 0; c < K; c++) {
    const begin = first[c];
    const size = first[c + 1] - begin;
    if (size === 0) continue;
    if (size * 4 >= blockRows) {
      flush();
      for (let at = begin; at < begin + size; at += blockRows)
        blocks.push({ start: at, rows: Math.min(blockRows, begin + size - at) });
      shared = { start: begin + size, rows: 0 };
    } else {
      if (shared.rows + size > blockRows) {
        flush();
        shared = { start: begin, rows: 0 };
      }
      if (shared.rows === 0) shared.start = begin;
      shared.rows += size;
    }
  }
  flush();
  return blocks;
}

/** √Σ(x − y)² over d coordinates of X at row offsets a and b, float64. */
function exactDistance(X: Float64Array, a: number, b: number, d: number): number {
  let sum = 0;
  for (let j = 0; j < d; j++) {
    const diff = X[a + j] - X[b + j];
    sum += diff * diff;
  }
  return Math.sqrt(sum);
}
