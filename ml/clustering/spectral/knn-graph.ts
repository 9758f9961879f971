/**
 * The k-nearest-neighbour affinity of spectral clustering, as scikit-learn builds it for
 * SpectralClustering(affinity='nearest_neighbors'): kneighbors_graph(X, n_neighbors, include_self=True) (each point
 * is one of its own n_neighbors), symmetrised as 0.5·(A + Aᵀ), so an edge is 1 when both points list each other and
 * 0.5 when only one does. The Laplacian ignores the diagonal, so only the nNeighbors − 1 nearest *other* points of
 * each point matter here.
 *
 * Two ways to find them, both exact up to ties (and float32 rounding of near-equal distances on the device path):
 *   - a kd-tree on the host in float64 for d ≤ KD_TREE_MAX_DIMENSIONS, O(n log n) for the low-dimensional data
 *     spectral clustering is mostly used on (scikit-learn's algorithm='auto' picks a tree there too);
 *   - blocked tensor distances otherwise: one row block at a time against all n points, ‖y‖² − 2x·y by one matMul
 *     and tf.topk on the device, so no distance block exceeds MAX_KNN_DISTANCE_CELLS. O(n²·d) work, GPU-friendly.
 * Memory is O(n·nNeighbors) either way: the graph is kept as CSR with float64 weights and never densified.
 */
import * as tf from '@tensorflow/tfjs';
import { SymmetricOperator } from './eigen';

/** Largest d for which the kd-tree is used; beyond it a tree prunes too little and blocked distances win. */
export const KD_TREE_MAX_DIMENSIONS = 8;
/** Most cells (rows × n) of a distance block on the device: 2^22 float32 = 16 MiB, as MAX_DISTANCE_CELLS_PER_BLOCK. */
export const MAX_KNN_DISTANCE_CELLS = 1 << 22;
const KD_LEAF_SIZE = 16;
/** Queries between checkpoints (abort checks and event-loop yields) on the host path. */
const QUERY_CHUNK = 2048;

export type KnnMethod = 'kd-tree' | 'blocked tensor distances';

export interface NeighborLists {
  /** n×others row-major: for each point, its `others` nearest other points (as a set: in no particular order). */
  indices: Int32Array;
  others: number;
  method: KnnMethod;
}

/**
 * For every point, its `others` nearest other points (Euclidean; ties in either order). `coords` are the points in
 * float64 (ideally centred: the device path rounds them to float32). `checkpoint` is awaited between chunks of work.
 */
export async function nearestNeighbors(
  coords: Float64Array,
  n: number,
  d: number,
  others: number,
  checkpoint: () => Promise<void>,
  method: KnnMethod = d <= KD_TREE_MAX_DIMENSIONS ? 'kd-tree' : 'blocked tensor distances',
): Promise<NeighborLists> {
  if (!Number.isInteger(others) || others < 0 || others > n - 1) {
    throw new RangeError(`others must be an integer in 0..n-1 = ${n - 1}, got ${others}`);
  }
  const indices =
    others === 0
      ? new Int32Array(0)
      : method === 'kd-tree'
        ? await kdTreeNeighbors(coords, n, d, others, checkpoint)
        : await blockedNeighbors(coords, n, d, others, checkpoint);
  return { indices, others, method };
}

// ---------------------------------------------------------------------------------------------------------------
// kd-tree (host, float64)

async function kdTreeNeighbors(
  coords: Float64Array,
  n: number,
  d: number,
  others: number,
  checkpoint: () => Promise<void>,
): Promise<Int32Array> {
  const tree = new KdTree(coords, n, d);
  const out = new Int32Array(n * others);
  const heapDist = new Float64Array(others);
  const heapIdx = new Int32Array(others);
  for (let start = 0; start < n; start += QUERY_CHUNK) {
    await checkpoint();
    const end = Math.min(n, start + QUERY_CHUNK);
    for (let i = start; i < end; i++) {
      tree.query(i, others, heapDist, heapIdx); // always finds `others` points: others ≤ n − 1
      out.set(heapIdx, i * others);
    }
  }
  return out;
}

/** A balanced kd-tree over point indices: median splits on the widest dimension, bounding boxes for pruning. */
class KdTree {
  private readonly perm: Int32Array;
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly boxList: number[] = [];
  private readonly boxes: Float64Array;

