/**
 * The device side of k-means (kmeans.ts) for one contiguous range of rows: the rows uploaded as blocks, and every
 * pass over them (assignment + host sums, farthest points, final labels, the k-means++ distance passes). The main
 * thread holds one Shard; with the worker pool (pool.ts) each worker thread holds another for its own rows,
 * on its own TensorFlow.js engine. Results come back per block so that the caller can combine them in global block
 * order, which makes everything but the float64 per-cluster sums independent of how rows are split between threads.
 */
import * as tf from '@tensorflow/tfjs';

/** Partial assignment step over a shard: raw (uncentred) per-cluster sums, counts, and inertia per block. */
export interface ShardStep {
  sums: Float64Array;
  counts: Float64Array;
  blockInertia: Float64Array;
}
export interface FarPoint {
  index: number;
  label: number;
  dist: number;
}

/**
 * Rows [start, start+rows) on the device as [x | 1], the same transposed, and ‖x‖² per row. The trailing 1 lets a
 * single matMul with [−2c | ‖c‖²] produce ‖c‖² − 2x·c, and lets a one-hot matMul produce per-cluster sums and counts
 * together. The transposed copy exists because the wasm backend's matMul is ~8× slower with transposeA/transposeB set
 * (and tf.transpose is as slow), so every product is arranged to need no transpose flag. The price is a second
 * device copy of the data (2·n·(d+1) floats in all), linear in n like the data itself. `start` is local to the shard.
 */
interface Block {
  start: number;
  rows: number;
  xAug: tf.Tensor2D;
  xAugT: tf.Tensor2D;
  norm: tf.Tensor1D;
}

export class Shard {
  private blocks: Block[] = [];
  /** k-means++: squared distance of each row of each block to its nearest chosen centre. */
  private closest: tf.Tensor1D[] = [];

