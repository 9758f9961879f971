/**
 * DBSCAN (Ester et al. 1996) exactly as scikit-learn's DBSCAN computes it, so that labels, core points and noise are
 * the same as sklearn.cluster.DBSCAN(eps, min_samples=minPoints, metric) on the same (float32) data:
 *
 *  - a point's neighbourhood is every point at distance ≤ eps, itself included, so minPoints counts the point itself
 *    (scikit-learn's min_samples); core points have at least minPoints neighbours;
 *  - clusters are the connected components of core points (two cores are linked when within eps); every other point
 *    within eps of a core point is a border point, all the rest is noise (label -1);
 *  - scikit-learn grows clusters depth-first from the core points in index order, numbering them 0, 1, ... as it goes,
 *    and a border point within reach of several clusters keeps the one that reached it first. That makes cluster c the
 *    component whose smallest core index is the c-th smallest, and gives a border point the lowest-numbered cluster
 *    among its core neighbours; we compute exactly that, so even the cluster numbers agree with scikit-learn's.
 *
 * The work is three passes over neighbour pairs, none of which keeps full neighbour lists (scikit-learn does, which
 * is O(n·average neighbours) memory); memory here stays O(n·d) plus at most NEIGHBOUR_STORE_MAX_ENTRIES indices:
 *  1. count neighbours (a point stops being counted once it reaches minPoints: that is all "core" needs; the kd-tree
 *     method also records each point's first minPoints − 1 neighbours);
 *  2. union-find over core–core pairs (pairs already in one component are skipped before their distance is computed);
 *  3. for non-core points that have neighbours, the lowest cluster number among their core neighbours (read from the
 *     recorded neighbours, which are complete for non-core points, or searched again).
 *
 * Two neighbour-search methods, chosen by backend and dimension (see chooseDbscanMethod):
 *  - 'kd-tree': a bucket kd-tree on the host, exact float64 distances between leaves whose boxes are within eps; by far
 *    the fastest on CPU backends in low and moderate dimensions (scikit-learn uses a kd-tree/ball tree too);
 *  - 'tensor': blocked pairwise distances as TensorFlow.js programs, never more than DBSCAN_MAX_CELLS_PER_BLOCK
 *    distances at once; O(n²) work but dense and device-friendly, which wins on a GPU and in high dimensions.
 *
 * cosine: distance 1 − cos(a, b). Rows are normalised (in float64) and, since ‖a − b‖² = 2 − 2·cos for unit vectors,
 * cosine distance ≤ eps exactly when the euclidean distance between the normalised rows is ≤ √(2·eps).
 */
import * as tf from '@tensorflow/tfjs';
import { BackendName, initComputeBackend } from '../../backend';
import { KdTree, buildKdTree, candidateLeaves, pointToLeafBox2 } from './kdtree';
import { AlgorithmLimit, ClusteringHooks, ClusteringOutput } from '../types';
import { throwIfAborted as abortIfSignalled } from '../../abort';

export interface DbscanParams {
  /** Neighbourhood radius (> 0): euclidean distance, or cosine distance 1 − cos for metric 'cosine'. */
  eps: number;
  /** Neighbours (the point itself included) that make a point a core point; scikit-learn's min_samples. */
  minPoints: number;
  metric?: 'euclidean' | 'cosine';
}

export interface DbscanResult {
  /** Cluster per point, numbered as scikit-learn numbers them; -1 = noise. */
  labels: Int32Array;
  clusters: number;
  corePoints: number;
  noisePoints: number;
  /** 1 for core points (scikit-learn's core_sample_indices_ as a mask). */
  isCore: Uint8Array;
  /** How neighbours were searched, e.g. "kd-tree (host, float64), 2-d on wasm". */
  method: string;
}

export type DbscanMethod = 'kd-tree' | 'tensor';

/**
 * Most pairwise distances one tensor block holds: 2^22 float32 = 16 MiB (a block step holds a few such matrices: the
 * distances, the mask and a cast), so peak device memory per step stays under ~64 MiB whatever n is. The kd-tree
 * method reports progress (and checks for abort) after about this many candidate pairs too.
 */
export const DBSCAN_MAX_CELLS_PER_BLOCK = 1 << 22;

