/**
 * The tensor path of agglomerative clustering (hierarchical.ts), for backends where device kernels beat
 * host loops (tfjs-node-gpu on CUDA). Each function produces the same raw merge list as its host counterpart, with
 * the per-step O(n·d) work done by TensorFlow.js on a device-resident matrix:
 *
 *  - ward: centroids (n×d) and cluster sizes (n) stay on the device; each chain step computes the Ward distances
 *    from the chain's tip to every active centroid (sub, square, sum, per-pair size weight), masks retired slots and
 *    the tip, and reads back [min, argMin, value at the previous chain element] in one transfer; a merge rewrites one
 *    centroid row and two sizes with a one-hot mask. Merge heights are recomputed in float64 on the host from host
 *    centroids, so only near-ties (within float32 rounding) may be resolved differently from scipy.
 *  - single: Prim's algorithm with the points and the running best distances on the device; each step is one
 *    sub/square/sum from the newly added point, a minimum with the running best and an argMin over the points
 *    outside the tree.
 *  - complete/average: the condensed distance matrix is built from blocks of at most HIER_TENSOR_MAX_CELLS_PER_BLOCK
 *    cells computed on the device as ‖x‖² − 2x·y + ‖y‖² (on centred data, in float32), then the chain runs on the host.
 *
 * Distances are float32 on the device, so ties and near-ties can break differently from scikit-learn's float64 ones;
 * the tree is otherwise the same. Every tensor is disposed before returning, including on abort.
 */
import * as tf from '@tensorflow/tfjs';

/** Largest distance block (rows × columns) computed at once, as MAX_DISTANCE_CELLS_PER_BLOCK. */
export const HIER_TENSOR_MAX_CELLS_PER_BLOCK = 1 << 22;

/** Merges in the order found (see hierarchical.ts). */
export interface HierRawMerges {
  a: Int32Array;
  b: Int32Array;
  dist: Float64Array;
}

/** The progress/abort pacer hierarchical.ts passes in. */
export interface HierPacer {
  due(cells: number): boolean;
  beat(phase: string, merges: number): Promise<void>;
}

function rawMerges(n: number): HierRawMerges {
  const m = Math.max(0, n - 1);
  return { a: new Int32Array(m), b: new Int32Array(m), dist: new Float64Array(m) };
}

/** scipy's nn_chain with Ward's distance, the nearest-neighbour search done on device-resident centroids. */
export async function wardNnChainTensor(
  points: Float32Array,
  n: number,
  d: number,
  pacer: HierPacer,
): Promise<HierRawMerges> {
  const out = rawMerges(n);
  if (n < 2) return out;
  // Host float64 copy of the centroids: merge heights and the rows written back to the device come from it.
  const c = Float64Array.from(points);
  const size = new Float64Array(n).fill(1);
  const chain = new Int32Array(n);
  let chainLength = 0;
  let firstActive = 0;
  let C = tf.tensor2d(points, [n, d]);
  let S = tf.ones([n]) as tf.Tensor1D;
  const index = tf.range(0, n, 1, 'int32');
  const infinity = tf.scalar(Infinity);
  try {
    for (let k = 0; k < n - 1; k++) {
      while (size[firstActive] === 0) firstActive++;
      if (chainLength === 0) chain[chainLength++] = firstActive;
      let x = 0;
      let y = 0;
      for (;;) {
        x = chain[chainLength - 1];
        const prev = chainLength > 1 ? chain[chainLength - 2] : -1;
        const sx = size[x];
        const found = tf.tidy(() => {
          const sq = C.sub(C.slice([x, 0], [1, d]))
            .square()
            .sum(1);
          const w = S.mul(2 * sx).div(S.add(sx));
          const mask = S.greater(0).logicalAnd(index.notEqual(tf.scalar(x, 'int32')));
          const v = tf.where(mask, w.mul(sq), infinity.broadcastTo([n])) as tf.Tensor1D;
          const atPrev = prev >= 0 ? v.slice([prev], [1]) : infinity.reshape([1]);
          return tf.concat([v.min().reshape([1]), v.argMin().cast('float32').reshape([1]), atPrev]);
        });
        const [minValue, argMin, prevValue] = await found.data();
        found.dispose();
        // scipy keeps the previous chain element unless a candidate is strictly closer (lowest index on ties).
        y = prev >= 0 && !(minValue < prevValue) ? prev : argMin;
        if (pacer.due(n * d)) await pacer.beat('merging', k);
        if (prev >= 0 && y === prev) break;
        chain[chainLength++] = y;
      }
      chainLength -= 2;
      if (x > y) [x, y] = [y, x];
      const nx = size[x];
      const ny = size[y];
      const w = (2 * nx * ny) / (nx + ny);
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = c[x * d + j] - c[y * d + j];
        s += t * t;
      }
      out.a[k] = x;
      out.b[k] = y;
      out.dist[k] = Math.sqrt(w * s);
      const row = new Float32Array(d);
      for (let j = 0; j < d; j++) row[j] = c[y * d + j] = (nx * c[x * d + j] + ny * c[y * d + j]) / (nx + ny);
      size[y] = nx + ny;
      size[x] = 0;
      // Row y ← the new centroid, size[y] ← nx + ny, size[x] ← 0: exact with 0/1 masks (0·v = 0, 1·v = v).
      const [nextC, nextS] = tf.tidy(() => {
        const my = tf
          .oneHot(tf.tensor1d([y], 'int32'), n)
          .reshape([n])
          .cast('float32');
        const mx = tf
          .oneHot(tf.tensor1d([x], 'int32'), n)
          .reshape([n])
          .cast('float32');
        const keep = tf.scalar(1).sub(my);
        const newC = C.mul(keep.reshape([n, 1])).add(my.reshape([n, 1]).mul(tf.tensor2d(row, [1, d])));
        const newS = S.mul(keep.sub(mx)).add(my.mul(nx + ny));
        return [newC, newS] as [tf.Tensor2D, tf.Tensor1D];
      });
      C.dispose();
      S.dispose();
      C = nextC;
      S = nextS;
    }
  } finally {
    C.dispose();
    S.dispose();
    index.dispose();
    infinity.dispose();
  }
  return out;
}

