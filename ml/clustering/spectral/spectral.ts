/**
 * Spectral clustering as scikit-learn's SpectralClustering(assign_labels='kmeans') computes it:
 *
 *   1. an affinity A: rbf exp(−γ‖x − y‖²), or the k-nearest-neighbour connectivity graph symmetrised as
 *      0.5·(A + Aᵀ) (kneighbors_graph with include_self=True);
 *   2. the spectral embedding of spectral_embedding(norm_laplacian=True, drop_first=False): the k eigenvectors of
 *      the normalised Laplacian L = I − D^{-1/2} A D^{-1/2} with the smallest eigenvalues, i.e. of
 *      M = D^{-1/2} A D^{-1/2} with the largest, where scipy's Laplacian ignores A's diagonal (degrees are sums over
 *      the *other* points), then divided row-wise by √degree (u = D^{-1/2} x);
 *   3. k-means on the n×k embedding with n_init runs (kmeans/kmeans.ts, seeds seed, seed+1, ...), lowest inertia kept.
 *
 * TensorFlow.js has no eigensolver, so step 2 is Chebyshev-filtered subspace iteration with Rayleigh–Ritz
 * (eigen.ts). The affinity is never stored as a dense n×n matrix: the rbf kernel is recomputed tile by tile
 * on the device inside every product (rbf-kernel.ts: memory O(n·(d + k)), time O(n²) per product), and the
 * nearest-neighbour graph is sparse (knn-graph.ts: O(n·nNeighbors) memory), its products float64 loops on the host,
 * or on a CUDA GPU float32 gather + segment-sum tensor programs (tensor-graph.ts; chooseSpectralGraphMethod).
 * scikit-learn instead builds the dense n×n rbf matrix in float64 (8n² bytes: 3.2 GB at n = 20,000) and factorises
 * it for ARPACK's shift-invert mode.
 *
 * Magnitude: coordinates are centred in float64, then multiplied by √γ (rbf) or divided by a power of two that brings
 * the largest |coordinate| near 1 (nearest-neighbors, which is scale-free), so float32 squares stay in range. An rbf
 * gamma that makes the affinity meaningless in float32 is refused with a RangeError that says why and suggests a
 * gamma: every affinity rounding to 1 (γ·‖x − y‖² below ~1e-6 for every pair), every affinity between distinct points
 * underflowing to 0 (no edges at all), or exponents beyond float32's range.
 *
 * Differences from scikit-learn that can change labels: eigenvectors are accurate to `eigenTolerance` rather than to
 * machine precision, a basis of a repeated eigenvalue (e.g. one per connected component) is arbitrary in both, the
 * rbf kernel is evaluated in float32, neighbour ties may be broken differently, and k-means uses Kiln's seeded PRNG,
 * not numpy's. On well-separated structure the partitions agree exactly.
 */
import { kmeans, KMeansResult } from '../kmeans/kmeans';
import { BackendName, initComputeBackend } from '../../backend';
import { EigenResult, SymmetricOperator, estimateLowerBound, largestEigenpairs } from './eigen';
import {
  KD_TREE_MAX_DIMENSIONS,
  NormalizedGraphOperator,
  componentEigenvectors,
  nearestNeighbors,
  symmetricGraph,
} from './knn-graph';
import { KERNEL_TILE, RbfKernelOperator } from './rbf-kernel';
import { TensorGraphOperator } from './tensor-graph';
import { localityOrder, permuteGraph } from './graph-order';
import { unpermuteRows } from './row-order';
import { ParallelGraphOperator } from './graph-pool';
import { kmeansThreads } from '../kmeans/pool';
import { AlgorithmLimit, ClusteringHooks, ClusteringOutput } from '../types';
import { throwIfAborted as abortIfSignalled } from '../../abort';
import { featureMean, validatePoints } from '../predict';
import { magnitudeScale } from '../scale';

export type SpectralAffinity = 'rbf' | 'nearest-neighbors';

