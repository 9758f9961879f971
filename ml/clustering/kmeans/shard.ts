/**
 * The device side of k-means (kmeans.ts) for one contiguous range of rows: the rows uploaded as blocks, and every
 * pass over them (assignment + host sums, farthest points, final labels, the k-means++ distance passes). The main
 * thread holds one Shard; with the worker pool (pool.ts) each worker thread holds another for its own rows,
 * on its own TensorFlow.js engine. Results come back per block so that the caller can combine them in global block
 * order, which makes everything but the float64 per-cluster sums independent of how rows are split between threads.
 */
import * as tf from '@tensorflow/tfjs';
import { HamerlyBounds, centroidGeometry, float32Centroids } from './bounds';

/**
 * How an assignment pass finds labels (Shard.assign): 'lloyd' scores every row against every centroid; 'full' does
 * too and sets Hamerly's bounds; 'bounded' scores only the rows the bounds leave undecided. Same labels in all three.
 */
export type PassMode = 'lloyd' | 'full' | 'bounded';

/**
 * A bounded pass that leaves more than this share of a shard's rows for the device scores them all in a full pass
 * instead: scoring a gathered row costs ~2.5× a row of a full pass (the copy, and the host's scan of its k scores for
 * the second-smallest, which a full pass does not need), so past ~35 % the full pass is cheaper (measured at
 * d = 32, k = 64 on the wasm backend).
 */
export const MAX_DEVICE_SHARE = 0.35;

/** Partial assignment step over a shard: raw (uncentred) per-cluster sums, counts, and inertia per block. */
export interface ShardStep {
  sums: Float64Array;
  counts: Float64Array;
  /**
   * The pass's inertia, per block for full passes (float32 distances summed in float64); for a bounded pass one value
   * from the cluster sums (Shard.boundedInertia).
   */
  blockInertia: Float64Array;
  /** Rows scored against all k centroids (all of them in a full pass). */
  computed: number;
}
/** Labels of a shard's rows against the final centroids, and how many rows were scored for them (ShardStep). */
export interface FinalLabels {
  labels: Int32Array;
  computed: number;
}
export interface FarPoint {
  index: number;
  label: number;
  dist: number;
}

/**
 * Rows [start, start+rows) on the device as [x | 1] and ‖x‖² per row: one device copy of the data, n·(d+1) floats.
 * The trailing 1 lets a single matMul with [−2c | ‖c‖²] produce ‖c‖² − 2x·c. The wasm backend's matMul is ~8× slower
 * with transposeA/transposeB set (and tf.transpose as slow on the data), so every product is arranged to need no
 * transpose flag. `start` is local to the shard.
 */
interface Block {
  start: number;
  rows: number;
  xAug: tf.Tensor2D;
  norm: tf.Tensor1D;
}

