/**
 * Agglomerative (hierarchical) clustering as scikit-learn's AgglomerativeClustering computes it without a
 * connectivity matrix, including its merge tree (children_, distances_) and its way of cutting the tree:
 *
 *  - ward, complete, average: scipy's nearest-neighbour-chain algorithm (scipy.cluster.hierarchy.linkage, which
 *    scikit-learn calls), with scipy's Lance–Williams updates, tie rules (strict <, lowest index first, the previous
 *    chain element preferred) and post-processing (stable sort by distance, then union-find relabelling so that
 *    merge i creates cluster n + i and lists its children smaller id first);
 *  - single: scikit-learn's own Prim minimum spanning tree (mst_linkage_core) started at point 0, sorted stably by
 *    edge weight and labelled like _single_linkage_label;
 *  - labels for k clusters: scikit-learn's _hc_cut (undo the k − 1 last merges); with distanceThreshold, k is
 *    1 + the number of merges at distance ≥ threshold, as scikit-learn computes n_clusters_.
 *
 * Memory, by linkage:
 *  - ward: the chain runs on cluster centroids, computing distances on the fly (Ward's distance between clusters A
 *    and B is √(2·|A|·|B| / (|A| + |B|))·‖c_A − c_B‖, the same value scipy reaches through Lance–Williams), so
 *    memory is O(n·d) and no n×n matrix is ever built;
 *  - single: Prim's algorithm with on-the-fly distances, O(n) memory;
 *  - complete, average: need every pairwise distance; they use scipy's condensed float64 matrix, allowed up to
 *    HIERARCHICAL_MATRIX_BUDGET_BYTES (HIERARCHICAL_LIMITS says the n that fits).
 * Distances are computed in float64 from the float32 points by plain loops on the host (the host path). Measured on
 * the 2-core wasm host, one chain step's nearest-neighbour scan over m = 20,000 centroids (d = 8) costs 0.26–0.33 ms
 * as a TensorFlow.js matMul + argMin and 0.31 ms as a plain loop: no gain from tensors even at the largest m, while
 * the loop also stops a candidate's sum once it cannot win, applies Ward's per-pair size weights for free, and skips
 * per-op overhead as m shrinks; a matrix of tensor blocks would also forfeit the O(n) memory. So the host loops are
 * the default on wasm, cpu and CPU tfjs-node. On tfjs-node-gpu with a CUDA device (chooseHierarchicalMethod) the tensor
 * path of tensor-path.ts runs instead: the same algorithms with each step's O(n·d) nearest-neighbour
 * search (ward, single) or the pairwise distance blocks (complete, average) computed on the device in float32, so
 * near-ties may break differently from scikit-learn; hierarchicalWithMethod forces either path. `method` says which.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendName, initComputeBackend } from '../../backend';
import { pdistTensor, primMstTensor, wardNnChainTensor } from './tensor-path';
import { AlgorithmLimit, ClusteringHooks, ClusteringOutput } from '../types';
import { throwIfAborted as abortIfSignalled } from '../../abort';
import { magnitudeScale, scaledPoints } from '../scale';

export type Linkage = 'ward' | 'complete' | 'average' | 'single';

export interface HierarchicalParams {
  /** Number of clusters to cut the tree into (exactly one of k and distanceThreshold). */
  k?: number;
  /**
   * Cut where merges reach this distance, in the units of mergeTree.distances (for ward, scipy's Ward distance
   * √(2·|A|·|B|/(|A|+|B|))·‖c_A − c_B‖): clusters = 1 + the number of merges at distance ≥ distanceThreshold.
   */
  distanceThreshold?: number;
  linkage?: Linkage;
}

/** scipy/scikit-learn-style merge tree: merge i joins children[i] at distances[i] into cluster n + i of sizes[i] points. */
export interface MergeTree {
  children: [number, number][];
  distances: number[];
  sizes: number[];
}