export interface SpectralParams {
  /** Number of clusters, and of eigenvectors in the embedding (scikit-learn's n_clusters = n_components). */
  k: number;
  /** Default 'rbf', as in scikit-learn. */
  affinity?: SpectralAffinity;
  /** rbf kernel coefficient, ≥ 0 (default 1.0, as in scikit-learn). Ignored for 'nearest-neighbors'. */
  gamma?: number;
  /** Neighbours per point for 'nearest-neighbors', the point itself included (default 10). Ignored for 'rbf'. */
  nNeighbors?: number;
  /** Seeds the eigensolver's start block and the k-means runs (seed, seed+1, ...). Default 0. */
  seed?: number;
  /** How the embedding becomes labels; only 'kmeans' (scikit-learn's default) is implemented. */
  assignLabels?: 'kmeans';
  /** k-means runs on the embedding, best inertia kept (scikit-learn's n_init, default 10). */
  nInit?: number;
  /**
   * Eigensolver stopping rule: every wanted residual ‖M v − θ v‖₂ (unit v) ≤ eigenTolerance. Defaults: 1e-7 for
   * 'nearest-neighbors' with host float64 products, 1e-5 for 'rbf' (float32 kernel, whose rounding sets a floor near
   * 1e-6) and for 'nearest-neighbors' with float32 tensor products (SPECTRAL_TENSOR_GRAPH_TOLERANCE).
   */
  eigenTolerance?: number;
}

export const SPECTRAL_DEFAULTS = {
  affinity: 'rbf',
  gamma: 1.0,
  nNeighbors: 10,
  seed: 0,
  assignLabels: 'kmeans',
  nInit: 10,
  eigenTolerance: { rbf: 1e-5, 'nearest-neighbors': 1e-7 },
} as const;

/**
 * Most clusters: the eigensolver keeps n × (k + guard) float64 vectors and does O(n·k²) host work per iteration,
 * which is what bounds k (scikit-learn has no limit but its ARPACK run slows down the same way).
 */
export const SPECTRAL_MAX_K = 64;
/** Longest time without a hooks.onProgress call while work is under way (then one with `heartbeat: true`). */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** Default eigenTolerance of 'nearest-neighbors' on the 'tensor' path: float32 products floor the residual near 1e-6. */
export const SPECTRAL_TENSOR_GRAPH_TOLERANCE = 1e-5;

/**
 * How the 'nearest-neighbors' operator products run: 'host' (sparse CSR loops in float64, 8 columns at a time) or
 * 'tensor' (float32 gather + segment sum on the device, tensor-graph.ts). The rbf affinity always runs on the
 * device and ignores this.
 */
export type SpectralGraphMethod = 'host' | 'tensor';

/**
 * The path spectral() takes for the nearest-neighbour products on the given backend (gpu: a CUDA device is in use):
 * tensors only on CUDA. On the CPU backends the host loops win: a product is O(nnz·b) memory-bound work, which
 * float64 loops do in one pass while the tensor program pays per-op and upload/download costs (measured on wasm,
 * 1 thread, n = 5,000 moons-like, nNeighbors 10, 54,000 entries: 0.36 ms per host product at b = 8 against 0.64 ms
 * for the tensor one), and host products keep float64 accuracy (residuals to 1e-7 and below, not ~1e-6).
 */
export function chooseSpectralGraphMethod(backend: BackendName, gpu: boolean): SpectralGraphMethod {
  return backend === 'tfjs-node-gpu' && gpu ? 'tensor' : 'host';
}

/** Most operator products before the eigensolver gives up (converged = false; the result is still returned). */
export const SPECTRAL_MAX_PRODUCTS = { rbf: 500, 'nearest-neighbors': 20_000 } as const;

/** Documented input-size limits, per affinity; the API turns them into a 4xx. */
export const SPECTRAL_LIMITS: Record<SpectralAffinity, AlgorithmLimit> = {
  rbf: {
    maxPoints: 50_000,
    why:
      'the rbf affinity is a dense n×n matrix: Kiln never stores it (kernel tiles are recomputed on the device in every ' +
      'eigensolver product, so memory stays O(n·k)), but each product costs n²/2 kernel evaluations, ~1.25e9 at ' +
      '50,000 points, and the eigensolver needs tens of products (scikit-learn would need 8n² bytes, 20 GB, there)',
    alternative:
      "affinity 'nearest-neighbors' (a sparse graph: O(n·nNeighbors) memory, near-linear time for low-dimensional data), " +
      'or k-means',
  },
  'nearest-neighbors': {
    maxPoints: 200_000,
    why:
      'the sparse k-nearest-neighbour graph is O(n·nNeighbors) memory, but the eigengap near 1 shrinks as n grows, so ' +
      'the eigensolver needs more products (each O(n·nNeighbors·k)); above d = ' +
      `${KD_TREE_MAX_DIMENSIONS} the neighbours are found by blocked O(n²·d) distances`,
    alternative: 'k-means or mini-batch k-means on the data (or on a sample, then assign the rest)',
  },
};