  constructor(
    private readonly coords: Float64Array,
    n: number,
    private readonly d: number,
  ) {
    this.perm = Int32Array.from({ length: n }, (_, i) => i);
    this.build(0, n);
    this.boxes = Float64Array.from(this.boxList);
  }

  private build(lo: number, hi: number): number {
    const { d, coords, perm } = this;
    const id = this.start.length;
    this.start.push(lo);
    this.end.push(hi);
    this.left.push(-1);
    this.right.push(-1);
    const box = this.boxList.length;
    for (let j = 0; j < d; j++) this.boxList.push(Infinity, -Infinity);
    for (let t = lo; t < hi; t++) {
      const p = perm[t] * d;
      for (let j = 0; j < d; j++) {
        const v = coords[p + j];
        if (v < this.boxList[box + 2 * j]) this.boxList[box + 2 * j] = v;
        if (v > this.boxList[box + 2 * j + 1]) this.boxList[box + 2 * j + 1] = v;
      }
    }
    if (hi - lo <= KD_LEAF_SIZE) return id;
    let dim = 0;
    let widest = -1;
    for (let j = 0; j < d; j++) {
      const extent = this.boxList[box + 2 * j + 1] - this.boxList[box + 2 * j];
      if (extent > widest) {
        widest = extent;
        dim = j;
      }
    }
    const mid = (lo + hi) >>> 1;
    this.select(lo, hi, mid, dim);
    const l = this.build(lo, mid);
    const r = this.build(mid, hi);
    this.left[id] = l;
    this.right[id] = r;
    return id;
  }

  /** Reorders perm[lo..hi) so that perm[k] has the k-th smallest coordinate `dim` (3-way quickselect, duplicate-safe). */
  private select(lo: number, hi: number, k: number, dim: number): void {
    const { perm, coords, d } = this;
    const key = (t: number): number => coords[perm[t] * d + dim];
    let a = lo;
    let b = hi - 1;
    while (a < b) {
      const pivot = key((a + b) >>> 1);
      let lt = a;
      let gt = b;
      let t = a;
      while (t <= gt) {
        const v = key(t);
        if (v < pivot) {
          [perm[lt], perm[t]] = [perm[t], perm[lt]];
          lt++;
          t++;
        } else if (v > pivot) {
          [perm[t], perm[gt]] = [perm[gt], perm[t]];
          gt--;
        } else {
          t++;
        }
      }
      if (k < lt) b = lt - 1;
      else if (k > gt) a = gt + 1;
      else return;
    }
  }

  // Query state, kept in fields so that a query allocates nothing.
  private qi = 0;
  private qCount = 0;
  private size = 0;
  private heapDist: Float64Array = new Float64Array(0);
  private heapIdx: Int32Array = new Int32Array(0);

  /** The `count` nearest points other than i, as a max-heap (heapDist/heapIdx); returns how many were found. */
  query(i: number, count: number, heapDist: Float64Array, heapIdx: Int32Array): number {
    this.qi = i;
    this.qCount = count;
    this.size = 0;
    this.heapDist = heapDist;
    this.heapIdx = heapIdx;
    this.visit(0, 0);
    return this.size;
  }

  private visit(node: number, nodeDistance: number): void {
    if (this.size === this.qCount && nodeDistance >= this.heapDist[0]) return;
    const l = this.left[node];
    if (l < 0) {
      const { coords, d, perm, qi } = this;
      const q = qi * d;
      for (let t = this.start[node]; t < this.end[node]; t++) {
        const p = perm[t];
        if (p === qi) continue;
        let s = 0;
        for (let j = 0; j < d; j++) {
          const diff = coords[p * d + j] - coords[q + j];
          s += diff * diff;
        }
        if (this.size < this.qCount || s < this.heapDist[0]) this.push(s, p);
      }
      return;
    }
    const r = this.right[node];
    const dl = this.boxDistance(l);
    const dr = this.boxDistance(r);
    if (dl <= dr) {
      this.visit(l, dl);
      this.visit(r, dr);
    } else {
      this.visit(r, dr);
      this.visit(l, dl);
    }
  }