/**
 * Memory is O(n·d) for both methods (no full neighbour lists are kept), so the limit is about time: exact DBSCAN needs
 * every pair within eps, which is O(n²) in the worst case (high dimensions, or an eps that covers much of the data).
 */
export const DBSCAN_LIMIT: AlgorithmLimit = {
  maxPoints: 1_000_000,
  why:
    'exact DBSCAN compares every pair of points within eps: O(n²) distance work in the worst case (high dimensions, ' +
    'or an eps that covers much of the data), so beyond 1,000,000 points a job could run for hours',
  alternative: 'minibatch-kmeans',
};

/**
 * Highest dimension for which the host kd-tree is used, by backend. Measured on the project's 2-core development host (wasm,
 * n = 20,000 blobs): the kd-tree (float64 loops that stop a distance once it passes eps) took 0.6 s at d = 32 and
 * 6.2 s at d = 512 where wasm tensor blocks took 4.2 s and 8.5 s, so wasm keeps the kd-tree up to d = 512; the
 * pure-JS 'cpu' backend always does. With libtensorflow (multi-threaded native kernels) dense blocks catch up sooner
 * (set at 32, not measured here), and on a CUDA GPU they win everywhere except in 1–3 dimensions.
 */
export const DBSCAN_KDTREE_MAX_DIMS: Record<BackendName | 'tfjs-node-gpu (CUDA)', number> = {
  'tfjs-node-gpu (CUDA)': 3,
  'tfjs-node-gpu': 32,
  'tfjs-node': 32,
  wasm: 512,
  cpu: Number.POSITIVE_INFINITY,
};
/** Points per kd-tree leaf: small leaves prune best in 2-d, large ones waste less on unprunable pairs at d ≈ 16 (measured). */
const leafSize = (d: number): number => Math.min(256, Math.max(16, 8 * d));
/**
 * Most neighbour indices the kd-tree method records while counting (n · (minPoints − 1) of them): 2^24 int32 = 64 MiB.
 * Above that it finds border points' core neighbours with one more search instead.
 */
const NEIGHBOUR_STORE_MAX_ENTRIES = 1 << 24;

const METRICS = ['euclidean', 'cosine'] as const;

/** The neighbour search dbscan() uses for d dimensions on the given backend (gpu: a CUDA device is in use). */
export function chooseDbscanMethod(backend: BackendName, gpu: boolean, d: number): DbscanMethod {
  const maxTreeDims = DBSCAN_KDTREE_MAX_DIMS[backend === 'tfjs-node-gpu' && gpu ? 'tfjs-node-gpu (CUDA)' : backend];
  return d <= maxTreeDims ? 'kd-tree' : 'tensor';
}

/**
 * Clusters n row-major d-dimensional points with DBSCAN. Deterministic; labels are numbered as scikit-learn numbers
 * them. Invalid arguments reject with a RangeError naming the parameter; an aborted hooks.signal rejects with an
 * Error named 'AbortError'. hooks.onProgress is awaited after every block of work. No tensors outlive the call.
 */
export async function dbscan(
  points: Float32Array,
  n: number,
  d: number,
  params: DbscanParams,
  hooks: ClusteringHooks = {},
): Promise<DbscanResult> {
  validate(points, n, d, params);
  const backend = await initComputeBackend();
  const gpu = backend.cuda;
  return run(chooseDbscanMethod(backend.name, gpu, d), points, n, d, params, hooks);
}

/**
 * dbscan() with the neighbour search forced (for tests and benchmarks); same results, different speed.
 * options.neighbourStoreMaxEntries overrides NEIGHBOUR_STORE_MAX_ENTRIES (0 forces the kd-tree's third search).
 */
export async function dbscanWithMethod(
  method: DbscanMethod,
  points: Float32Array,
  n: number,
  d: number,
  params: DbscanParams,
  hooks: ClusteringHooks = {},
  options: { neighbourStoreMaxEntries?: number } = {},
): Promise<DbscanResult> {
  validate(points, n, d, params);
  if (method !== 'kd-tree' && method !== 'tensor')
    throw new RangeError(`method must be 'kd-tree' or 'tensor', got ${JSON.stringify(method)}`);
  return run(method, points, n, d, params, hooks, options.neighbourStoreMaxEntries ?? NEIGHBOUR_STORE_MAX_ENTRIES);
}