export interface HierarchicalResult {
  labels: Int32Array;
  clusters: number;
  linkage: Linkage;
  mergeTree: MergeTree;
  method: string;
}

export const HIERARCHICAL_DEFAULTS = { linkage: 'ward' } as const;
export const LINKAGES: readonly Linkage[] = ['ward', 'complete', 'average', 'single'];

/** Budget for complete/average's condensed float64 distance matrix: 512 MiB, n·(n−1)/2 · 8 bytes. */
export const HIERARCHICAL_MATRIX_BUDGET_BYTES = 512 * 1024 * 1024;
/** Largest n whose condensed float64 matrix fits HIERARCHICAL_MATRIX_BUDGET_BYTES (11,585). */
export const HIERARCHICAL_MATRIX_MAX_POINTS = Math.floor(
  (1 + Math.sqrt(1 + (8 * HIERARCHICAL_MATRIX_BUDGET_BYTES) / 8)) / 2,
);

/**
 * Ward and single are O(n) (ward O(n·d)) in memory but O(n²·d) in time: measured ~5 s for ward and ~2 s for single at
 * n = 20,000, d = 8 on the 2-core host, so 100,000 points (25× the work, a few minutes) is the most a job takes on.
 */
const ON_THE_FLY_MAX_POINTS = 100_000;
export const HIERARCHICAL_LIMITS: Record<Linkage, AlgorithmLimit> = {
  ward: {
    maxPoints: ON_THE_FLY_MAX_POINTS,
    why: 'ward runs in O(n) memory but O(n²·d) time (every merge scans the remaining clusters); beyond 100,000 points a job would take hours',
    alternative: 'minibatch-kmeans',
  },
  single: {
    maxPoints: ON_THE_FLY_MAX_POINTS,
    why: "single linkage (Prim's minimum spanning tree) runs in O(n) memory but O(n²·d) time; beyond 100,000 points a job would take hours",
    alternative: 'minibatch-kmeans',
  },
  complete: {
    maxPoints: HIERARCHICAL_MATRIX_MAX_POINTS,
    why: `complete linkage needs all pairwise distances: a condensed float64 matrix of n·(n−1)/2 entries, limited to 512 MiB (n ≤ ${HIERARCHICAL_MATRIX_MAX_POINTS})`,
    alternative: "linkage 'ward' or 'single' (O(n) memory), or minibatch-kmeans",
  },
  average: {
    maxPoints: HIERARCHICAL_MATRIX_MAX_POINTS,
    why: `average linkage needs all pairwise distances: a condensed float64 matrix of n·(n−1)/2 entries, limited to 512 MiB (n ≤ ${HIERARCHICAL_MATRIX_MAX_POINTS})`,
    alternative: "linkage 'ward' or 'single' (O(n) memory), or minibatch-kmeans",
  },
};

/** Distance evaluations (point or centroid pairs) between progress reports and abort checks. */
const CELLS_PER_BEAT = 1 << 22;

export type HierarchicalMethod = 'host' | 'tensor';

/** The path hierarchical() takes on the given backend (gpu: a CUDA device is in use): tensors only on CUDA. */
export function chooseHierarchicalMethod(backend: BackendName, gpu: boolean): HierarchicalMethod {
  return backend === 'tfjs-node-gpu' && gpu ? 'tensor' : 'host';
}

/**
 * Builds the full merge tree of n row-major d-dimensional points and cuts it into clusters. Deterministic. Invalid
 * arguments (including n above the linkage's limit) reject with a RangeError naming the parameter; an aborted
 * hooks.signal rejects with an Error named 'AbortError'. hooks.onProgress is awaited about every 4M distance
 * evaluations. Runs on the host, or as tensor programs on a CUDA backend (see chooseHierarchicalMethod); no tensors
 * outlive the call.
 */
export async function hierarchical(
  points: Float32Array,
  n: number,
  d: number,
  params: HierarchicalParams,
  hooks: ClusteringHooks = {},
): Promise<HierarchicalResult> {
  const p = resolveParams(points, n, d, params);
  const backend = await initComputeBackend();
  const gpu = backend.cuda;
  return run(chooseHierarchicalMethod(backend.name, gpu), p, points, n, d, hooks);
}