  /** Squared distance from the query point to the node's bounding box. */
  private boxDistance(node: number): number {
    const { coords, d, boxes } = this;
    const q = this.qi * d;
    const box = node * 2 * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = coords[q + j];
      const lo = boxes[box + 2 * j];
      const hi = boxes[box + 2 * j + 1];
      const gap = v < lo ? lo - v : v > hi ? v - hi : 0;
      s += gap * gap;
    }
    return s;
  }

  private push(dist: number, idx: number): void {
    const { heapDist, heapIdx } = this;
    if (this.size < this.qCount) {
      let c = this.size++;
      while (c > 0) {
        const parent = (c - 1) >> 1;
        if (heapDist[parent] >= dist) break;
        heapDist[c] = heapDist[parent];
        heapIdx[c] = heapIdx[parent];
        c = parent;
      }
      heapDist[c] = dist;
      heapIdx[c] = idx;
      return;
    }
    let c = 0;
    for (;;) {
      const l = 2 * c + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const big = r < this.size && heapDist[r] > heapDist[l] ? r : l;
      if (heapDist[big] <= dist) break;
      heapDist[c] = heapDist[big];
      heapIdx[c] = heapIdx[big];
      c = big;
    }
    heapDist[c] = dist;
    heapIdx[c] = idx;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Blocked tensor distances (device, float32)

async function blockedNeighbors(
  coords: Float64Array,
  n: number,
  d: number,
  others: number,
  checkpoint: () => Promise<void>,
): Promise<Int32Array> {
  const out = new Int32Array(n * others);
  // Columns as [−2y; ‖y‖²] ((d+1)×n, no transposed matMul needed): x_aug·cols = ‖y‖² − 2x·y, which ranks the
  // points y by distance to x (‖x‖² is the same along the row).
  const cols = new Float32Array((d + 1) * n);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.fround(coords[i * d + j]);
      cols[j * n + i] = -2 * v;
      norm += v * v;
    }
    cols[d * n + i] = norm;
  }
  const take = Math.min(n, others + 1);
  const blockRows = Math.max(1, Math.floor(MAX_KNN_DISTANCE_CELLS / n));
  const colTensor = tf.tensor2d(cols, [d + 1, n]);
  try {
    for (let start = 0; start < n; start += blockRows) {
      await checkpoint();
      const rows = Math.min(blockRows, n - start);
      const buf = new Float32Array(rows * (d + 1));
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < d; j++) buf[r * (d + 1) + j] = coords[(start + r) * d + j];
        buf[r * (d + 1) + d] = 1;
      }
      const idx = tf.tidy(() => tf.topk(tf.neg(tf.matMul(tf.tensor2d(buf, [rows, d + 1]), colTensor)), take).indices);
      const found = await idx.data();
      idx.dispose();
      for (let r = 0; r < rows; r++) {
        const i = start + r;
        // take = others + 1 candidates, nearest first: drop i itself if it is among them (it usually is, at distance
        // ~0), else drop the farthest (i tied with ≥ take duplicates of itself).
        let w = 0;
        for (let t = 0; t < take && w < others; t++) {
          const j = found[r * take + t];
          if (j !== i) out[i * others + w++] = j;
        }
      }
    }
  } finally {
    colTensor.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Symmetric graph and its normalised operator

/** The symmetrised affinity 0.5·(A + Aᵀ) without its diagonal, as CSR with float64 weights. */
export interface KnnGraph {
  n: number;
  rowStart: Int32Array;
  cols: Int32Array;
  /** 0.5 (one point lists the other) or 1 (mutual neighbours). */
  weights: Float64Array;
  /** Row sums of the weights. */
  degrees: Float64Array;
  /** Number of connected components (scikit-learn warns when > 1: the embedding then separates components). */
  components: number;
  /** Component of each point, 0..components−1 in order of first appearance. */
  componentOf: Int32Array;
}

export function symmetricGraph(lists: NeighborLists, n: number): KnnGraph {
  const { indices, others } = lists;
  const counts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    counts[i] += others;
    for (let t = 0; t < others; t++) counts[indices[i * others + t]]++;
  }
  const raw = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) raw[i + 1] = raw[i] + counts[i];
  const fill = raw.slice(0, n);
  const rawCols = new Int32Array(raw[n]);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < others; t++) {
      const j = indices[i * others + t];
      rawCols[fill[i]++] = j;
      rawCols[fill[j]++] = i;
    }
  }
  // Each directed edge contributes 0.5 to (i, j) and to (j, i); an edge listed both ways appears twice in a row.
  const rowStart = new Int32Array(n + 1);
  const cols = new Int32Array(raw[n]);
  const weights = new Float64Array(raw[n]);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    const row = rawCols.subarray(raw[i], raw[i + 1]);
    if (row.length > 64) row.sort();
    else insertionSort(row); // rows are short; TypedArray#sort's per-call cost dominates there
    for (let t = 0; t < row.length; t++) {
      if (t > 0 && row[t] === row[t - 1]) {
        weights[nnz - 1] += 0.5;
      } else {
        cols[nnz] = row[t];
        weights[nnz++] = 0.5;
      }
    }
    rowStart[i + 1] = nnz;
  }
  const degrees = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let e = rowStart[i]; e < rowStart[i + 1]; e++) degrees[i] += weights[e];
  return {
    n,
    rowStart,
    cols: cols.slice(0, nnz),
    weights: weights.slice(0, nnz),
    degrees,
    ...connectedComponents(n, rowStart, cols),
  };
}