async function run(
  method: DbscanMethod,
  points: Float32Array,
  n: number,
  d: number,
  params: DbscanParams,
  hooks: ClusteringHooks,
  storeMaxEntries = NEIGHBOUR_STORE_MAX_ENTRIES,
): Promise<DbscanResult> {
  const metric = params.metric ?? 'euclidean';
  throwIfAborted(hooks.signal);
  const backend = await initComputeBackend();
  const data = metric === 'cosine' ? normaliseRows(points, n, d) : points;
  // Cosine distance ≤ eps ⟺ ‖â − b̂‖² ≤ 2·eps for the normalised rows â, b̂.
  const eps2 = metric === 'cosine' ? 2 * params.eps : params.eps * params.eps;
  const minPoints = params.minPoints;
  const engine: NeighbourEngine =
    method === 'kd-tree'
      ? new KdTreeEngine(data, n, d, eps2, hooks, storeMaxEntries)
      : new TensorEngine(data, n, d, eps2, hooks);
  try {
    const counts = await engine.countNeighbours(minPoints);
    const core = new Uint8Array(n);
    let corePoints = 0;
    for (let i = 0; i < n; i++) if (counts[i] >= minPoints) ((core[i] = 1), corePoints++);

    // Union-find over original indices whose root is always the smallest index of its set: after pass 2 the root of
    // a core point is its component's smallest core index, i.e. the point scikit-learn's expansion started from.
    const uf = new UnionFind(n);
    if (corePoints > 0) await engine.connectCore(core, uf);

    const rank = new Int32Array(n).fill(-1);
    let clusters = 0;
    for (let i = 0; i < n; i++) {
      if (!core[i]) continue;
      const root = uf.find(i);
      if (root === i) rank[i] = clusters++;
    }
    const labels = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (core[i]) labels[i] = rank[uf.find(i)];

    // Border candidates: non-core points with at least one neighbour besides themselves (their counts are exact).
    const candidates = new Uint8Array(n);
    let anyCandidate = false;
    for (let i = 0; i < n; i++) if (!core[i] && counts[i] > 1) ((candidates[i] = 1), (anyCandidate = true));
    if (anyCandidate && corePoints > 0) {
      const border = await engine.nearestClusterRank(core, labels, candidates);
      for (let i = 0; i < n; i++) if (candidates[i] && border[i] >= 0) labels[i] = border[i];
    }
    throwIfAborted(hooks.signal);
    let noisePoints = 0;
    for (let i = 0; i < n; i++) if (labels[i] < 0) noisePoints++;
    return {
      labels,
      clusters,
      corePoints,
      noisePoints,
      isCore: core,
      method: `${engine.method}, ${d}-d ${metric} on ${backend.name}`,
    };
  } finally {
    engine.dispose();
  }
}

/** DBSCAN as a ClusteringOutput (noise = -1; extras: core and noise counts, eps/minPoints/metric used). */
export async function runDbscan(
  points: Float32Array,
  n: number,
  d: number,
  params: DbscanParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await dbscan(points, n, d, params, hooks);
  const clusterSizes = new Array<number>(r.clusters).fill(0);
  for (let i = 0; i < n; i++) if (r.labels[i] >= 0) clusterSizes[r.labels[i]]++;
  return {
    labels: r.labels,
    clusters: r.clusters,
    method: r.method,
    extras: {
      corePoints: r.corePoints,
      noisePoints: r.noisePoints,
      clusterSizes,
      eps: params.eps,
      minPoints: params.minPoints,
      metric: params.metric ?? 'euclidean',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

function validate(points: Float32Array, n: number, d: number, params: DbscanParams): void {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`n (number of points) must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(d) || d < 1)
    throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d)
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  if (params === null || typeof params !== 'object')
    throw new RangeError('params must be an object with eps and minPoints');
  const { eps, minPoints } = params;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0)
    throw new RangeError(`eps must be a finite number > 0, got ${eps}`);
  if (!Number.isSafeInteger(minPoints) || minPoints < 1) {
    throw new RangeError(
      `minPoints must be a positive integer (it counts the point itself, like scikit-learn's min_samples), got ${minPoints}`,
    );
  }
  const metric = params.metric ?? 'euclidean';
  if (!(METRICS as readonly string[]).includes(metric)) {
    throw new RangeError(`metric must be one of ${METRICS.join(', ')}, got ${JSON.stringify(metric)}`);
  }
  if (n > DBSCAN_LIMIT.maxPoints) {
    throw new RangeError(
      `n = ${n} exceeds the DBSCAN limit of ${DBSCAN_LIMIT.maxPoints} points: ${DBSCAN_LIMIT.why}; use ${DBSCAN_LIMIT.alternative}`,
    );
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) {
      throw new RangeError(`points must be finite; row ${Math.floor(i / d)}, column ${i % d} is ${points[i]}`);
    }
  }
}

/** Rows scaled to unit length (computed in float64, stored float32); an all-zero row has no cosine distance. */
function normaliseRows(points: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += points[i * d + j] * points[i * d + j];
    if (s === 0)
      throw new RangeError(
        `metric 'cosine' needs non-zero rows; row ${i} is all zeros (its cosine distance is undefined)`,
      );
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) out[i * d + j] = points[i * d + j] * inv;
  }
  return out;
}