const AFFINITIES: readonly SpectralAffinity[] = ['rbf', 'nearest-neighbors'];

export interface SpectralProgress {
  stage: 'affinity' | 'eigensolver' | 'kmeans';
  [key: string]: number | string | boolean;
}

export interface SpectralResult {
  labels: Int32Array;
  /** Non-empty clusters. */
  clusters: number;
  clusterSizes: number[];
  /** The k largest eigenvalues of D^{-1/2} A D^{-1/2} (1 − the Laplacian's smallest), descending. */
  eigenvalues: number[];
  /** Eigensolver residual ‖M v − θ v‖ per eigenvector. */
  residuals: number[];
  /** Eigensolver iterations (filter + Rayleigh–Ritz steps) and operator products. */
  iterations: number;
  products: number;
  /**
   * Whether every residual reached eigenTolerance. False when the eigensolver hit SPECTRAL_MAX_PRODUCTS or stopped
   * improving (the operator's rounding floor); the labels are still computed from the best eigenvectors found.
   */
  converged: boolean;
  /** k-means inertia of the chosen run, in the embedding space. */
  embeddingInertia: number;
  /** Degree statistics and, for 'nearest-neighbors', the graph's connected components. */
  graph: { minDegree: number; maxDegree: number; isolatedPoints: number; connectedComponents?: number; edges?: number };
  method: string;
}

/**
 * Clusters n row-major d-dimensional points into k clusters by spectral clustering. Deterministic for a given seed and
 * backend. Invalid arguments (and n above SPECTRAL_LIMITS) reject with a RangeError naming the parameter; an aborted
 * hooks.signal rejects with an Error named 'AbortError'. All tensors are released either way.
 */
export async function spectral(
  points: Float32Array,
  n: number,
  d: number,
  params: SpectralParams,
  hooks: ClusteringHooks = {},
): Promise<SpectralResult> {
  resolveParams(points, n, d, params, 'host');
  throwIfAborted(hooks.signal);
  const backend = await initComputeBackend();
  const gpu = backend.cuda;
  return run(chooseSpectralGraphMethod(backend.name, gpu), points, n, d, params, hooks);
}

/**
 * spectral() with the nearest-neighbour product path forced (for tests and benchmarks); 'tensor' computes the products
 * in float32 on the current backend, with eigenTolerance defaulting to SPECTRAL_TENSOR_GRAPH_TOLERANCE.
 */
export async function spectralWithMethod(
  method: SpectralGraphMethod,
  points: Float32Array,
  n: number,
  d: number,
  params: SpectralParams,
  hooks: ClusteringHooks = {},
): Promise<SpectralResult> {
  if (method !== 'host' && method !== 'tensor')
    throw new RangeError(`method must be 'host' or 'tensor', got ${JSON.stringify(method)}`);
  return run(method, points, n, d, params, hooks);
}