function insertionSort(a: Int32Array): void {
  for (let t = 1; t < a.length; t++) {
    const v = a[t];
    let u = t - 1;
    while (u >= 0 && a[u] > v) {
      a[u + 1] = a[u];
      u--;
    }
    a[u + 1] = v;
  }
}

function connectedComponents(
  n: number,
  rowStart: Int32Array,
  cols: Int32Array,
): { components: number; componentOf: Int32Array } {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  for (let i = 0; i < n; i++) {
    for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
      const a = find(i);
      const b = find(cols[e]);
      if (a !== b) parent[a] = b;
    }
  }
  const componentOf = new Int32Array(n).fill(-1);
  const ids = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const root = find(i);
    let id = ids.get(root);
    if (id === undefined) ids.set(root, (id = ids.size));
    componentOf[i] = id;
  }
  return { components: ids.size, componentOf };
}

/**
 * The eigenvectors of M for eigenvalue 1 in closed form, for a graph without isolated points: one per connected
 * component C, D^{1/2}·1_C normalised (M·D^{1/2}1_C = D^{-1/2} W 1_C = D^{1/2} 1_C, as W's rows sum to the degrees).
 * They span M's whole eigenspace for 1, so when there are exactly k components they *are* the top-k eigenspace, and
 * k-means on any orthonormal basis of it gives the same partition (it is invariant under rotations).
 */
export function componentEigenvectors(graph: KnnGraph): Float64Array {
  const { n, components, componentOf, degrees } = graph;
  const mass = new Float64Array(components);
  for (let i = 0; i < n; i++) mass[componentOf[i]] += degrees[i];
  const vectors = new Float64Array(n * components);
  for (let i = 0; i < n; i++) vectors[i * components + componentOf[i]] = Math.sqrt(degrees[i] / mass[componentOf[i]]);
  return vectors;
}

/**
 * M = D^{-1/2} W D^{-1/2} of a graph, applied as a sparse product on the host in float64. Its spectrum lies in
 * [−1, 1]. An isolated point (degree 0, only when nNeighbors = 1) has a zero row, as scipy's normalised Laplacian
 * gives it.
 */
export class NormalizedGraphOperator implements SymmetricOperator {
  readonly n: number;
  readonly lowerBound = -1;
  private readonly values: Float64Array;