/** hierarchical() with the path forced (for tests and benchmarks); 'tensor' computes distances in float32. */
export async function hierarchicalWithMethod(
  method: HierarchicalMethod,
  points: Float32Array,
  n: number,
  d: number,
  params: HierarchicalParams,
  hooks: ClusteringHooks = {},
): Promise<HierarchicalResult> {
  const p = resolveParams(points, n, d, params);
  if (method !== 'host' && method !== 'tensor')
    throw new RangeError(`method must be 'host' or 'tensor', got ${JSON.stringify(method)}`);
  if (method === 'tensor') await initComputeBackend();
  return run(method, p, points, n, d, hooks);
}

async function run(
  path: HierarchicalMethod,
  p: Resolved,
  points: Float32Array,
  n: number,
  d: number,
  hooks: ClusteringHooks,
): Promise<HierarchicalResult> {
  throwIfAborted(hooks.signal);
  // Far from magnitude 1, distances are computed on points / scale (exact, ../scale.ts) and scaled back below, so the
  // float32 tensor path's squares stay in range; the float64 host path gives the same tree either way.
  const scale = magnitudeScale(points);
  const data = scaledPoints(points, scale);
  const pacer = new Pacer(hooks, n);
  const tensor = path === 'tensor';
  const on = tensor ? ` on ${tf.getBackend()}` : '';
  let merges: RawMerges;
  let method: string;
  switch (p.linkage) {
    case 'ward':
      if (tensor) {
        merges = await wardNnChainTensor(data, n, d, pacer);
        method = `nearest-neighbour chain on centroids, float32 tensor nearest-neighbour search per step${on} (O(n·d) memory)`;
      } else {
        merges = await wardNnChain(data, n, d, pacer);
        method = 'nearest-neighbour chain on centroids, on-the-fly float64 distances (host, O(n·d) memory)';
      }
      break;
    case 'single':
      if (tensor) {
        merges = await primMstTensor(data, n, d, pacer);
        method = `Prim's minimum spanning tree, float32 tensor distances and argMin per step${on} (O(n·d) memory)`;
      } else {
        merges = await primMst(data, n, d, pacer);
        method = "Prim's minimum spanning tree, on-the-fly float64 distances (host, O(n) memory)";
      }
      break;
    default: {
      const condensed = tensor ? await pdistTensor(data, n, d, pacer) : await pdist(data, n, d, pacer);
      merges = await matrixNnChain(condensed, n, p.linkage, pacer);
      const mib = Math.round((condensed.byteLength / 2 ** 20) * 10) / 10;
      method = tensor
        ? `nearest-neighbour chain on a condensed float64 distance matrix (${mib} MiB) of blocked float32 tensor distances${on}`
        : `nearest-neighbour chain on a condensed float64 distance matrix (${mib} MiB)`;
    }
  }
  throwIfAborted(hooks.signal);
  const mergeTree = labelMerges(merges, n, p.linkage === 'single');
  if (scale !== 1) mergeTree.distances = mergeTree.distances.map((dist) => dist * scale);
  const clusters =
    p.k !== undefined
      ? p.k
      : Math.min(n, 1 + mergeTree.distances.filter((dist) => dist >= p.distanceThreshold!).length);
  const labels = cutTree(mergeTree, n, clusters);
  await hooks.onProgress?.({ phase: 'done', merges: n - 1, totalMerges: n - 1, clusters });
  return { labels, clusters, linkage: p.linkage, mergeTree, method };
}