async function run(
  graphMethod: SpectralGraphMethod,
  points: Float32Array,
  n: number,
  d: number,
  params: SpectralParams,
  hooks: ClusteringHooks,
): Promise<SpectralResult> {
  const p = resolveParams(points, n, d, params, graphMethod);
  validatePoints(points, n, d); // rejects NaN/Infinity with the row and column
  const mean = featureMean(points, n, d);
  // Progress goes out at every stage change and eigensolver iteration; between them (a long Chebyshev filter, the
  // kernel tiles of one rbf product at large n) `checkpoint` sends a heartbeat at least every HEARTBEAT_INTERVAL_MS,
  // so the job's heartbeat never depends on how long an iteration takes.
  let stage: SpectralProgress['stage'] = 'affinity';
  let lastProgress = Date.now();
  const progress = async (next: SpectralProgress['stage'], fields: Record<string, number | string | boolean>) => {
    stage = next;
    lastProgress = Date.now();
    await hooks.onProgress?.({ stage, ...fields });
  };
  const checkpoint = async (): Promise<void> => {
    throwIfAborted(hooks.signal);
    if (Date.now() - lastProgress >= HEARTBEAT_INTERVAL_MS) await progress(stage, { heartbeat: true });
    // Let timers and I/O (heartbeats, an abort from a setTimeout) run between chunks of work.
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(hooks.signal);
  };
  throwIfAborted(hooks.signal);
  const backend = await initComputeBackend();

  // Centred (and for rbf √γ-scaled) coordinates in float64: distances in float32 lose precision far from the origin.
  const spread = spreadAbout(points, n, d, mean);
  if (p.affinity === 'rbf') checkRbfGamma(p.gamma, spread);
  const scale = p.affinity === 'rbf' ? Math.sqrt(p.gamma) : 1 / magnitudeScale([spread.maxAbs]);
  const coords = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) coords[i * d + j] = (points[i * d + j] - mean[j]) * scale;

  // k wanted vectors plus guards (more guards: a lower cut, faster convergence per product), rounded up to a multiple
  // of 4 for the sparse product's column groups.
  const blockSize = Math.min(n, 4 * Math.ceil((p.k + Math.max(4, Math.ceil(p.k / 2))) / 4));
  let eig: EigenResult;
  let degrees: Float64Array;
  let graphInfo: SpectralResult['graph'];
  let method: string;
  if (p.affinity === 'nearest-neighbors') {
    await progress('affinity', { affinity: p.affinity, nNeighbors: p.nNeighbors });
    const lists = await nearestNeighbors(coords, n, d, p.nNeighbors - 1, checkpoint);
    const graph = symmetricGraph(lists, n);
    degrees = graph.degrees;
    const tensor = graphMethod === 'tensor';
    graphInfo = { ...degreeStats(degrees), connectedComponents: graph.components, edges: graph.cols.length / 2 };
    if (graph.components === p.k && graphInfo.isolatedPoints === 0) {
      // Exactly k connected components: the top-k eigenspace is known in closed form (eigenvalue 1, one vector per
      // component), which is what an exact eigensolver (scikit-learn's ARPACK) converges to as well.
      const op = tensor ? new TensorGraphOperator(graph) : new NormalizedGraphOperator(graph);
      try {
        eig = await closedFormEigenpairs(op, componentEigenvectors(graph), p.k, checkpoint);
        await progress('eigensolver', {
          iteration: 0,
          products: eig.products,
          residual: max(eig.residuals),
          tolerance: p.eigenTolerance,
          degree: 0,
        });
        method =
          `nearest-neighbors graph (${lists.method}) with exactly k connected components: eigenvectors in closed form` +
          (tensor ? ` (residual check by ${productsMethod(op, backend.name)})` : '');
      } finally {
        if (op instanceof TensorGraphOperator) op.dispose();
      }
    } else {
      // Host products run on the points renumbered so that neighbours sit together in memory (graph-order.ts);
      // the eigenvectors are put back in the points' order below.
      const order = tensor ? undefined : localityOrder(graph);
      const solved = order ? permuteGraph(graph, order) : graph;
      // Large host products are split by rows over threads (graph-pool.ts; bit-identical to one thread's).
      const op = tensor
        ? new TensorGraphOperator(solved)
        : ((await ParallelGraphOperator.start(solved, kmeansThreads(), blockSize)) ??
          new NormalizedGraphOperator(solved));
      try {
        const lowerBoundEstimate = await estimateLowerBound(op, 32, p.seed, order);
        eig = await largestEigenpairs(op, {
          lowerBoundEstimate,
          k: p.k,
          blockSize,
          tolerance: p.eigenTolerance,
          maxProducts: SPECTRAL_MAX_PRODUCTS[p.affinity],
          // float32 products: keep the filtered block well-conditioned, as for the rbf kernel.
          maxAmplification: tensor ? 1e3 : 1e8,
          seed: p.seed,
          firstColumn: sqrtDegrees(solved.degrees),
          rowOrder: order,
          checkpoint,
          onIteration: (e) => progress('eigensolver', { ...e }),
        });
        if (order) eig = { ...eig, vectors: unpermuteRows(eig.vectors, order, p.k) };
        method =
          `nearest-neighbors graph (${lists.method}), ${productsMethod(op, backend.name)}` +
          `${order ? ' in breadth-first point order' : ''}` +
          `${op instanceof ParallelGraphOperator ? `, ${kmeansThreads()} threads` : ''}, Chebyshev-filtered subspace iteration`;
      } finally {
        if (op instanceof TensorGraphOperator) op.dispose();
        if (op instanceof ParallelGraphOperator) await op.close();
      }
    }
  } else {
    await progress('affinity', { affinity: p.affinity, gamma: p.gamma });
    const op = await RbfKernelOperator.create(coords, n, d, checkpoint);
    try {
      degrees = op.degrees;
      if (op.isolated === n) {
        throw new RangeError(
          `rbf affinity with gamma = ${p.gamma} has no edges on this data: exp(−γ‖x − y‖²) underflows to 0 for every ` +
            `pair of distinct points (γ·‖x − y‖² above ~87 everywhere), so every point is isolated and any labelling ` +
            `is arbitrary. Use a smaller gamma, about ${suggestedGamma(spread)} (1 / the mean squared distance to the ` +
            `mean), or affinity 'nearest-neighbors'`,
        );
      }
      eig = await largestEigenpairs(op, {
        k: p.k,
        blockSize,
        tolerance: p.eigenTolerance,
        maxProducts: SPECTRAL_MAX_PRODUCTS[p.affinity],
        maxAmplification: 1e3,
        seed: p.seed,
        firstColumn: sqrtDegrees(degrees),
        checkpoint,
        onIteration: (e) => progress('eigensolver', { ...e }),
      });
      graphInfo = degreeStats(degrees);
    } finally {
      op.dispose();
    }
    method =
      `rbf kernel, blocked on-the-fly products on ${backend.name} (${KERNEL_TILE}-point tiles, symmetric, ` +
      'nothing n×n stored), Chebyshev-filtered subspace iteration';
  }

  // u = D^{-1/2} x, then scikit-learn's deterministic sign flip (largest-magnitude entry of each vector positive).
  const k = p.k;
  const embedding = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const s = degrees[i] > 0 ? 1 / Math.sqrt(degrees[i]) : 1;
    for (let j = 0; j < k; j++) embedding[i * k + j] = eig.vectors[i * k + j] * s;
  }
  for (let j = 0; j < k; j++) {
    let at = 0;
    for (let i = 1; i < n; i++) if (Math.abs(embedding[i * k + j]) > Math.abs(embedding[at * k + j])) at = i;
    if (embedding[at * k + j] < 0) for (let i = 0; i < n; i++) embedding[i * k + j] = -embedding[i * k + j];
  }

  const features = Float32Array.from(embedding);
  let best: KMeansResult | undefined;
  for (let run = 0; run < p.nInit; run++) {
    const result = await kmeans(
      features,
      n,
      k,
      { k, seed: p.seed + run },
      {
        signal: hooks.signal,
        onIteration: (it) => progress('kmeans', { run: run + 1, runs: p.nInit, ...it }),
      },
    );
    if (!best || result.inertia < best.inertia) best = result;
  }
  const chosen = best!;
  return {
    labels: chosen.labels,
    clusters: chosen.clusterSizes.filter((s) => s > 0).length,
    clusterSizes: chosen.clusterSizes,
    eigenvalues: Array.from(eig.values),
    residuals: Array.from(eig.residuals),
    iterations: eig.iterations,
    products: eig.products,
    converged: eig.converged,
    embeddingInertia: chosen.inertia,
    graph: graphInfo,
    method,
  };
}