/** scikit-learn's mst_linkage_core (Prim's from point 0), each step's distances and minimum computed on the device. */
export async function primMstTensor(
  points: Float32Array,
  n: number,
  d: number,
  pacer: HierPacer,
): Promise<HierRawMerges> {
  const out = rawMerges(n);
  if (n < 2) return out;
  const X = tf.tensor2d(points, [n, d]);
  let current = tf.fill([n], Infinity) as tf.Tensor1D;
  let outside = tf.ones([n]) as tf.Tensor1D;
  const infinity = tf.scalar(Infinity);
  let node = 0;
  try {
    for (let k = 0; k < n - 1; k++) {
      const [nextCurrent, nextOutside, found] = tf.tidy(() => {
        const nodeMask = tf
          .oneHot(tf.tensor1d([node], 'int32'), n)
          .reshape([n])
          .cast('float32');
        const o = outside.mul(tf.scalar(1).sub(nodeMask)) as tf.Tensor1D;
        const d2 = X.sub(X.slice([node, 0], [1, d]))
          .square()
          .sum(1);
        const cur = tf.minimum(current, d2) as tf.Tensor1D;
        const v = tf.where(o.greater(0), cur, infinity.broadcastTo([n]));
        return [cur, o, tf.concat([v.min().reshape([1]), v.argMin().cast('float32').reshape([1])])] as [
          tf.Tensor1D,
          tf.Tensor1D,
          tf.Tensor1D,
        ];
      });
      current.dispose();
      outside.dispose();
      current = nextCurrent;
      outside = nextOutside;
      const [best, next] = await found.data();
      found.dispose();
      out.a[k] = node;
      out.b[k] = next;
      out.dist[k] = Math.sqrt(best);
      node = next;
      if (pacer.due((n - k) * d)) await pacer.beat('minimum spanning tree', k);
    }
  } finally {
    X.dispose();
    current.dispose();
    outside.dispose();
    infinity.dispose();
  }
  return out;
}

/**
 * scipy's condensed pdist(X, 'euclidean'), built from device blocks of rows i ∈ [r0, r1) against columns j ≥ r0 of
 * the centred points, as √max(0, ‖x_i‖² − 2·x_i·x_j + ‖x_j‖²) in float32.
 */
export async function pdistTensor(points: Float32Array, n: number, d: number, pacer: HierPacer): Promise<Float64Array> {
  const out = new Float64Array((n * (n - 1)) / 2);
  if (n < 2) return out;
  // Centre (in float64) so that the expansion does not cancel large norms.
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const centred = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) centred[i * d + j] = points[i * d + j] - mean[j];
  const X = tf.tensor2d(centred, [n, d]);
  const norms = tf.tidy(() => X.square().sum(1));
  const blockRows = Math.max(1, Math.floor(HIER_TENSOR_MAX_CELLS_PER_BLOCK / n));
  let at = 0;
  try {
    for (let r0 = 0; r0 < n - 1; r0 += blockRows) {
      const rows = Math.min(blockRows, n - 1 - r0);
      const cols = n - r0;
      const block = tf.tidy(() => {
        const A = X.slice([r0, 0], [rows, d]);
        const B = X.slice([r0, 0], [cols, d]);
        const d2 = norms
          .slice([r0], [rows])
          .reshape([rows, 1])
          .sub(A.matMul(B, false, true).mul(2))
          .add(norms.slice([r0], [cols]).reshape([1, cols]));
        return d2.relu().sqrt();
      });
      const values = await block.data();
      block.dispose();
      for (let r = 0; r < rows; r++) {
        // Row i = r0 + r, columns j = i + 1 … n − 1, i.e. block columns r + 1 … cols − 1.
        const base = r * cols;
        for (let col = r + 1; col < cols; col++) out[at++] = values[base + col];
      }
      if (pacer.due(rows * cols * d)) await pacer.beat('pairwise distances', 0);
    }
  } finally {
    X.dispose();
    norms.dispose();
  }
  return out;
}