const throwIfAborted = (signal: AbortSignal | undefined): void => abortIfSignalled(signal, 'DBSCAN');

const nextTick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------------------------
// Union-find

/** Disjoint sets over 0..n-1 whose root is always the smallest member (path halving; no ranks needed for O(log n)). */
class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]];
      i = p[i];
    }
    return i;
  }
  /** Joins the sets of two roots; returns the new root. */
  linkRoots(a: number, b: number): number {
    if (a === b) return a;
    if (a < b) {
      this.parent[b] = a;
      return a;
    }
    this.parent[a] = b;
    return b;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Neighbour search

/** The three passes, each indexed by original point index. */
interface NeighbourEngine {
  readonly method: string;
  /** Neighbours within eps, the point itself included; exact below minPoints, at least minPoints otherwise. */
  countNeighbours(minPoints: number): Promise<Int32Array>;
  /** Links every two core points within eps. */
  connectCore(core: Uint8Array, uf: UnionFind): Promise<void>;
  /** For each candidate, the lowest label among its core neighbours within eps, or -1. */
  nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array>;
  dispose(): void;
}

/** Reports progress and yields to the event loop about every DBSCAN_MAX_CELLS_PER_BLOCK candidate pairs. */
class Pacer {
  private work = 0;
  constructor(
    private readonly hooks: ClusteringHooks,
    private readonly method: string,
  ) {}
  add(cells: number): boolean {
    this.work += cells;
    return this.work >= DBSCAN_MAX_CELLS_PER_BLOCK;
  }
  async beat(phase: string, done: number, total: number): Promise<void> {
    this.work = 0;
    throwIfAborted(this.hooks.signal);
    await this.hooks.onProgress?.({ phase, done, total, method: this.method });
    await nextTick();
    throwIfAborted(this.hooks.signal);
  }
}

/**
 * Host kd-tree: exact float64 distances between points of leaves whose boxes are within eps (and only for points
 * whose own distance to the other leaf's box is within eps).
 *
 * While counting, every point below minPoints records the neighbours it meets (at most minPoints − 1 of them, so
 * n·(minPoints − 1) indices, when that fits NEIGHBOUR_STORE_MAX_ENTRIES). Non-core points never reach minPoints, so
 * their lists end up complete and border points are labelled from them without a third search.
 */
class KdTreeEngine implements NeighbourEngine {
  readonly method = 'kd-tree (host, float64)';
  private readonly tree: KdTree;
  private readonly pacer: Pacer;
  private readonly out: Int32Array;
  private readonly stack: Int32Array;
  /** Neighbours (positions) recorded per position while it was below minPoints; null when over budget. */
  private store: Int32Array | null = null;
  private storeWidth = 0;

  constructor(
    points: Float32Array,
    n: number,
    d: number,
    private readonly eps2: number,
    hooks: ClusteringHooks,
    private readonly storeMaxEntries: number,
  ) {
    this.tree = buildKdTree(points, n, d, leafSize(d));
    this.pacer = new Pacer(hooks, this.method);
    this.out = new Int32Array(this.tree.leafCount);
    this.stack = new Int32Array(this.tree.left.length + 2);
  }

  dispose(): void {
    this.store = null;
  }

  async countNeighbours(minPoints: number): Promise<Int32Array> {
    const { tree, eps2 } = this;
    const { n, d, x, leafCount, leafStart, leafIsClique, leafOf, perm } = tree;
    const count = new Int32Array(n).fill(1);
    const width = minPoints - 1;
    const store = width > 0 && n * width <= this.storeMaxEntries ? new Int32Array(n * width) : null;
    this.store = store;
    this.storeWidth = width;
    // unsaturated[l]: points of leaf l still below minPoints; a leaf pair with none on either side is skipped.
    const unsaturated = new Int32Array(leafCount);
    for (let l = 0; l < leafCount; l++) {
      const s = leafStart[l];
      const e = leafStart[l + 1];
      if (leafIsClique[l]) {
        // Identical points: each is the neighbour of all the others.
        for (let p = s; p < e; p++) {
          count[p] = e - s;
          // Recorded like any other neighbours: the first minPoints − 1 of them.
          if (store) {
            let k = 0;
            for (let q = s; q < e && k < width; q++) if (q !== p) store[p * width + k++] = q;
          }
        }
      }
      for (let p = s; p < e; p++) if (count[p] < minPoints) unsaturated[l]++;
    }
    const bump = (p: number, q: number): void => {
      const c = count[p];
      if (c >= minPoints) return;
      if (store) store[p * width + c - 1] = q;
      count[p] = c + 1;
      if (c + 1 === minPoints) unsaturated[leafOf[p]]--;
    };
    const d4 = d - (d % 4);
    for (let a = 0; a < leafCount; a++) {
      const m = candidateLeaves(tree, a, eps2, true, this.out, this.stack);
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (unsaturated[a] === 0 && unsaturated[b] === 0) continue;
        const same = a === b;
        if (same && leafIsClique[a]) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          const pOpen = count[p] < minPoints;
          if (!pOpen && unsaturated[b] === 0) continue;
          if (!same && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          const pb = p * d;
          for (let q = same ? p + 1 : bs; q < be; q++) {
            if (!pOpen && count[q] >= minPoints) continue;
            // Squared distance, giving up once past eps² (checked every 4 dimensions).
            const qb = q * d;
            let s = 0;
            let j = 0;
            while (j < d4) {
              const t0 = x[pb + j] - x[qb + j];
              const t1 = x[pb + j + 1] - x[qb + j + 1];
              const t2 = x[pb + j + 2] - x[qb + j + 2];
              const t3 = x[pb + j + 3] - x[qb + j + 3];
              s += t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3;
              j += 4;
              if (s > eps2) break;
            }
            if (s > eps2) continue;
            for (; j < d; j++) {
              const t = x[pb + j] - x[qb + j];
              s += t * t;
            }
            if (s <= eps2) {
              bump(p, q);
              bump(q, p);
            }
          }
        }
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('count neighbours', a, leafCount);
      }
    }
    await this.pacer.beat('count neighbours', leafCount, leafCount);
    const byIndex = new Int32Array(n);
    for (let p = 0; p < n; p++) byIndex[perm[p]] = count[p];
    this.positionCounts = count;
    return byIndex;
  }

  private positionCounts: Int32Array | null = null;

  async connectCore(core: Uint8Array, uf: UnionFind): Promise<void> {
    const { tree, eps2 } = this;
    const { n, d, x, leafCount, leafStart, leafIsClique, perm } = tree;
    // Union-find by position here (cache-friendly); the result is moved to original indices at the end.
    const local = new UnionFind(n);
    const isCore = new Uint8Array(n);
    const coreInLeaf = new Int32Array(leafCount);
    for (let p = 0; p < n; p++) if (core[perm[p]]) ((isCore[p] = 1), coreInLeaf[tree.leafOf[p]]++);
    // Start from the core–core links recorded while counting: they already join most of each cluster, so the leaf
    // pairs below mostly find both sides in one component and are skipped without computing a distance.
    const { store, storeWidth, positionCounts } = this;
    if (store && positionCounts) {
      for (let p = 0; p < n; p++) {
        if (!isCore[p]) continue;
        const recorded = Math.min(positionCounts[p], storeWidth + 1) - 1;
        for (let k = 0; k < recorded; k++) {
          const q = store[p * storeWidth + k];
          if (isCore[q]) local.linkRoots(local.find(p), local.find(q));
        }
      }
    }
    // The common root of a leaf's core points, or -1 when they are not (yet) in one component.
    const leafRoot = (l: number): number => {
      let root = -1;
      for (let p = leafStart[l]; p < leafStart[l + 1]; p++) {
        if (!isCore[p]) continue;
        const r = local.find(p);
        if (root === -1) root = r;
        else if (r !== root) return -1;
      }
      return root;
    };
    for (let a = 0; a < leafCount; a++) {
      if (coreInLeaf[a] === 0) continue;
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      if (leafIsClique[a]) {
        // Identical points: all core or none; link them in one sweep.
        let root = local.find(as);
        for (let p = as + 1; p < ae; p++) root = local.linkRoots(root, local.find(p));
      }
      const m = candidateLeaves(tree, a, eps2, true, this.out, this.stack);
      let rootA = leafRoot(a);
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (coreInLeaf[b] === 0) continue;
        const same = a === b;
        if (same && leafIsClique[a]) continue;
        if (rootA >= 0) rootA = local.find(rootA);
        // Both leaves already in one component: no pair between them can add anything.
        if (rootA >= 0 && (same || leafRoot(b) === rootA)) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          if (!isCore[p]) continue;
          if (!same && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          let rp = local.find(p);
          const pb = p * d;
          for (let q = same ? p + 1 : bs; q < be; q++) {
            if (!isCore[q]) continue;
            const rq = local.find(q);
            if (rq === rp) continue;
            const qb = q * d;
            let s = 0;
            for (let j = 0; j < d && s <= eps2; j++) {
              const t = x[pb + j] - x[qb + j];
              s += t * t;
            }
            if (s <= eps2) rp = local.linkRoots(rp, rq);
          }
        }
        if (rootA < 0) rootA = leafRoot(a);
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('connect core points', a, leafCount);
      }
    }
    for (let p = 0; p < n; p++) {
      if (!isCore[p]) continue;
      const r = local.find(p);
      if (r !== p) uf.linkRoots(uf.find(perm[p]), uf.find(perm[r]));
    }
    await this.pacer.beat('connect core points', leafCount, leafCount);
  }

  async nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array> {
    const { tree, eps2, store, storeWidth } = this;
    const { n, leafCount, leafStart, perm } = tree;
    const best = new Int32Array(n).fill(-1);
    if (store && this.positionCounts) {
      // Non-core points never reached minPoints, so their recorded neighbour lists are complete.
      const count = this.positionCounts;
      for (let p = 0; p < n; p++) {
        const i = perm[p];
        if (!candidates[i]) continue;
        let r = -1;
        for (let k = 0; k < count[p] - 1; k++) {
          const j = perm[store[p * storeWidth + k]];
          if (core[j] && (r < 0 || labels[j] < r)) r = labels[j];
        }
        best[i] = r;
      }
      await this.pacer.beat('assign border points', n, n);
      return best;
    }
    const coreInLeaf = new Int32Array(leafCount);
    const candInLeaf = new Int32Array(leafCount);
    for (let p = 0; p < n; p++) {
      if (core[perm[p]]) coreInLeaf[tree.leafOf[p]]++;
      if (candidates[perm[p]]) candInLeaf[tree.leafOf[p]]++;
    }
    const { d, x } = tree;
    for (let a = 0; a < leafCount; a++) {
      if (candInLeaf[a] === 0) continue;
      const as = leafStart[a];
      const ae = leafStart[a + 1];
      const m = candidateLeaves(tree, a, eps2, false, this.out, this.stack);
      for (let c = 0; c < m; c++) {
        const b = this.out[c];
        if (coreInLeaf[b] === 0) continue;
        const bs = leafStart[b];
        const be = leafStart[b + 1];
        for (let p = as; p < ae; p++) {
          const i = perm[p];
          if (!candidates[i]) continue;
          if (a !== b && pointToLeafBox2(tree, p, b, eps2) > eps2) continue;
          let r = best[i];
          const pb = p * d;
          for (let q = bs; q < be; q++) {
            const j = perm[q];
            if (!core[j]) continue;
            const lj = labels[j];
            if (r >= 0 && lj >= r) continue;
            const qb = q * d;
            let s = 0;
            for (let k = 0; k < d && s <= eps2; k++) {
              const t = x[pb + k] - x[qb + k];
              s += t * t;
            }
            if (s <= eps2) r = lj;
          }
          best[i] = r;
        }
        if (this.pacer.add((ae - as) * (be - bs))) await this.pacer.beat('assign border points', a, leafCount);
      }
    }
    await this.pacer.beat('assign border points', leafCount, leafCount);
    return best;
  }
}

