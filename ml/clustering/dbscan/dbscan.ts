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
 *  - 'kd-tree' (kdtree-engine.ts, over kdtree.ts): a bucket kd-tree on the host, exact float64 distances between
 *    leaves whose boxes are within eps; by far the fastest on CPU backends in low and moderate dimensions
 *    (scikit-learn uses a kd-tree/ball tree too);
 *  - 'tensor' (tensor-engine.ts): blocked pairwise distances as TensorFlow.js programs, never more than
 *    DBSCAN_MAX_CELLS_PER_BLOCK distances at once; O(n²) work but dense and device-friendly, which wins on a GPU and
 *    in high dimensions.
 *
 * cosine: distance 1 − cos(a, b). Rows are normalised (in float64) and, since ‖a − b‖² = 2 − 2·cos for unit vectors,
 * cosine distance ≤ eps exactly when the euclidean distance between the normalised rows is ≤ √(2·eps).
 *
 * Magnitude (euclidean): points and eps are divided by the same power of two (../scale.ts) when the largest
 * |coordinate| is far from 1, which changes no comparison but keeps the tensor method's float32 squares in range.
 */
import { BackendName, initComputeBackend } from '../../backend';
import { AlgorithmLimit, ClusteringHooks, ClusteringOutput } from '../types';
import { KdTreeEngine } from './kdtree-engine';
import { NeighbourEngine, throwIfAborted } from './neighbour-engine';
import { TensorEngine } from './tensor-engine';
import { UnionFind } from './union-find';
import { magnitudeScale, scaledPoints } from '../scale';

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
  const scale = metric === 'cosine' ? 1 : magnitudeScale(points);
  const data = metric === 'cosine' ? normaliseRows(points, n, d) : scaledPoints(points, scale);
  // Cosine distance ≤ eps ⟺ ‖â − b̂‖² ≤ 2·eps for the normalised rows â, b̂.
  const eps2 = metric === 'cosine' ? 2 * params.eps : (params.eps / scale) ** 2;
  const minPoints = params.minPoints;
  const engine: NeighbourEngine =
    method === 'kd-tree'
      ? new KdTreeEngine(data, n, d, eps2, hooks, storeMaxEntries)
      : new TensorEngine(data, n, d, eps2, hooks);
  try {
    const counts = await engine.countNeighbours(minPoints);
    const core = new Uint8Array(n);
    let corePoints = 0;
    for (let i = 0; i < n; i++) {
      if (counts[i] >= minPoints) {
        core[i] = 1;
        corePoints++;
      }
    }

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
    for (let i = 0; i < n; i++) {
      if (!core[i] && counts[i] > 1) {
        candidates[i] = 1;
        anyCandidate = true;
      }
    }
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
