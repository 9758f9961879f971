/**
 * Assigning points to a fitted clustering model, for `POST /api/v1/models/:name/predict`, and the blocked
 * nearest-centre pass that the fitting code of mini-batch k-means and the SOM share with it.
 *
 * Distances use the same layout as kmeans/kmeans.ts: rows are shifted by a fixed vector (the mean of the centres for
 * prediction, the data mean while fitting) so that the float32 expansion ‖x‖² − 2x·c + ‖c‖² does not lose precision far
 * from the origin, and one matMul of [x | 1] with [−2c ; ‖c‖²] gives the scores. A block never materialises more than
 * MAX_DISTANCE_CELLS_PER_BLOCK (rows × centres) cells, whatever n is; the data stays on the host and only one block is
 * on the device at a time. Distances that are returned (inertia, quantization error) are recomputed exactly on the
 * host in float64 against the chosen centre, O(n·d). Shifted rows and centres are also divided by a power of two
 * (../scale.ts) when their magnitude is far from 1, so that float32 squares of centres near 1e20 (or 1e-25) neither
 * overflow nor underflow; that changes no argmin.
 *
 * Gaussian-mixture prediction (predictGmm) lives in ./gmm, next to the E-step it reuses.
 */
import * as tf from '@tensorflow/tfjs';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from './block-size';
import { throwIfAborted } from '../abort';
import { magnitudeScale } from './scale';

// ---------------------------------------------------------------------------------------------------------------
// Shared argument checks