/**
 * Blocked pairwise distances as tensor programs: rows are centred (float64 mean) and uploaded once in blocks of
 * `blockRows`; each step materialises one blockRows × blockRows matrix of ‖a‖² + ‖b‖² − 2a·b (≤ 2^22 cells) and
 * reduces it on the device (counts, masked minima) or reads back only its boolean mask (core–core pairs).
 * Precision: float32 ‖a‖² + ‖b‖² − 2a·b is off by ~1e-7·‖x‖², so a pair within that of eps may fall on either side
 * (measured at n = 100,000: 1 border point of 100,000 at d = 16, 8 core points at d = 2 with eps = 0.1 differed from
 * scikit-learn). Low dimensions, where that matters most, always take the exact float64 kd-tree.
 */
class TensorEngine implements NeighbourEngine {
  readonly method: string;
  private readonly blockRows: number;
  private readonly centred: Float32Array;
  private readonly pacer: Pacer;
  private readonly tensors: tf.Tensor[] = [];

  constructor(
    points: Float32Array,
    private readonly n: number,
    private readonly d: number,
    private readonly eps2: number,
    hooks: ClusteringHooks,
  ) {
    this.blockRows = Math.max(1, Math.min(n, Math.floor(Math.sqrt(DBSCAN_MAX_CELLS_PER_BLOCK))));
    this.method = `blocked tensor distances (${this.blockRows}×${this.blockRows} cells per block)`;
    this.pacer = new Pacer(hooks, this.method);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    this.centred = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.centred[i * d + j] = points[i * d + j] - mean[j];
  }