  constructor(private readonly graph: KnnGraph) {
    this.n = graph.n;
    const { rowStart, cols, weights, degrees } = graph;
    this.values = new Float64Array(weights.length);
    for (let i = 0; i < this.n; i++) {
      for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
        this.values[e] = weights[e] / Math.sqrt(degrees[i] * degrees[cols[e]]);
      }
    }
  }

  /**
   * Columns are processed in groups of 8 (then 4, then 1) with the sums kept in locals: ~3× faster than updating y for
   * every non-zero, and the eigensolver picks block sizes that are multiples of 4.
   */
  async apply(x: Float64Array, b: number): Promise<Float64Array> {
    return this.multiply(x, b, 1, 0, 0, x);
  }

  async applyCombined(
    x: Float64Array,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
  ): Promise<Float64Array> {
    return this.multiply(x, b, alpha, beta, gamma, z);
  }

  /** alpha·M x + beta·x + gamma·z. */
  private multiply(
    x: Float64Array,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
  ): Float64Array {
    const y = new Float64Array(this.n * b);
    this.multiplyRows(x, y, b, alpha, beta, gamma, z, 0, this.n);
    return y;
  }

  /**
   * Rows [r0, r1) of alpha·M x + beta·x + gamma·z into y. Each row's sums run in the same order whatever the range, so
   * splitting the rows between threads (graph-pool.ts) gives bit-identical products.
   */
  multiplyRows(
    x: Float64Array,
    y: Float64Array,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
    r0: number,
    r1: number,
  ): void {
    for (let c0 = 0; c0 < b;) {
      const width = b - c0 >= 8 ? 8 : b - c0 >= 4 ? 4 : 1;
      if (width === 8) {
        this.columns8(x, y, b, c0, alpha, beta, gamma, z, r0, r1);
      } else {
        if (width === 4) this.columns4(x, y, b, c0, r0, r1);
        else this.column(x, y, b, c0, r0, r1);
        if (alpha !== 1 || beta !== 0 || gamma !== 0) {
          for (let i = r0; i < r1; i++) {
            for (let c = c0; c < c0 + width; c++) {
              const t = i * b + c;
              y[t] = alpha * y[t] + beta * x[t] + gamma * z[t];
            }
          }
        }
      }
      c0 += width;
    }
  }

  /** The main kernel, with the combination fused into the write-out (saves a pass over three n×8 blocks). */
  private columns8(
    x: Float64Array,
    y: Float64Array,
    b: number,
    c0: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
    r0: number,
    r1: number,
  ): void {
    const { rowStart, cols } = this.graph;
    const { values } = this;
    for (let i = r0; i < r1; i++) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        s4 = 0,
        s5 = 0,
        s6 = 0,
        s7 = 0;
      const end = rowStart[i + 1];
      for (let e = rowStart[i]; e < end; e++) {
        const w = values[e];
        const xj = cols[e] * b + c0;
        s0 += w * x[xj];
        s1 += w * x[xj + 1];
        s2 += w * x[xj + 2];
        s3 += w * x[xj + 3];
        s4 += w * x[xj + 4];
        s5 += w * x[xj + 5];
        s6 += w * x[xj + 6];
        s7 += w * x[xj + 7];
      }
      const t = i * b + c0;
      y[t] = alpha * s0 + beta * x[t] + gamma * z[t];
      y[t + 1] = alpha * s1 + beta * x[t + 1] + gamma * z[t + 1];
      y[t + 2] = alpha * s2 + beta * x[t + 2] + gamma * z[t + 2];
      y[t + 3] = alpha * s3 + beta * x[t + 3] + gamma * z[t + 3];
      y[t + 4] = alpha * s4 + beta * x[t + 4] + gamma * z[t + 4];
      y[t + 5] = alpha * s5 + beta * x[t + 5] + gamma * z[t + 5];
      y[t + 6] = alpha * s6 + beta * x[t + 6] + gamma * z[t + 6];
      y[t + 7] = alpha * s7 + beta * x[t + 7] + gamma * z[t + 7];
    }
  }

  private columns4(x: Float64Array, y: Float64Array, b: number, c0: number, r0: number, r1: number): void {
    const { rowStart, cols } = this.graph;
    const { values } = this;
    for (let i = r0; i < r1; i++) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      const end = rowStart[i + 1];
      for (let e = rowStart[i]; e < end; e++) {
        const w = values[e];
        const xj = cols[e] * b + c0;
        s0 += w * x[xj];
        s1 += w * x[xj + 1];
        s2 += w * x[xj + 2];
        s3 += w * x[xj + 3];
      }
      const yi = i * b + c0;
      y[yi] = s0;
      y[yi + 1] = s1;
      y[yi + 2] = s2;
      y[yi + 3] = s3;
    }
  }

  private column(x: Float64Array, y: Float64Array, b: number, c: number, r0: number, r1: number): void {
    const { rowStart, cols } = this.graph;
    const { values } = this;
    for (let i = r0; i < r1; i++) {
      let s = 0;
      const end = rowStart[i + 1];
      for (let e = rowStart[i]; e < end; e++) s += values[e] * x[cols[e] * b + c];
      y[i * b + c] = s;
    }
  }
}