/** How the nearest-neighbour products run, for `method`. */
function productsMethod(
  op: TensorGraphOperator | NormalizedGraphOperator | ParallelGraphOperator,
  backend: string,
): string {
  return op instanceof TensorGraphOperator
    ? `sparse float32 products on ${backend} (${
        op.reduction === 'unsortedSegmentSum' ? 'gather + unsortedSegmentSum' : 'sparseSegmentSum'
      })`
    : 'sparse float64 products on the host';
}

/** Spectral clustering as a ClusteringOutput. It cannot assign new points, so there is no model. */
export async function runSpectral(
  points: Float32Array,
  n: number,
  d: number,
  params: SpectralParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await spectral(points, n, d, params, hooks);
  return {
    labels: r.labels,
    clusters: r.clusters,
    iterations: r.iterations,
    converged: r.converged,
    method: r.method,
    extras: {
      eigenvalues: r.eigenvalues,
      residuals: r.residuals,
      products: r.products,
      clusterSizes: r.clusterSizes,
      embeddingInertia: r.embeddingInertia,
      graph: r.graph,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

interface ResolvedParams {
  k: number;
  affinity: SpectralAffinity;
  gamma: number;
  nNeighbors: number;
  seed: number;
  nInit: number;
  eigenTolerance: number;
}

function resolveParams(
  points: Float32Array,
  n: number,
  d: number,
  params: SpectralParams,
  graphMethod: SpectralGraphMethod,
): ResolvedParams {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 2) {
    throw new RangeError(`n (number of points) must be an integer >= 2 (spectral clustering needs a graph), got ${n}`);
  }
  if (!Number.isSafeInteger(d) || d < 1)
    throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d) {
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  }
  if (params === null || typeof params !== 'object') throw new RangeError('params must be an object with at least k');
  const affinity = params.affinity ?? SPECTRAL_DEFAULTS.affinity;
  if (!AFFINITIES.includes(affinity)) {
    throw new RangeError(`affinity must be one of ${AFFINITIES.join(', ')}, got ${JSON.stringify(affinity)}`);
  }
  const limit = SPECTRAL_LIMITS[affinity];
  if (n > limit.maxPoints) {
    throw new RangeError(
      `n = ${n} exceeds spectral clustering's limit of ${limit.maxPoints} points for affinity '${affinity}': ` +
        `${limit.why}. Use ${limit.alternative} instead`,
    );
  }
  const { k } = params;
  if (!Number.isInteger(k) || k < 1 || k > n || k > SPECTRAL_MAX_K) {
    throw new RangeError(
      `k must be an integer between 1 and min(n, ${SPECTRAL_MAX_K}) = ${Math.min(n, SPECTRAL_MAX_K)}, got ${k}`,
    );
  }
  const gamma = params.gamma ?? SPECTRAL_DEFAULTS.gamma;
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma < 0) {
    throw new RangeError(`gamma must be a finite number >= 0, got ${gamma}`);
  }
  const nNeighbors = params.nNeighbors ?? SPECTRAL_DEFAULTS.nNeighbors;
  if (!Number.isSafeInteger(nNeighbors) || nNeighbors < 1) {
    throw new RangeError(`nNeighbors must be a positive integer, got ${nNeighbors}`);
  }
  if (affinity === 'nearest-neighbors' && nNeighbors > n) {
    throw new RangeError(`nNeighbors must be at most n = ${n} (it counts the point itself), got ${nNeighbors}`);
  }
  const assignLabels = params.assignLabels ?? SPECTRAL_DEFAULTS.assignLabels;
  if (assignLabels !== 'kmeans') {
    throw new RangeError(
      `assignLabels must be 'kmeans' (the only method implemented), got ${JSON.stringify(assignLabels)}`,
    );
  }
  const nInit = params.nInit ?? SPECTRAL_DEFAULTS.nInit;
  if (!Number.isSafeInteger(nInit) || nInit < 1 || nInit > 1000) {
    throw new RangeError(`nInit must be an integer between 1 and 1000, got ${nInit}`);
  }
  const seed = params.seed ?? SPECTRAL_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(seed + nInit)) {
    throw new RangeError(`seed must be a safe integer (seed + nInit too), got ${seed}`);
  }
  const eigenTolerance =
    params.eigenTolerance ??
    (affinity === 'nearest-neighbors' && graphMethod === 'tensor'
      ? SPECTRAL_TENSOR_GRAPH_TOLERANCE
      : SPECTRAL_DEFAULTS.eigenTolerance[affinity]);
  if (typeof eigenTolerance !== 'number' || !(eigenTolerance > 0) || eigenTolerance >= 1) {
    throw new RangeError(`eigenTolerance must be a number in (0, 1), got ${eigenTolerance}`);
  }
  return { k, affinity, gamma, nNeighbors, seed, nInit, eigenTolerance };
}