  dispose(): void {
    tf.dispose(this.tensors);
    this.tensors.length = 0;
  }

  /** Uploads the given rows (original indices) as blocks: x [rows, d], xT [d, rows], ‖x‖² [rows]. */
  private upload(rows: Int32Array): Block[] {
    const { d, blockRows } = this;
    const blocks: Block[] = [];
    for (let s = 0; s < rows.length; s += blockRows) {
      const ids = rows.subarray(s, Math.min(rows.length, s + blockRows));
      const m = ids.length;
      const buf = new Float32Array(m * d);
      const bufT = new Float32Array(m * d);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < d; j++) {
          const v = this.centred[ids[r] * d + j];
          buf[r * d + j] = v;
          bufT[j * m + r] = v;
        }
      }
      const x = tf.tensor2d(buf, [m, d]);
      this.tensors.push(x);
      const xT = tf.tensor2d(bufT, [d, m]);
      this.tensors.push(xT);
      const norm = tf.tidy(() => tf.sum(tf.square(x), 1)) as tf.Tensor1D;
      this.tensors.push(norm);
      blocks.push({ ids, x, xT, norm });
    }
    return blocks;
  }

  private release(blocks: Block[]): void {
    for (const b of blocks) {
      for (const t of [b.x, b.xT, b.norm]) {
        const at = this.tensors.indexOf(t);
        if (at >= 0) this.tensors.splice(at, 1);
        t.dispose();
      }
    }
  }

  /** Boolean [a.rows, b.rows]: squared distance ≤ eps². */
  private within(a: Block, b: Block): tf.Tensor2D {
    return tf.tidy(() => {
      const dist = tf.add(tf.add(a.norm.expandDims(1), b.norm.expandDims(0)), tf.mul(tf.matMul(a.x, b.xT), -2));
      return tf.lessEqual(dist, this.eps2) as tf.Tensor2D;
    });
  }

  async countNeighbours(): Promise<Int32Array> {
    const { n } = this;
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const blocks = this.upload(all);
    const counts = new Int32Array(n);
    const total = (blocks.length * (blocks.length + 1)) / 2;
    let done = 0;
    try {
      for (let a = 0; a < blocks.length; a++) {
        for (let b = a; b < blocks.length; b++) {
          const A = blocks[a];
          const B = blocks[b];
          const [rowSum, colSum] = tf.tidy(() => {
            let mask = this.within(A, B);
            // A point is always its own neighbour, whatever float32 round-off makes of its distance to itself.
            if (a === b) mask = tf.logicalOr(mask, tf.cast(tf.eye(A.ids.length), 'bool'));
            const m = tf.cast(mask, 'int32');
            return a === b ? [tf.sum(m, 1)] : [tf.sum(m, 1), tf.sum(m, 0)];
          });
          try {
            const rows = (await rowSum.data()) as Int32Array;
            for (let r = 0; r < rows.length; r++) counts[A.ids[r]] += rows[r];
            if (colSum) {
              const cols = (await colSum.data()) as Int32Array;
              for (let c = 0; c < cols.length; c++) counts[B.ids[c]] += cols[c];
            }
          } finally {
            tf.dispose([rowSum, colSum]);
          }
          await this.pacer.beat('count neighbours', ++done, total);
        }
      }
    } finally {
      this.release(blocks);
    }
    return counts;
  }

  async connectCore(core: Uint8Array, uf: UnionFind): Promise<void> {
    const ids: number[] = [];
    for (let i = 0; i < this.n; i++) if (core[i]) ids.push(i);
    const blocks = this.upload(Int32Array.from(ids));
    const total = (blocks.length * (blocks.length + 1)) / 2;
    let done = 0;
    try {
      for (let a = 0; a < blocks.length; a++) {
        for (let b = a; b < blocks.length; b++) {
          const A = blocks[a];
          const B = blocks[b];
          // Nothing to learn when both blocks already lie in one component.
          const root = uf.find(A.ids[0]);
          let oneComponent = true;
          for (const block of a === b ? [A] : [A, B]) {
            for (let r = 0; r < block.ids.length && oneComponent; r++) oneComponent = uf.find(block.ids[r]) === root;
          }
          if (!oneComponent) {
            const mask = this.within(A, B);
            let bits: Uint8Array;
            try {
              bits = (await mask.data()) as Uint8Array;
            } finally {
              mask.dispose();
            }
            const cols = B.ids.length;
            for (let r = 0; r < A.ids.length; r++) {
              let rp = uf.find(A.ids[r]);
              for (let c = a === b ? r + 1 : 0; c < cols; c++) {
                if (bits[r * cols + c]) rp = uf.linkRoots(rp, uf.find(B.ids[c]));
              }
            }
          }
          await this.pacer.beat('connect core points', ++done, total);
        }
      }
    } finally {
      this.release(blocks);
    }
  }

  async nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array> {
    const coreIds: number[] = [];
    const candIds: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (core[i]) coreIds.push(i);
      else if (candidates[i]) candIds.push(i);
    }
    const best = new Int32Array(this.n).fill(-1);
    const coreBlocks = this.upload(Int32Array.from(coreIds));
    const candBlocks = this.upload(Int32Array.from(candIds));
    // Cluster numbers are < n ≤ 2^24, so exact in float32; "no core neighbour" is NONE.
    const NONE = 2 ** 24;
    const labelRows = coreBlocks.map((b) => {
      const t = tf.tensor2d(
        Float32Array.from(b.ids, (i) => labels[i]),
        [1, b.ids.length],
      );
      this.tensors.push(t);
      return t;
    });
    const total = coreBlocks.length * candBlocks.length;
    let done = 0;
    try {
      for (const A of candBlocks) {
        const running = new Float32Array(A.ids.length).fill(NONE);
        for (let b = 0; b < coreBlocks.length; b++) {
          const minLabel = tf.tidy(() => {
            const outside = tf.sub(1, tf.cast(this.within(A, coreBlocks[b]), 'float32'));
            return tf.min(tf.add(labelRows[b], tf.mul(outside, NONE)), 1);
          });
          try {
            const values = (await minLabel.data()) as Float32Array;
            for (let r = 0; r < values.length; r++) if (values[r] < running[r]) running[r] = values[r];
          } finally {
            minLabel.dispose();
          }
          await this.pacer.beat('assign border points', ++done, total);
        }
        for (let r = 0; r < A.ids.length; r++) if (running[r] < NONE) best[A.ids[r]] = running[r];
      }
    } finally {
      this.release(coreBlocks);
      this.release(candBlocks);
    }
    return best;
  }
}

interface Block {
  ids: Int32Array;
  x: tf.Tensor2D;
  xT: tf.Tensor2D;
  norm: tf.Tensor1D;
}