  /**
   * points: this shard's rows only (raw, row-major rows×d); offset: the global index of its first row; mean: the
   * data's per-feature mean, subtracted (then rounded to float32) before upload.
   */
  constructor(
    readonly points: Float32Array,
    readonly offset: number,
    readonly rows: number,
    readonly d: number,
    readonly mean: Float64Array,
    blockRows: number,
  ) {
    try {
      for (let start = 0; start < rows; start += blockRows)
        this.blocks.push(this.upload(start, Math.min(blockRows, rows - start)));
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  get blockCount(): number {
    return this.blocks.length;
  }

  dispose(): void {
    for (const b of this.blocks) tf.dispose([b.xAug, b.xAugT, b.norm]);
    tf.dispose(this.closest);
    this.blocks = [];
    this.closest = [];
  }

  /** Writes centred local row i, rounded to float32, into out[o..o+d). */
  private copyRow(i: number, out: Float32Array | Float64Array, o: number): void {
    const { points, mean, d } = this;
    for (let j = 0; j < d; j++) out[o + j] = Math.fround(points[i * d + j] - mean[j]);
  }

  private upload(start: number, rows: number): Block {
    const d = this.d;
    const buf = new Float32Array(rows * (d + 1));
    const bufT = new Float32Array(rows * (d + 1));
    for (let r = 0; r < rows; r++) {
      this.copyRow(start + r, buf, r * (d + 1));
      buf[r * (d + 1) + d] = 1;
      for (let j = 0; j <= d; j++) bufT[j * rows + r] = buf[r * (d + 1) + j];
    }
    const xAug = tf.tensor2d(buf, [rows, d + 1]);
    const xAugT = tf.tensor2d(bufT, [d + 1, rows]);
    // ‖x‖² = Σx² over the d real columns: the appended 1 adds exactly 1.
    const norm = tf.tidy(() => tf.sum(tf.square(xAug), 1).sub(1)) as tf.Tensor1D;
    return { start, rows, xAug, xAugT, norm };
  }

  /** Assignment step plus the raw per-cluster sums the update step needs, block by block. */
  async assign(centroids: Float64Array, k: number): Promise<ShardStep> {
    const { d, points } = this;
    const sums = new Float64Array(k * d);
    const counts = new Float64Array(k);
    const blockInertia = new Float64Array(this.blocks.length);
    const scoreMat = scoreMatrix(centroids, k, d, 'centroid-columns');
    try {
      for (let bi = 0; bi < this.blocks.length; bi++) {
        const b = this.blocks[bi];
        const [assigned, blockDistances] = tf.tidy(() => {
          const s = tf.matMul(b.xAug, scoreMat);
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
        blockInertia[bi] = sumFloat64(inert);
      }
    } finally {
      scoreMat.dispose();
    }
    return { sums, counts, blockInertia };
  }

  /** Per block, the m points farthest from their nearest centroid, with global indices and labels. */
  async farthest(centroids: Float64Array, k: number, m: number): Promise<FarPoint[]> {
    const found: FarPoint[] = [];
    const scoreMat = scoreMatrix(centroids, k, this.d, 'centroid-columns');
    try {
      for (const b of this.blocks) {
        const [values, indices, labels] = tf.tidy(() => {
          const s = tf.matMul(b.xAug, scoreMat);
          const dist = tf.relu(tf.min(s, 1).add(b.norm));
          const top = tf.topk(dist, Math.min(m, b.rows));
          return [top.values, top.indices, tf.gather(tf.argMin(s, 1), top.indices)];
        });
        const [v, idx, lab] = await Promise.all([values.data(), indices.data(), labels.data()]);
        tf.dispose([values, indices, labels]);
        for (let i = 0; i < v.length; i++)
          found.push({ index: this.offset + b.start + idx[i], label: lab[i], dist: v[i] });
      }
    } finally {
      scoreMat.dispose();
    }
    return found;
  }

  /**
   * Labels against the final centroids. Their inertia is computed by the caller on the host, in float64 against the
   * returned centroids (clustering/inertia.ts), so that it is the very number the quality metrics report.
   */
  async final(centroids: Float64Array, k: number): Promise<{ labels: Int32Array }> {
    const labels = new Int32Array(this.rows);
    const scoreMat = scoreMatrix(centroids, k, this.d, 'centroid-columns');
    try {
      for (const b of this.blocks) {
        const assigned = tf.tidy(() => tf.argMin(tf.matMul(b.xAug, scoreMat), 1));
        const lab = await assigned.data().finally(() => assigned.dispose());
        labels.set(lab, b.start);
      }
    } finally {
      scoreMat.dispose();
    }
    return { labels };
  }

  /**
   * k-means++: folds centre `row` ([c | 1], float32, centred) into the closest-distances, computed exactly (no norm
   * trick) so that chosen points and their duplicates get weight exactly 0 and are never drawn again.
   */
  updateClosest(row: Float32Array, first: boolean): void {
    const d = this.d;
    const prev = this.closest;
    this.closest = this.blocks.map((b, i) =>
      tf.tidy(() => {
        const dist = tf.sum(tf.squaredDifference(b.xAug, tf.tensor2d(row, [1, d + 1])), 1) as tf.Tensor1D;
        return first ? dist : tf.minimum(prev[i], dist);
      }),
    );
    tf.dispose(prev);
  }

  /** k-means++: the closest-distances of this shard's rows, in order. */
  async closestDistances(): Promise<Float32Array> {
    const out = new Float32Array(this.rows);
    let offset = 0;
    for (const part of this.closest) {
      const values = (await part.data()) as Float32Array;
      out.set(values, offset);
      offset += values.length;
    }
    return out;
  }

  /**
   * k-means++: per block (count values each, block-major), Σ relu(closest − dist_t) for each candidate t, computed so
   * rather than via `minimum` because the wasm backend's broadcasting `minimum` is ~30× slower than its broadcasting
   * `sub`. Candidates are laid out one per row ([t, rows]) so that the reduction runs along the innermost axis.
   */
  async candidateGains(candidates: Float64Array, count: number): Promise<Float32Array> {
    const out = new Float32Array(this.blocks.length * count);
    const scoreMat = scoreMatrix(candidates, count, this.d, 'centroid-rows');
    try {
      for (let i = 0; i < this.blocks.length; i++) {
        const b = this.blocks[i];
        const partial = tf.tidy(() => {
          const dist = tf.relu(tf.matMul(scoreMat, b.xAugT).add(b.norm.expandDims(0)));
          return tf.sum(tf.relu(tf.sub(this.closest[i].expandDims(0), dist)), 1);
        });
        const values = await partial.data();
        partial.dispose();
        out.set(values, i * count);
      }
    } finally {
      scoreMat.dispose();
    }
    return out;
  }
}

/**
 * Centroids (m×d, float64, centred) as the float32 matrix [−2c | ‖c‖²] (m×(d+1)), or its transpose ((d+1)×m),
 * which turns one matMul with a block into distance scores ‖c‖² − 2x·c.
 */
function scoreMatrix(c: Float64Array, m: number, d: number, layout: 'centroid-rows' | 'centroid-columns'): tf.Tensor2D {
  const buf = new Float32Array(m * (d + 1));
  const at =
    layout === 'centroid-rows' ? (i: number, j: number) => i * (d + 1) + j : (i: number, j: number) => j * m + i;
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

/**
 * Per-row distances are summed on the host in float64: a float32 device-side sum over ~10^5 rows drifts by ~1e-5
 * relative, visible when comparing inertia across runs or against scikit-learn.
 */
export function sumFloat64(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}