const throwIfAborted = (signal: AbortSignal | undefined): void => abortIfSignalled(signal, 'spectral clustering');

/** Eigenpairs known in closed form (eigenvalue 1 each), with their residuals measured by one product. */
async function closedFormEigenpairs(
  op: SymmetricOperator,
  vectors: Float64Array,
  k: number,
  checkpoint: () => Promise<void>,
): Promise<EigenResult> {
  await checkpoint();
  const mv = await op.apply(vectors, k);
  const residuals = new Float64Array(k);
  for (let t = 0; t < mv.length; t++) residuals[t % k] += (mv[t] - vectors[t]) ** 2;
  return {
    vectors,
    values: new Float64Array(k).fill(1),
    residuals: residuals.map(Math.sqrt),
    iterations: 0,
    products: 1,
    converged: true,
  };
}

interface Spread {
  /** Largest |x_ij − mean_j|. */
  maxAbs: number;
  /** Largest ‖x_i − mean‖², and the mean of ‖x_i − mean‖², float64. */
  maxSq: number;
  meanSq: number;
}

function spreadAbout(points: Float32Array, n: number, d: number, mean: Float64Array): Spread {
  let maxAbs = 0;
  let maxSq = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = points[i * d + j] - mean[j];
      maxAbs = Math.max(maxAbs, Math.abs(v));
      s += v * v;
    }
    maxSq = Math.max(maxSq, s);
    sum += s;
  }
  return { maxAbs, maxSq, meanSq: sum / n };
}