/** The same checks and messages as kmeans/kmeans.ts; also rejects NaN and ±Infinity. */
export function validatePoints(points: Float32Array, n: number, d: number): void {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`n (number of points) must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(d) || d < 1)
    throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d) {
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  }
  for (let i = 0; i < points.length; i++) {
    const v = points[i];
    if (v - v !== 0) throw new RangeError(`points must be finite; row ${Math.floor(i / d)}, column ${i % d} is ${v}`);
  }
}

export { throwIfAborted };

/** Per-feature mean in float64. */
export function featureMean(points: Float32Array, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  return mean;
}

/** Mean of m row-major centres (m×d), used as the shift when only the centres are known. */
export function centreMean(centres: Float64Array, m: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let c = 0; c < m; c++) for (let j = 0; j < d; j++) mean[j] += centres[c * d + j] / m;
  return mean;
}

/** Nested centres (m rows of d finite numbers) as a flat Float64Array; RangeError naming `what` otherwise. */
export function flattenCentres(centres: ArrayLike<ArrayLike<number>>, d: number, what: string): Float64Array {
  if (!centres || typeof centres.length !== 'number' || centres.length < 1) {
    throw new RangeError(`${what} must be a non-empty array of rows`);
  }
  const m = centres.length;
  const out = new Float64Array(m * d);
  for (let c = 0; c < m; c++) {
    const row = centres[c];
    if (!row || row.length !== d)
      throw new RangeError(`${what} row ${c} must have d = ${d} numbers, got ${row?.length}`);
    for (let j = 0; j < d; j++) {
      const v = Number(row[j]);
      if (!Number.isFinite(v)) throw new RangeError(`${what} row ${c}, column ${j} is not a finite number`);
      out[c * d + j] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Blocked nearest-centre pass

/**
 * Centres (m×d, float64, absolute) as the float32 matrix [−2(c − shift)/scale ; ‖c − shift‖²/scale²] of shape
 * (d+1)×m, so that [(x − shift)/scale | 1] · it = ‖c‖² − 2x·c in shifted, scaled coordinates: add ‖x‖² for the squared
 * distance. scale (default 1) is a power of two, see frameScale.
 */
export function centreScoreMatrix(
  centres: Float64Array,
  m: number,
  d: number,
  shift: Float64Array,
  scale = 1,
): tf.Tensor2D {
  const inv = 1 / scale;
  const buf = new Float32Array((d + 1) * m);
  for (let c = 0; c < m; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.fround((centres[c * d + j] - shift[j]) * inv);
      buf[j * m + c] = -2 * v;
      norm += v * v;
    }
    buf[d * m + c] = norm;
  }
  return tf.tensor2d(buf, [d + 1, m]);
}

/** Rows [start, start+rows) shifted and scaled, as float32 [(x − shift)/scale | 1] (rows×(d+1)), written into buf. */
export function shiftedRows(
  points: Float32Array,
  start: number,
  rows: number,
  d: number,
  shift: Float64Array,
  buf: Float32Array,
  scale = 1,
): void {
  const inv = 1 / scale;
  for (let r = 0; r < rows; r++) {
    const src = (start + r) * d;
    const dst = r * (d + 1);
    for (let j = 0; j < d; j++) buf[dst + j] = (points[src + j] - shift[j]) * inv;
    buf[dst + d] = 1;
  }
}

/**
 * The power of two that shifted points and centres are divided by on the device (1 for moderate magnitudes): from the
 * largest |x − shift| and |c − shift|, as ../scale.ts chooses it.
 */
export function frameScale(
  points: Float32Array,
  n: number,
  d: number,
  centres: Float64Array,
  m: number,
  shift: Float64Array,
): number {
  let max = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) max = Math.max(max, Math.abs(points[i * d + j] - shift[j]));
  for (let c = 0; c < m; c++) for (let j = 0; j < d; j++) max = Math.max(max, Math.abs(centres[c * d + j] - shift[j]));
  return magnitudeScale([max]);
}

/** Rows per block so that rows × m score cells stay within MAX_DISTANCE_CELLS_PER_BLOCK (and 4 float32 per cell fit). */
export function blockRowsFor(m: number): number {
  return Math.max(1, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / Math.max(m, 2)));
}

export interface NearestResult {
  labels: Int32Array;
  /** Second-nearest centre per point (only when asked, and m ≥ 2). */
  second?: Int32Array;
  /** Σ‖x − c_label‖², float64, exact. */
  sumSquared: number;
  /** Σ‖x − c_label‖, float64, exact. */
  sumDistance: number;
}

export interface NearestOptions {
  shift?: Float64Array;
  secondBest?: boolean;
  /** Compute sumSquared / sumDistance on the host (O(n·d)); skipped for prediction. */
  distances?: boolean;
  signal?: AbortSignal;
  what?: string;
  /** Called after each block, awaited (async pass only). */
  onBlock?(done: number, total: number): void | Promise<void>;
}

function blockTensors(xAug: tf.Tensor2D, scoreT: tf.Tensor2D, m: number, secondBest: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    const s = tf.matMul(xAug, scoreT);
    const nearest = tf.argMin(s, 1);
    if (secondBest && m >= 2) {
      // The runner-up: argMin again with the winner's score pushed out of reach (3× faster than tf.topk on wasm).
      const masked = tf.add(s, tf.mul(tf.oneHot(nearest, m).cast('float32'), 1e30));
      return [tf.stack([nearest, tf.argMin(masked, 1)], 1)];
    }
    return [nearest];
  });
}

function hostDistances(
  points: Float32Array,
  start: number,
  rows: number,
  d: number,
  centres: Float64Array,
  labels: Int32Array,
): [number, number] {
  let sq = 0;
  let dist = 0;
  for (let r = 0; r < rows; r++) {
    const i = start + r;
    const c = labels[i] * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = points[i * d + j] - centres[c + j];
      s += diff * diff;
    }
    sq += s;
    dist += Math.sqrt(s);
  }
  return [sq, dist];
}

function storeBlock(values: ArrayLike<number>, start: number, rows: number, out: NearestResult, two: boolean): void {
  if (two) {
    const second = out.second!;
    for (let r = 0; r < rows; r++) {
      out.labels[start + r] = values[2 * r];
      second[start + r] = values[2 * r + 1];
    }
  } else {
    out.labels.set(values as Int32Array, start);
  }
}

/**
 * Nearest of m centres (m×d row-major, absolute coordinates) for every point, block by block, awaiting the device
 * between blocks (so heartbeats and aborts get a turn).
 */
export async function nearestCentres(
  points: Float32Array,
  n: number,
  d: number,
  centres: Float64Array,
  m: number,
  opts: NearestOptions = {},
): Promise<NearestResult> {
  const shift = opts.shift ?? centreMean(centres, m, d);
  const two = opts.secondBest === true && m >= 2;
  const out: NearestResult = { labels: new Int32Array(n), sumSquared: 0, sumDistance: 0 };
  if (two) out.second = new Int32Array(n);
  const blockRows = Math.min(n, blockRowsFor(m));
  const buf = new Float32Array(blockRows * (d + 1));
  const scale = frameScale(points, n, d, centres, m, shift);
  const scoreT = centreScoreMatrix(centres, m, d, shift, scale);
  try {
    for (let start = 0; start < n; start += blockRows) {
      throwIfAborted(opts.signal, opts.what ?? 'assignment');
      const rows = Math.min(blockRows, n - start);
      shiftedRows(points, start, rows, d, shift, buf, scale);
      const xAug = tf.tensor2d(rows === blockRows ? buf : buf.subarray(0, rows * (d + 1)), [rows, d + 1]);
      let result: tf.Tensor[];
      try {
        result = blockTensors(xAug, scoreT, m, two);
      } finally {
        xAug.dispose();
      }
      const values = await result[0].data();
      tf.dispose(result);
      storeBlock(values, start, rows, out, two);
      if (opts.distances) {
        const [sq, dist] = hostDistances(points, start, rows, d, centres, out.labels);
        out.sumSquared += sq;
        out.sumDistance += dist;
      }
      await opts.onBlock?.(start + rows, n);
    }
  } finally {
    scoreT.dispose();
  }
  return out;
}

/** The synchronous twin of nearestCentres (dataSync), for prediction requests. */
export function nearestCentresSync(
  points: Float32Array,
  n: number,
  d: number,
  centres: Float64Array,
  m: number,
  secondBest = false,
): NearestResult {
  const shift = centreMean(centres, m, d);
  const two = secondBest && m >= 2;
  const out: NearestResult = { labels: new Int32Array(n), sumSquared: 0, sumDistance: 0 };
  if (two) out.second = new Int32Array(n);
  const blockRows = Math.min(n, blockRowsFor(m));
  const buf = new Float32Array(blockRows * (d + 1));
  const scale = frameScale(points, n, d, centres, m, shift);
  const scoreT = centreScoreMatrix(centres, m, d, shift, scale);
  try {
    for (let start = 0; start < n; start += blockRows) {
      const rows = Math.min(blockRows, n - start);
      shiftedRows(points, start, rows, d, shift, buf, scale);
      const result = tf.tidy(() =>
        blockTensors(tf.tensor2d(buf.subarray(0, rows * (d + 1)), [rows, d + 1]), scoreT, m, two),
      );
      const values = result[0].dataSync();
      tf.dispose(result);
      storeBlock(values, start, rows, out, two);
    }
  } finally {
    scoreT.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Prediction

/**
 * Index of the nearest centroid (squared euclidean; ties go to the lower index) for each of n points, for k-means-like
 * models (kmeans, minibatch-kmeans). Blocked: at most MAX_DISTANCE_CELLS_PER_BLOCK distance cells at once.
 * Synchronous (reads the device with dataSync); the compute backend must already be initialised.
 */
export function predictNearestCentroid(
  centroids: ArrayLike<ArrayLike<number>>,
  points: Float32Array,
  n: number,
  d: number,
): Int32Array {
  validatePoints(points, n, d);
  const flat = flattenCentres(centroids, d, 'centroids');
  return nearestCentresSync(points, n, d, flat, centroids.length).labels;
}

export interface SomModelLike {
  rows: number;
  cols: number;
  /** rows × cols × d */
  codebook: ArrayLike<ArrayLike<ArrayLike<number>>>;
}

/**
 * Best-matching unit of each point for a SOM model: labels are row*cols + col (the same numbering as the fitted
 * labels), cells the [row, col] pairs.
 */
export function predictSomCells(
  model: SomModelLike,
  points: Float32Array,
  n: number,
  d: number,
): { labels: Int32Array; cells: [number, number][] } {
  validatePoints(points, n, d);
  const { rows, cols, codebook } = model;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw new RangeError(`SOM model rows and cols must be positive integers, got ${rows}×${cols}`);
  }
  if (!codebook || codebook.length !== rows) throw new RangeError(`SOM codebook must have rows = ${rows} rows`);
  const units: ArrayLike<number>[] = [];
  for (let r = 0; r < rows; r++) {
    const row = codebook[r];
    if (!row || row.length !== cols) throw new RangeError(`SOM codebook row ${r} must have cols = ${cols} cells`);
    for (let c = 0; c < cols; c++) units.push(row[c]);
  }
  const flat = flattenCentres(units, d, 'SOM codebook');
  const labels = nearestCentresSync(points, n, d, flat, rows * cols).labels;
  const cells = Array.from(labels, (l): [number, number] => [Math.floor(l / cols), l % cols]);
  return { labels, cells };
}