/** Agglomerative clustering as a ClusteringOutput; extras.mergeTree is the scipy/scikit-learn-style tree. */
export async function runHierarchical(
  points: Float32Array,
  n: number,
  d: number,
  params: HierarchicalParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await hierarchical(points, n, d, params, hooks);
  const clusterSizes = new Array<number>(r.clusters).fill(0);
  for (let i = 0; i < n; i++) clusterSizes[r.labels[i]]++;
  return {
    labels: r.labels,
    clusters: r.clusters,
    method: r.method,
    extras: {
      linkage: r.linkage,
      mergeTree: r.mergeTree,
      clusterSizes,
      ...(params.distanceThreshold !== undefined ? { distanceThreshold: params.distanceThreshold } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

interface Resolved {
  k?: number;
  distanceThreshold?: number;
  linkage: Linkage;
}

function resolveParams(points: Float32Array, n: number, d: number, params: HierarchicalParams): Resolved {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`n (number of points) must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(d) || d < 1)
    throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d)
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  if (params === null || typeof params !== 'object')
    throw new RangeError('params must be an object with k or distanceThreshold');
  const linkage = params.linkage ?? HIERARCHICAL_DEFAULTS.linkage;
  if (!LINKAGES.includes(linkage))
    throw new RangeError(`linkage must be one of ${LINKAGES.join(', ')}, got ${JSON.stringify(linkage)}`);
  const { k, distanceThreshold } = params;
  if ((k === undefined) === (distanceThreshold === undefined)) {
    throw new RangeError('exactly one of k and distanceThreshold must be given');
  }
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > n)) {
    throw new RangeError(`k must be an integer between 1 and n = ${n}, got ${k}`);
  }
  if (
    distanceThreshold !== undefined &&
    (typeof distanceThreshold !== 'number' || !Number.isFinite(distanceThreshold) || distanceThreshold < 0)
  ) {
    throw new RangeError(`distanceThreshold must be a finite number >= 0, got ${distanceThreshold}`);
  }
  const limit = HIERARCHICAL_LIMITS[linkage];
  if (n > limit.maxPoints) {
    throw new RangeError(
      `n = ${n} exceeds the ${linkage}-linkage limit of ${limit.maxPoints} points: ${limit.why}; use ${limit.alternative}`,
    );
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i]))
      throw new RangeError(`points must be finite; row ${Math.floor(i / d)}, column ${i % d} is ${points[i]}`);
  }
  return { k, distanceThreshold, linkage };
}

const throwIfAborted = (signal: AbortSignal | undefined): void => abortIfSignalled(signal, 'hierarchical clustering');

/** Awaits hooks.onProgress, checks the signal and yields to the event loop about every CELLS_PER_BEAT evaluations. */
class Pacer {
  private work = 0;
  constructor(
    private readonly hooks: ClusteringHooks,
    private readonly n: number,
  ) {}
  due(cells: number): boolean {
    this.work += cells;
    return this.work >= CELLS_PER_BEAT;
  }
  async beat(phase: string, merges: number): Promise<void> {
    this.work = 0;
    throwIfAborted(this.hooks.signal);
    await this.hooks.onProgress?.({ phase, merges, totalMerges: this.n - 1 });
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(this.hooks.signal);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Merge lists

/** Merges in the order found: (a, b, distance) per row, a/b being point or slot ids before relabelling. */
interface RawMerges {
  a: Int32Array;
  b: Int32Array;
  dist: Float64Array;
}

function rawMerges(n: number): RawMerges {
  const m = Math.max(0, n - 1);
  return { a: new Int32Array(m), b: new Int32Array(m), dist: new Float64Array(m) };
}

/** Indices of the merges sorted by distance, stable (numpy's argsort kind='mergesort'). */
function stableOrder(dist: Float64Array): number[] {
  return Array.from(dist.keys()).sort((i, j) => dist[i] - dist[j] || i - j);
}

/** Union-find over cluster ids 0..2n-2 where merging creates the next id (scipy's LinkageUnionFind). */
class LinkageUnionFind {
  private readonly parent: Int32Array;
  readonly size: Int32Array;
  private next: number;
  constructor(n: number) {
    this.parent = new Int32Array(2 * n - 1);
    for (let i = 0; i < this.parent.length; i++) this.parent[i] = i;
    this.size = new Int32Array(2 * n - 1).fill(1);
    this.next = n;
  }
  merge(x: number, y: number): number {
    this.parent[x] = this.next;
    this.parent[y] = this.next;
    this.size[this.next] = this.size[x] + this.size[y];
    return this.next++;
  }
  find(x: number): number {
    let root = x;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[x] !== root) {
      const up = this.parent[x];
      this.parent[x] = root;
      x = up;
    }
    return root;
  }
}

/**
 * scipy's label(): sort merges stably by distance; children are the current cluster ids, smaller first. Single
 * linkage follows scikit-learn's _single_linkage_label instead, where children keep the MST edge's (from, to) order.
 */
function labelMerges(m: RawMerges, n: number, keepEdgeOrder: boolean): MergeTree {
  const uf = new LinkageUnionFind(Math.max(1, n));
  const tree: MergeTree = { children: [], distances: [], sizes: [] };
  for (const i of stableOrder(m.dist)) {
    const x = uf.find(m.a[i]);
    const y = uf.find(m.b[i]);
    tree.children.push(keepEdgeOrder || x < y ? [x, y] : [y, x]);
    tree.distances.push(m.dist[i]);
    tree.sizes.push(uf.size[uf.merge(x, y)]);
  }
  return tree;
}

/**
 * scikit-learn's _hc_cut: start from the root and repeatedly split the cluster with the largest id (the latest merge)
 * until there are k. It keeps the nodes in a Python heapq of negated ids and numbers clusters by heap position, so
 * heapq's exact algorithms are ported below: the same tree gives the same label numbers as scikit-learn.
 */
function cutTree(tree: MergeTree, n: number, k: number): Int32Array {
  const labels = new Int32Array(n);
  if (n === 1) return labels;
  const heap: number[] = [-(Math.max(...tree.children[n - 2]) + 1)];
  // heapq._siftdown
  const siftDown = (start: number, pos: number): void => {
    const item = heap[pos];
    while (pos > start) {
      const parentPos = (pos - 1) >> 1;
      const parent = heap[parentPos];
      if (item < parent) {
        heap[pos] = parent;
        pos = parentPos;
        continue;
      }
      break;
    }
    heap[pos] = item;
  };
  // heapq._siftup
  const siftUp = (pos: number): void => {
    const end = heap.length;
    const start = pos;
    const item = heap[pos];
    let child = 2 * pos + 1;
    while (child < end) {
      const right = child + 1;
      if (right < end && !(heap[child] < heap[right])) child = right;
      heap[pos] = heap[child];
      pos = child;
      child = 2 * pos + 1;
    }
    heap[pos] = item;
    siftDown(start, pos);
  };
  const heappush = (v: number): void => {
    heap.push(v);
    siftDown(0, heap.length - 1);
  };
  const heappushpop = (v: number): void => {
    if (heap.length > 0 && heap[0] < v) {
      heap[0] = v;
      siftUp(0);
    }
  };
  for (let c = 0; c < k - 1; c++) {
    const children = tree.children[-heap[0] - n];
    heappush(-children[0]);
    heappushpop(-children[1]);
  }
  // Descendant leaves of every remaining node.
  heap.forEach((negNode, label) => {
    const stack = [-negNode];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node < n) labels[node] = label;
      else stack.push(...tree.children[node - n]);
    }
  });
  return labels;
}

// ---------------------------------------------------------------------------------------------------------------
// Ward: nearest-neighbour chain on centroids

/**
 * scipy's nn_chain with Ward's distance computed from centroids instead of a stored matrix. Slots 0..n-1 start as the
 * points; merging slots x < y keeps the new cluster in slot y (as scipy does) and retires x. The search compares
 * squared Ward distances w·‖c_a − c_b‖² with w = 2·|a|·|b|/(|a|+|b|), stopping a candidate once it cannot win.
 */
async function wardNnChain(points: Float32Array, n: number, d: number, pacer: Pacer): Promise<RawMerges> {
  const out = rawMerges(n);
  const c = Float64Array.from(points);
  const size = new Float64Array(n).fill(1);
  // Active slots in increasing order (the order scipy scans them, which decides ties).
  const active = new Int32Array(n);
  for (let i = 0; i < n; i++) active[i] = i;
  let activeCount = n;
  const chain = new Int32Array(n);
  let chainLength = 0;

  const wardSq = (x: number, y: number): number => {
    const w = (2 * size[x] * size[y]) / (size[x] + size[y]);
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = c[x * d + j] - c[y * d + j];
      s += t * t;
    }
    return w * s;
  };

  for (let k = 0; k < n - 1; k++) {
    if (chainLength === 0) chain[chainLength++] = active[0];
    let x: number;
    let y = 0;
    let best: number;
    for (;;) {
      x = chain[chainLength - 1];
      if (chainLength > 1) {
        y = chain[chainLength - 2];
        best = wardSq(x, y);
      } else {
        best = Infinity;
      }
      const sx = size[x];
      const xb = x * d;
      for (let a = 0; a < activeCount; a++) {
        const i = active[a];
        if (i === x) continue;
        const si = size[i];
        const w = (2 * sx * si) / (sx + si);
        // Stop summing once the candidate cannot beat best (with a hair of slack for the division's rounding).
        const limit = (best / w) * (1 + 1e-12);
        const ib = i * d;
        let s = 0;
        for (let j = 0; j < d && s < limit; j++) {
          const t = c[xb + j] - c[ib + j];
          s += t * t;
        }
        if (s >= limit) continue;
        const dist = w * s;
        if (dist < best) {
          best = dist;
          y = i;
        }
      }
      if (pacer.due(activeCount * d)) await pacer.beat('merging', k);
      if (chainLength > 1 && y === chain[chainLength - 2]) break;
      chain[chainLength++] = y;
    }
    chainLength -= 2;
    if (x > y) [x, y] = [y, x];
    out.a[k] = x;
    out.b[k] = y;
    out.dist[k] = Math.sqrt(best);
    // Centroid of the union, kept in slot y; slot x retires.
    const nx = size[x];
    const ny = size[y];
    for (let j = 0; j < d; j++) c[y * d + j] = (nx * c[x * d + j] + ny * c[y * d + j]) / (nx + ny);
    size[y] = nx + ny;
    size[x] = 0;
    let w = 0;
    for (let a = 0; a < activeCount; a++) if (active[a] !== x) active[w++] = active[a];
    activeCount = w;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Single: Prim's minimum spanning tree

/**
 * scikit-learn's mst_linkage_core: Prim's from point 0, keeping for each outside point its distance to the tree, the
 * closest outside point (lowest index on ties) joining next. Distances are kept squared and rooted once per edge.
 */
async function primMst(points: Float32Array, n: number, d: number, pacer: Pacer): Promise<RawMerges> {
  const out = rawMerges(n);
  const x = Float64Array.from(points);
  const current = new Float64Array(n).fill(Infinity);
  // Points not yet in the tree, in increasing order (the order scikit-learn scans them, which decides ties).
  const outside = new Int32Array(n);
  for (let i = 0; i < n; i++) outside[i] = i;
  let outsideCount = n;
  let node = 0;
  for (let k = 0; k < n - 1; k++) {
    let w = 0;
    for (let a = 0; a < outsideCount; a++) if (outside[a] !== node) outside[w++] = outside[a];
    outsideCount = w;
    let best = Infinity;
    let next = 0;
    const nb = node * d;
    for (let a = 0; a < outsideCount; a++) {
      const j = outside[a];
      const jb = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = x[nb + t] - x[jb + t];
        s += diff * diff;
      }
      let cur = current[j];
      if (s < cur) current[j] = cur = s;
      if (cur < best) {
        best = cur;
        next = j;
      }
    }
    out.a[k] = node;
    out.b[k] = next;
    out.dist[k] = Math.sqrt(best);
    node = next;
    if (pacer.due(outsideCount * d)) await pacer.beat('minimum spanning tree', k);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Complete / average: nearest-neighbour chain on a condensed matrix

/** Position of pair (i, j), i < j, in scipy's condensed matrix. */
const condensedIndex = (n: number, i: number, j: number): number => n * i - (i * (i + 1)) / 2 + (j - i - 1);

/** scipy's pdist(X, 'euclidean') in float64. */
async function pdist(points: Float32Array, n: number, d: number, pacer: Pacer): Promise<Float64Array> {
  const out = new Float64Array((n * (n - 1)) / 2);
  const x = Float64Array.from(points);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const ib = i * d;
    for (let j = i + 1; j < n; j++) {
      const jb = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = x[ib + t] - x[jb + t];
        s += diff * diff;
      }
      out[at++] = Math.sqrt(s);
    }
    if (pacer.due((n - i) * d)) await pacer.beat('pairwise distances', 0);
  }
  return out;
}

/** scipy's nn_chain for complete and average linkage (Lance–Williams updates in place). */
async function matrixNnChain(
  D: Float64Array,
  n: number,
  linkage: 'complete' | 'average',
  pacer: Pacer,
): Promise<RawMerges> {
  const out = rawMerges(n);
  const size = new Int32Array(n).fill(1);
  const active = new Int32Array(n);
  for (let i = 0; i < n; i++) active[i] = i;
  let activeCount = n;
  const chain = new Int32Array(n);
  let chainLength = 0;
  // rowStart[i] - i - 1 + j is the condensed position of (i, j) for i < j (n·(n−1)/2 < 2^31 within the limit).
  const rowBase = new Float64Array(n);
  for (let i = 0; i < n; i++) rowBase[i] = condensedIndex(n, i, i + 1) - i - 1;
  const at = (i: number, j: number): number => (i < j ? rowBase[i] + j : rowBase[j] + i);
  const complete = linkage === 'complete';
  for (let k = 0; k < n - 1; k++) {
    if (chainLength === 0) chain[chainLength++] = active[0];
    let x: number;
    let y = 0;
    let best: number;
    for (;;) {
      x = chain[chainLength - 1];
      if (chainLength > 1) {
        y = chain[chainLength - 2];
        best = D[at(x, y)];
      } else {
        best = Infinity;
      }
      // Active slots below x read column x (one per row), those above read row x (contiguous).
      let a = 0;
      for (; a < activeCount; a++) {
        const i = active[a];
        if (i >= x) break;
        const dist = D[rowBase[i] + x];
        if (dist < best) {
          best = dist;
          y = i;
        }
      }
      const rx = rowBase[x];
      for (a++; a < activeCount; a++) {
        const i = active[a];
        const dist = D[rx + i];
        if (dist < best) {
          best = dist;
          y = i;
        }
      }
      if (pacer.due(activeCount)) await pacer.beat('merging', k);
      if (chainLength > 1 && y === chain[chainLength - 2]) break;
      chain[chainLength++] = y;
    }
    chainLength -= 2;
    if (x > y) [x, y] = [y, x];
    const nx = size[x];
    const ny = size[y];
    out.a[k] = x;
    out.b[k] = y;
    out.dist[k] = best;
    size[x] = 0;
    size[y] = nx + ny;
    let w = 0;
    for (let a = 0; a < activeCount; a++) if (active[a] !== x) active[w++] = active[a];
    activeCount = w;
    for (let a = 0; a < activeCount; a++) {
      const i = active[a];
      if (i === y) continue;
      const dxi = D[at(i, x)];
      const iy = at(i, y);
      const dyi = D[iy];
      D[iy] = complete ? (dxi > dyi ? dxi : dyi) : (nx * dxi + ny * dyi) / (nx + ny);
    }
  }
  return out;
}