/** A gamma of the data's own scale, for messages: 1 / the mean squared distance to the mean, 3 significant digits. */
function suggestedGamma(spread: Spread): string {
  return spread.meanSq > 0 ? (1 / spread.meanSq).toPrecision(3) : '(none: all points are identical)';
}

/**
 * Float32 exponents γ(2p·q − ‖p‖² − ‖q‖²) with p, q centred: every pair's γ‖x − y‖² lies between γ·maxSq and
 * 4γ·maxSq. Refuses a gamma for which the kernel carries no information in float32: all exponents so close to 0
 * that exp rounds every affinity to 1 (4γ·maxSq < RBF_MIN_EXPONENT), or exponents whose terms overflow float32.
 */
function checkRbfGamma(gamma: number, spread: Spread): void {
  if (spread.maxSq === 0) return; // all points identical: every affinity is 1 whatever gamma is, and so is the answer
  const widest = 4 * gamma * spread.maxSq;
  if (widest < RBF_MIN_EXPONENT) {
    throw new RangeError(
      `rbf affinity with gamma = ${gamma} is constant on this data: γ·‖x − y‖² ≤ ${widest.toPrecision(3)} for every ` +
        'pair, so every affinity exp(−γ‖x − y‖²) rounds to 1 in float32 and the graph has no structure. Use a larger ' +
        `gamma, about ${suggestedGamma(spread)} (1 / the mean squared distance to the mean), or affinity 'nearest-neighbors'`,
    );
  }
  if (gamma * spread.maxSq > RBF_MAX_EXPONENT) {
    throw new RangeError(
      `rbf affinity with gamma = ${gamma} is beyond float32 range on this data: γ·‖x − mean‖² reaches ` +
        `${(gamma * spread.maxSq).toPrecision(3)} (float32 holds up to ~3.4e38), so every affinity between distinct ` +
        `points is 0. Use a smaller gamma, about ${suggestedGamma(spread)} (1 / the mean squared distance to the mean), ` +
        "or affinity 'nearest-neighbors'",
    );
  }
}

/** Below this largest exponent every float32 affinity is within ~8 ulps of 1: no structure survives. */
const RBF_MIN_EXPONENT = 1e-6;
/** Above this γ·max‖x − mean‖², 2p·q − ‖p‖² − ‖q‖² can overflow float32 (4 × 1e37 < 3.4e38 with margin). */
const RBF_MAX_EXPONENT = 1e37;

function max(values: Float64Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, v);
  return m;
}

function sqrtDegrees(degrees: Float64Array): Float64Array {
  return degrees.map((g) => Math.sqrt(Math.max(g, 0)));
}

function degreeStats(degrees: Float64Array): { minDegree: number; maxDegree: number; isolatedPoints: number } {
  let minDegree = Infinity;
  let maxDegree = 0;
  let isolatedPoints = 0;
  for (const g of degrees) {
    minDegree = Math.min(minDegree, g);
    maxDegree = Math.max(maxDegree, g);
    if (!(g > 0)) isolatedPoints++;
  }
  return { minDegree, maxDegree, isolatedPoints };
}