export class Shard {
  private blocks: Block[] = [];
  /** k-means++: squared distance of each row of each block to its nearest chosen centre. */
  private closest: tf.Tensor1D[] = [];
  /** Each row's label from the last pass (−1 before the first). */
  private readonly labels: Int32Array;
  /**
   * The rows that changed label since the sums were last brought up to date, in row order, and the label each left
   * (clusterSums); movedCount may exceed their capacity (rows/2), which forces a full sum.
   */
  private movedRows: Int32Array;
  private movedFrom: Int32Array;
  private movedCount = 0;
  /** Moves applied to the sums one by one since they were last summed in full. */
  private movedSinceFull = 0;
  /** Per-cluster raw sums, counts and Σ‖x‖² (with bounds), as of the last clusterSums. */
  private sums = new Float64Array(0);
  private counts = new Float64Array(0);
  private squares = new Float64Array(0);
  /** Hamerly's bounds, from the first 'full' pass on. */
  private bounds: HamerlyBounds | undefined;
  /** ‖x‖² per row, from the upload, for the bounds (constructed with bounds = true). */
  private readonly squaredNorm: Float32Array | undefined;
  /** Scratch for the rows a bounded pass moves or leaves to the device, and their new labels (bounds.ts filter). */
  private undecided: Int32Array | undefined;
  private resolved: Int32Array | undefined;

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
    private readonly blockRows: number,
    bounds = false,
  ) {
    this.labels = new Int32Array(rows).fill(-1);
    const capacity = Math.ceil(rows / 2);
    this.movedRows = new Int32Array(capacity);
    this.movedFrom = new Int32Array(capacity);
    // With bounds ahead (bounds.ts), ‖x‖² of each row is taken while the rows are at hand for the upload anyway.
    this.squaredNorm = bounds ? new Float32Array(rows) : undefined;
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
    for (const b of this.blocks) tf.dispose([b.xAug, b.norm]);
    tf.dispose(this.closest);
    this.blocks = [];
    this.closest = [];
  }

  /**
   * Writes centred local row i as [x | 1] into out[o..o+d]. Storing into a Float32Array rounds to nearest exactly as
   * Math.fround does, so every copy of a row (upload, the rows a bounded pass re-scores) has the same bits.
   */
  private copyRow(i: number, out: Float32Array, o: number): void {
    const { points, mean, d } = this;
    const at = i * d;
    for (let j = 0; j < d; j++) out[o + j] = points[at + j] - mean[j];
    out[o + d] = 1;
  }

  private upload(start: number, rows: number): Block {
    const d = this.d;
    const buf = new Float32Array(rows * (d + 1));
    for (let r = 0; r < rows; r++) this.copyRow(start + r, buf, r * (d + 1));
    if (this.squaredNorm) {
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += buf[r * (d + 1) + j] * buf[r * (d + 1) + j];
        this.squaredNorm[start + r] = s;
      }
    }
    const xAug = tf.tensor2d(buf, [rows, d + 1]);
    // ‖x‖² = Σx² over the d real columns: the appended 1 adds exactly 1.
    const norm = tf.tidy(() => tf.sum(tf.square(xAug), 1).sub(1)) as tf.Tensor1D;
    return { start, rows, xAug, norm };
  }

  /**
   * Assignment step plus the raw per-cluster sums the update step needs. mode: 'lloyd' scores every row against every
   * centroid (one matMul per block); 'full' does the same and also sets Hamerly's bounds (bounds.ts); 'bounded' moves
   * the bounds and scores only the rows they cannot decide. All three give the same labels, hence the same sums.
   */
  async assign(centroids: Float64Array, k: number, mode: PassMode): Promise<ShardStep> {
    let blockInertia: Float64Array;
    let computed = this.rows;
    if (mode === 'bounded') {
      computed = await this.boundedLabels(centroids, k);
      blockInertia = new Float64Array(0);
    } else {
      blockInertia = await this.fullLabels(centroids, k, mode === 'full');
    }
    const { sums, counts, squares } = this.clusterSums(k);
    if (mode === 'bounded') blockInertia = Float64Array.of(this.boundedInertia(centroids, k, sums, counts, squares!));
    return { sums: sums.slice(), counts: counts.slice(), blockInertia, computed };
  }

  /**
   * Labels of every row from full score rows (see assign), argmin and inertia on the device. With `bounds`, also
   * sets every row's upper bound from its smallest score, and its lower bound to 0: the centroids move most in the
   * first passes, where a lower bound from the second-smallest score would be used up by the next pass's largest shift
   * anyway, so the next bounded pass finds the rows' other candidates itself (HamerlyBounds.filter).
   */
  private async fullLabels(centroids: Float64Array, k: number, bounds: boolean): Promise<Float64Array> {
    this.ensureClusters(k);
    const blockInertia = new Float64Array(this.blocks.length);
    const scoreMat = scoreMatrix(centroids, k, this.d, 'centroid-columns');
    const hamerly = bounds ? this.hamerly() : undefined;
    const cf = float32Centroids(centroids);
    const eps = hamerly?.eps(centroidGeometry(undefined, cf, k, this.d).maxNorm);
    try {
      for (let bi = 0; bi < this.blocks.length; bi++) {
        const b = this.blocks[bi];
        const [assigned, blockDistances, smallest] = tf.tidy(() => {
          const s = tf.matMul(b.xAug, scoreMat);
          const min = tf.min(s, 1);
          return [tf.argMin(s, 1), tf.relu(min.add(b.norm)), min];
        });
        const [labels, inert, best] = await Promise.all([
          assigned.data(),
          blockDistances.data(),
          hamerly ? smallest.data() : undefined,
        ]);
        tf.dispose([assigned, blockDistances, smallest]);
        for (let r = 0; r < b.rows; r++) this.relabel(b.start + r, labels[r]);
        if (hamerly && best)
          for (let r = 0; r < b.rows; r++) hamerly.setFromScores(b.start + r, best[r], -Infinity, eps!);
        blockInertia[bi] = sumFloat64(inert);
      }
    } finally {
      scoreMat.dispose();
    }
    if (hamerly) hamerly.centroids = cf;
    return blockInertia;
  }

  /**
   * Hamerly pass: moves the bounds to `centroids` (HamerlyBounds.filter, which also settles rows with few candidate
   * centroids on the host), then scores the rows still undecided, gathered into blocks, by the same matMul as a full
   * pass. Returns how many rows the device scored. Falls back to a full pass when no bounds are set yet.
   */
  private async boundedLabels(centroids: Float64Array, k: number): Promise<number> {
    const hamerly = this.bounds;
    if (!hamerly?.centroids) {
      await this.fullLabels(centroids, k, true);
      return this.rows;
    }
    this.ensureClusters(k);
    const { d } = this;
    const cf = float32Centroids(centroids);
    const geometry = centroidGeometry(hamerly.centroids, cf, k, d);
    this.undecided ??= new Int32Array(this.rows);
    this.resolved ??= new Int32Array(this.rows);
    const { undecided, resolved } = this;
    const listed = hamerly.filter(
      this.labels,
      cf,
      geometry,
      maxCandidates(k),
      Math.floor(MAX_DEVICE_SHARE * this.rows),
      undecided,
      resolved,
    );
    if (listed < 0) {
      // Too many rows for the device: nothing was applied yet, and a full pass sets the same labels and fresh bounds.
      await this.fullLabels(centroids, k, true);
      return this.rows;
    }
    // The rows left to the device, gathered (in row order) at the front of `device`, their labels to come back there.
    let m = 0;
    for (let t = 0; t < listed; t++) if (resolved[t] < 0) m++;
    if (m > 0) {
      const device = new Int32Array(m);
      for (let t = 0, at = 0; t < listed; t++) if (resolved[t] < 0) device[at++] = undecided[t];
      const deviceLabels = await this.scoreOnDevice(device, centroids, k, hamerly, geometry.maxNorm);
      for (let t = 0, at = 0; t < listed; t++) if (resolved[t] < 0) resolved[t] = deviceLabels[at++];
    }
    // Every move, in row order (clusterSums applies them in this order, as a full pass would log them).
    for (let t = 0; t < listed; t++) this.relabel(undecided[t], resolved[t]);
    return m;
  }

  /**
   * Scores the local rows `ids` against all k centroids by the same matMul as a full pass, on rows copied from the
   * host exactly as they were uploaded (copyRow; tf.gather is ~10× slower), and sets their bounds. Returns their
   * labels (not yet applied).
   */
  private async scoreOnDevice(
    ids: Int32Array,
    centroids: Float64Array,
    k: number,
    hamerly: HamerlyBounds,
    maxNorm: number,
  ): Promise<Int32Array> {
    const { d } = this;
    const labels = new Int32Array(ids.length);
    const eps = hamerly.eps(maxNorm);
    const scoreMat = scoreMatrix(centroids, k, d, 'centroid-columns');
    try {
      for (let start = 0; start < ids.length; start += this.blockRows) {
        const rows = Math.min(this.blockRows, ids.length - start);
        const buf = new Float32Array(rows * (d + 1));
        for (let r = 0; r < rows; r++) this.copyRow(ids[start + r], buf, r * (d + 1));
        const scores = tf.tidy(() => tf.matMul(tf.tensor2d(buf, [rows, d + 1]), scoreMat));
        const s = (await scores.data().finally(() => scores.dispose())) as Float32Array;
        this.scoreRows(s, k, rows, ids, start, hamerly, eps, labels);
      }
    } finally {
      scoreMat.dispose();
    }
    return labels;
  }

  /**
   * Labels rows from their score rows (s: rows×k) on the host and sets their bounds: row r is local row
   * ids[start + r], or start + r without ids. The label is the first index of the smallest score, as tf.argMin
   * gives it (the tests compare with the device's argmin); one loop also finds the second-smallest score, which the
   * device would need a slow topk for. With `out`, labels go to out[start + r] instead of being applied. Returns
   * Σ relu(smallest + ‖x‖²), the rows' inertia for progress reports.
   */
  private scoreRows(
    s: Float32Array,
    k: number,
    rows: number,
    ids: Int32Array | undefined,
    start: number,
    hamerly: HamerlyBounds,
    eps: number,
    out?: Int32Array,
  ): number {
    const { squaredNorm } = hamerly;
    let inertia = 0;
    for (let r = 0; r < rows; r++) {
      const at = r * k;
      let best = s[at];
      let label = 0;
      let second = Infinity;
      for (let c = 1; c < k; c++) {
        const v = s[at + c];
        if (v < best) {
          second = best;
          best = v;
          label = c;
        } else if (v < second) second = v;
      }
      const i = ids ? ids[start + r] : start + r;
      if (out) out[start + r] = label;
      else this.relabel(i, label);
      hamerly.setFromScores(i, best, second, eps);
      inertia += Math.max(0, best + squaredNorm[i]);
    }
    return inertia;
  }

  /** Sizes the per-cluster state for k clusters (a Shard serves one k; a new k starts it afresh). */
  private ensureClusters(k: number): void {
    if (this.counts.length === k) return;
    this.sums = new Float64Array(k * this.d);
    this.counts = new Float64Array(k);
    this.squares = new Float64Array(k);
    this.movedCount = Infinity;
  }

  /** Sets local row i's label, logging the move for clusterSums. */
  private relabel(i: number, label: number): void {
    const old = this.labels[i];
    if (old === label) return;
    if (this.movedCount < this.movedRows.length) {
      this.movedRows[this.movedCount] = i;
      this.movedFrom[this.movedCount] = old;
    }
    this.movedCount++;
    this.labels[i] = label;
  }

  /** The bounds, created on first use (with a full sum next, as the sums then also keep Σ‖x‖²). */
  private hamerly(): HamerlyBounds {
    if (!this.bounds) {
      this.bounds = new HamerlyBounds(this.points, this.mean, this.rows, this.d, this.squaredNorm);
      this.movedCount = Infinity;
    }
    return this.bounds;
  }

  /**
   * Raw per-cluster sums and counts over this shard's rows, in float64 (with bounds, also Σ‖x‖² per cluster, for
   * boundedInertia), brought up to date with the labels. Either in full, in row order, or (when fewer than rows/2
   * rows moved, which costs less, and at most `rows` moves have been applied so since the last full sum, so that
   * rounding stays that of one full sum) by moving each moved row's coordinates from its old cluster to its new one, in
   * row order. Which one depends only on the label history, so every PassMode gives bit-identical sums.
   */
  private clusterSums(k: number): { sums: Float64Array; counts: Float64Array; squares?: Float64Array } {
    this.ensureClusters(k);
    const { d, points, labels, sums, counts, squares, movedCount, movedRows, movedFrom } = this;
    const squaredNorm = this.bounds?.squaredNorm;
    const delta = movedCount <= movedRows.length && this.movedSinceFull + movedCount <= this.rows;
    if (delta) {
      for (let t = 0; t < movedCount; t++) {
        const r = movedRows[t];
        const from = movedFrom[t];
        const to = labels[r];
        counts[from] -= 1;
        counts[to] += 1;
        if (squaredNorm) {
          squares[from] -= squaredNorm[r];
          squares[to] += squaredNorm[r];
        }
        const row = r * d;
        for (let j = 0; j < d; j++) {
          const v = points[row + j];
          sums[from * d + j] -= v;
          sums[to * d + j] += v;
        }
      }
      this.movedSinceFull += movedCount;
    } else {
      sums.fill(0);
      counts.fill(0);
      squares.fill(0);
      for (let r = 0; r < this.rows; r++) {
        const c = labels[r];
        counts[c] += 1;
        if (squaredNorm) squares[c] += squaredNorm[r];
        const row = r * d;
        const out = c * d;
        for (let j = 0; j < d; j++) sums[out + j] += points[row + j];
      }
      this.movedSinceFull = 0;
    }
    this.movedCount = 0;
    return { sums, counts, squares: squaredNorm ? squares : undefined };
  }

  /**
   * A bounded pass scores too few rows for Lloyd's inertia, so the progress report's inertia is Σ_c Σ‖x − c‖² from
   * the cluster sums, Σ‖x‖² (float32-rounded) and ‖c‖² in float64: the same quantity to ~1e-6 relative.
   */
  private boundedInertia(
    centroids: Float64Array,
    k: number,
    sums: Float64Array,
    counts: Float64Array,
    squares: Float64Array,
  ): number {
    const { d, mean } = this;
    let total = 0;
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      let cross = 0;
      let cc = 0;
      for (let j = 0; j < d; j++) {
        const v = centroids[c * d + j];
        cross += v * (sums[c * d + j] - counts[c] * mean[j]);
        cc += v * v;
      }
      total += Math.max(0, squares[c] - 2 * cross + counts[c] * cc);
    }
    return total;
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
   * Labels against the final centroids, by a full pass or (mode 'bounded') a Hamerly pass: the same labels either way.
   * Their inertia is computed by the caller on the host, in float64 against the returned centroids
   * (clustering/inertia.ts), so that it is the very number the quality metrics report.
   */
  async final(centroids: Float64Array, k: number, mode: PassMode): Promise<FinalLabels> {
    let computed = this.rows;
    if (mode === 'bounded') computed = await this.boundedLabels(centroids, k);
    else await this.fullLabels(centroids, k, false);
    // These moves are not summed: should another pass follow, its sums start afresh.
    this.movedCount = Infinity;
    return { labels: this.labels.slice(), computed };
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
   * `sub`. The distances come out [rows, count] from the block as uploaded and are transposed (a small rows×count
   * copy) so that the reduction runs along the innermost axis; a transposed copy of the data itself would double its
   * device memory.
   */
  async candidateGains(candidates: Float64Array, count: number): Promise<Float32Array> {
    const out = new Float32Array(this.blocks.length * count);
    const scoreMat = scoreMatrix(candidates, count, this.d, 'centroid-columns');
    try {
      for (let i = 0; i < this.blocks.length; i++) {
        const b = this.blocks[i];
        const partial = tf.tidy(() => {
          const dist = tf.relu(tf.transpose(tf.matMul(b.xAug, scoreMat)).add(b.norm.expandDims(0)));
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
 * How many candidate centroids a bounded pass scores on the host for one row before leaving it to the device: host
 * scoring costs ~d scalar operations per candidate, the device's ~k·d vectorised ones plus a k-long scan of the
 * scores on the host, so around k/8 the two are even (measured at d = 32, k = 64).
 */
function maxCandidates(k: number): number {
  return Math.max(2, Math.floor(k / 8));
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
