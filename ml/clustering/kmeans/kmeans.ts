/**
 * k-means (Lloyd's algorithm with greedy k-means++ seeding) as TensorFlow.js tensor programs, following
 * scikit-learn's KMeans(algorithm='lloyd', n_init=1) closely so results and parameters mean the same thing there.
 *
 * Layout: the data is centred on the host (float32 distances via ‖x‖² − 2x·c + ‖c‖² lose precision far from the
 * origin; scikit-learn centres for the same reason), then uploaded once as row blocks. The heavy per-iteration work
 * (distances, argmin, per-cluster sums) runs on the device one block at a time, so no distance matrix ever exceeds
 * MAX_DISTANCE_CELLS_PER_BLOCK cells; only k×d sums come back to the host, where the tiny M-step runs in float64.
 *
 * On the wasm backend, large inputs (n·k·d ≥ KMEANS_PARALLEL.minWork) are split by whole blocks between the main
 * thread and worker threads (pool.ts), each with its own engine; see there. Labels, farthest points, inertia
 * and k-means++ seeding do not depend on the split; only the float64 per-cluster sums are added in another order.
 *
 * Bounds: with algorithm 'hamerly' (chosen by 'auto' per kmeansMethod below) the passes after the first keep
 * Hamerly's bounds per point (bounds.ts) and score only the points whose label they cannot prove unchanged; the labels,
 * hence centroids, iterations and inertia, are exactly those of 'lloyd'. Only the per-iteration progress inertia is
 * computed differently (from the cluster sums) on bounded passes.
 *
 * Magnitude: inputs whose largest |coordinate| is far from 1 (1e20, 1e-25) are divided by a power of two first
 * (../scale.ts), so that float32 squares neither overflow nor underflow; centroids and inertia are scaled back in
 * float64. The returned inertia is scikit-learn's inertia_, computed on the host in float64 (../inertia.ts).
 */
import { initComputeBackend } from '../../backend';
import { KMEANS_PARALLEL, LocalShard, RemoteShard, ShardHandle, kmeansThreads } from './pool';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from '../block-size';
import { FarPoint, MAX_DEVICE_SHARE, PassMode, Shard } from './shard';
import { Random, sampleWeighted } from '../../random';
import { throwIfAborted as abortIfSignalled } from '../../abort';
import { flatCentres, inertiaToCentres } from '../inertia';
import { scaleForMagnitude, scaleRows, scaledPoints } from '../scale';

export { KMEANS_PARALLEL };

/** 'lloyd': every point against every centroid in every pass; 'hamerly': bounds skip most of that; 'auto': chosen. */
export type KMeansAlgorithm = 'auto' | 'lloyd' | 'hamerly';
export const KMEANS_ALGORITHMS: readonly KMeansAlgorithm[] = ['auto', 'lloyd', 'hamerly'];

/**
 * When 'auto' picks Hamerly's bounds. minK: the fewest clusters for which bounds pay: a full pass costs ~k·d
 * vectorised multiply-adds per point, a bounded one a few scalar operations per point plus O(d) for each point whose
 * bound needs tightening, so for a handful of clusters the full pass is as cheap. Mutable for tests and benchmarks.
 * How a Hamerly run falls back to full passes: see MAX_DEVICE_SHARE (shard.ts) and PassPlanner.
 */
export const HAMERLY = { minK: 8 };

export interface KMeansParams {
  k: number;
  maxIterations?: number;
  tolerance?: number;
  seed?: number;
  /** 'k-means++', 'random', or explicit initial centroids (k rows of d numbers), as scikit-learn's init=ndarray. */
  init?: 'k-means++' | 'random' | number[][];
  /** How the assignment passes run; default 'auto' (kmeansMethod). Every choice gives the same result. */
  algorithm?: KMeansAlgorithm;
}
export const KMEANS_DEFAULTS = {
  maxIterations: 300,
  tolerance: 1e-4,
  seed: 0,
  init: 'k-means++',
  algorithm: 'auto',
} as const;
export interface KMeansProgress {
  iteration: number;
  maxIterations: number;
  /** Inertia of this iteration's assignment step, i.e. against the centroids it started from. */
  inertia: number;
  /** Sum over centroids of the squared distance each moved in this iteration. */
  shift: number;
}
export interface KMeansResult {
  labels: Int32Array;
  centroids: number[][];
  inertia: number;
  iterations: number;
  converged: boolean;
  clusterSizes: number[];
  /** Threads that computed (1, or more when the input was large enough for the worker pool). */
  threads: number;
  /** How the assignment passes ran: plain Lloyd, or Lloyd with Hamerly's bounds (same labels). */
  algorithm: 'lloyd' | 'hamerly';
  /**
   * Point-to-all-centroids scorings done, as a share of those plain Lloyd does (n per pass, the final one included):
   * 1 for 'lloyd'.
   */
  scoredFraction: number;
}
export interface KMeansHooks {
  onIteration?(p: KMeansProgress): void | Promise<void>;
  signal?: AbortSignal;
}

const INIT_METHODS = ['k-means++', 'random'] as const;

/**
 * Clusters n row-major d-dimensional points into k clusters. Deterministic for a given seed and backend.
 * Stops when the summed squared centroid shift of an iteration is ≤ tolerance × (mean per-feature variance), with
 * converged = true, or after maxIterations with converged = false. Invalid arguments reject with a RangeError naming
 * the parameter; an aborted hooks.signal rejects with an Error named 'AbortError'. All tensors are released either way.
 */
export async function kmeans(
  points: Float32Array,
  n: number,
  d: number,
  params: KMeansParams,
  hooks: KMeansHooks = {},
): Promise<KMeansResult> {
  const p = resolveParams(points, n, d, params);
  const { mean, meanVariance, maxMagnitude } = featureStats(points, n, d);
  const scale = scaleForMagnitude(maxMagnitude);
  if (scale !== 1) {
    // The same run on points / scale (exact), lengths scaled back: see ../scale.ts.
    const sq = scale * scale;
    const r = await kmeans(
      scaledPoints(points, scale),
      n,
      d,
      { ...p, init: Array.isArray(p.init) ? scaleRows(p.init, 1 / scale) : p.init },
      {
        signal: hooks.signal,
        onIteration: (it) => hooks.onIteration?.({ ...it, inertia: it.inertia * sq, shift: it.shift * sq }),
      },
    );
    const centroids = scaleRows(r.centroids, scale);
    return { ...r, centroids, inertia: inertiaToCentres(points, n, d, r.labels, flatCentres(centroids, d), p.k) };
  }
  throwIfAborted(hooks.signal);
  const backend = await initComputeBackend();

  // Same rule as scikit-learn's _tolerance: relative to the data's spread, so it is scale-free.
  const absTolerance = p.tolerance * meanVariance;
  const rng = new Random(p.seed);
  const localTrials = 2 + Math.floor(Math.log(p.k));
  const blockRows = Math.max(1, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / Math.max(p.k, localTrials)));
  const data = new CentredData(points, n, d, mean);
  const method = kmeansMethod(p.algorithm, p.k, backend.name);
  const shards = await openShards(data, blockRows, n * p.k * d, backend.name === 'wasm', method === 'hamerly');
  try {
    let centroids = Array.isArray(p.init)
      ? initGiven(p.init, mean, d)
      : p.init === 'random'
        ? initRandom(data, p.k, rng)
        : await initKMeansPlusPlus(data, shards, p.k, localTrials, rng, hooks.signal);

    const passes = new PassPlanner(method, n);
    let iterations = 0;
    let converged = false;
    while (iterations < p.maxIterations) {
      throwIfAborted(hooks.signal);
      const step = await assignAndSum(data, shards, centroids, p.k, d, passes);
      const empty = emptyClusters(step.counts);
      if (empty.length > 0) await relocateEmptyClusters(data, shards, centroids, p.k, empty, step);
      const next = updateCentroids(step, centroids, p.k, d);
      const shift = squaredDistanceSum(next, centroids);
      centroids = next;
      iterations++;
      await hooks.onIteration?.({
        iteration: iterations,
        maxIterations: p.maxIterations,
        inertia: step.inertia,
        shift,
      });
      // Unchanged labels give bit-identical centroids, so shift is exactly 0 then and this also holds for tolerance 0.
      if (shift <= absTolerance) {
        converged = true;
        break;
      }
      // Let timers and I/O (heartbeats, an abort from a setTimeout) run between iterations.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    throwIfAborted(hooks.signal);

    // Labels and inertia always come from one final assignment against the returned centroids, so the three agree.
    const labels = await finalAssignment(shards, centroids, p.k, n, passes);
    const clusterSizes = new Array<number>(p.k).fill(0);
    for (let i = 0; i < n; i++) clusterSizes[labels[i]]++;
    const returned = uncentre(centroids, mean, p.k, d);
    return {
      labels,
      centroids: returned,
      inertia: inertiaToCentres(points, n, d, labels, flatCentres(returned, d), p.k),
      iterations,
      converged,
      clusterSizes,
      threads: shards.length,
      algorithm: passes.algorithm,
      scoredFraction: passes.scoredFraction(),
    };
  } finally {
    await Promise.all(shards.map((s) => s.handle.close()));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

interface ResolvedParams {
  k: number;
  maxIterations: number;
  tolerance: number;
  seed: number;
  init: 'k-means++' | 'random' | number[][];
  algorithm: KMeansAlgorithm;
}

/**
 * The rule 'auto' follows: Hamerly's bounds where they pay (k ≥ HAMERLY.minK) and where a row's product with the
 * centroids is known not to depend on the other rows in the call, which re-scoring gathered rows relies on (wasm:
 * XNNPACK's GEMM; cpu: tfjs' JS loops; both checked by the tests); plain Lloyd otherwise, and always for k = 1. An
 * explicit 'hamerly' is honoured for any k ≥ 2 on any backend.
 */
export function kmeansMethod(algorithm: KMeansAlgorithm, k: number, backend: string): 'lloyd' | 'hamerly' {
  if (k < 2 || algorithm === 'lloyd') return 'lloyd';
  if (algorithm === 'hamerly') return 'hamerly';
  return k >= HAMERLY.minK && (backend === 'wasm' || backend === 'cpu') ? 'hamerly' : 'lloyd';
}

/** Heavy bounded passes in a row (see PassPlanner) after which a Hamerly run continues as plain Lloyd. */
const GIVE_UP_AFTER = 3;

/**
 * Which kind of pass comes next (PassMode): always 'lloyd' for Lloyd; for Hamerly a 'full' pass first, then
 * 'bounded' ones. A bounded pass whose shards found more than MAX_DEVICE_SHARE of the rows undecided ("heavy") scores
 * them all (shard.ts), after bound updates spent for nothing; the second heavy pass in a row is followed by a full
 * pass, and the GIVE_UP_AFTER-th ends the bounds: the rest of the run is plain Lloyd, so that data on which bounds do
 * not pay costs little more than Lloyd. Counts the rows scored.
 */
class PassPlanner {
  private fullPassesDue = 1;
  private heavyInARow = 0;
  private gaveUp = false;
  private scored = 0;
  private passes = 0;

  constructor(
    readonly algorithm: 'lloyd' | 'hamerly',
    private readonly n: number,
  ) {}

  next(): PassMode {
    if (this.algorithm === 'lloyd' || this.gaveUp) return 'lloyd';
    return this.fullPassesDue > 0 ? 'full' : 'bounded';
  }

  /** Records a pass of mode `mode` that scored `computed` of the n rows. */
  done(mode: PassMode, computed: number): void {
    this.passes++;
    this.scored += computed;
    if (mode === 'full') this.fullPassesDue--;
    else if (mode === 'bounded') {
      if (computed <= MAX_DEVICE_SHARE * this.n) this.heavyInARow = 0;
      else if (++this.heavyInARow >= GIVE_UP_AFTER) this.gaveUp = true;
      else if (this.heavyInARow === 2) this.fullPassesDue = 1;
    }
  }

  scoredFraction(): number {
    return this.passes === 0 ? 1 : this.scored / (this.passes * this.n);
  }
}

function resolveParams(points: Float32Array, n: number, d: number, params: KMeansParams): ResolvedParams {
  if (!(points instanceof Float32Array)) throw new RangeError('points must be a Float32Array (row-major n×d)');
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`n (number of points) must be a positive integer, got ${n}`);
  if (!Number.isSafeInteger(d) || d < 1)
    throw new RangeError(`d (number of dimensions) must be a positive integer, got ${d}`);
  if (points.length !== n * d) {
    throw new RangeError(`points.length must equal n*d = ${n}*${d} = ${n * d}, got ${points.length}`);
  }
  if (params === null || typeof params !== 'object') throw new RangeError('params must be an object with at least k');
  const { k } = params;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new RangeError(`k must be an integer between 1 and n = ${n}, got ${k}`);
  const maxIterations = params.maxIterations ?? KMEANS_DEFAULTS.maxIterations;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1) {
    throw new RangeError(`maxIterations must be a positive integer, got ${maxIterations}`);
  }
  const tolerance = params.tolerance ?? KMEANS_DEFAULTS.tolerance;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const seed = params.seed ?? KMEANS_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const init = params.init ?? KMEANS_DEFAULTS.init;
  if (Array.isArray(init)) {
    if (
      init.length !== k ||
      init.some((row) => !Array.isArray(row) || row.length !== d || row.some((v) => !Number.isFinite(v)))
    ) {
      throw new RangeError(`init as centroids must be k = ${k} rows of d = ${d} finite numbers`);
    }
  } else if (!(INIT_METHODS as readonly string[]).includes(init)) {
    throw new RangeError(
      `init must be one of ${INIT_METHODS.join(', ')} or k×d centroids, got ${JSON.stringify(init)}`,
    );
  }
  const algorithm = params.algorithm ?? KMEANS_DEFAULTS.algorithm;
  if (!KMEANS_ALGORITHMS.includes(algorithm)) {
    throw new RangeError(`algorithm must be one of ${KMEANS_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
  }
  return { k, maxIterations, tolerance, seed, init, algorithm };
}

/**
 * Per-feature mean, the mean per-feature (population) variance, in float64, and the largest |coordinate| (for
 * ../scale.ts), in two passes over the data; also rejects NaN/Infinity.
 */
function featureStats(
  points: Float32Array,
  n: number,
  d: number,
): { mean: Float64Array; meanVariance: number; maxMagnitude: number } {
  const mean = new Float64Array(d);
  let maxMagnitude = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = points[i * d + j];
      const a = Math.abs(v);
      if (!(a <= maxMagnitude)) {
        if (!Number.isFinite(v)) throw new RangeError(`points must be finite; row ${i}, column ${j} is ${v}`);
        maxMagnitude = a;
      }
      mean[j] += v;
    }
  }
  for (let j = 0; j < d; j++) mean[j] /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const dv = points[i * d + j] - mean[j];
      variance += dv * dv;
    }
  }
  return { mean, meanVariance: variance / (n * d), maxMagnitude };
}

const throwIfAborted = (signal: AbortSignal | undefined): void => abortIfSignalled(signal, 'k-means');

// ---------------------------------------------------------------------------------------------------------------
// Data on host and device

/** Host view of the centred data; centred rows are float32 exactly as uploaded, so a point's distance to itself is 0. */
class CentredData {
  constructor(
    readonly points: Float32Array,
    readonly n: number,
    readonly d: number,
    readonly mean: Float64Array,
  ) {}

  /** Writes centred row i, rounded to float32, into out[offset..offset+d). */
  copyRow(i: number, out: Float32Array | Float64Array, offset = 0): void {
    for (let j = 0; j < this.d; j++) out[offset + j] = Math.fround(this.points[i * this.d + j] - this.mean[j]);
  }
}

/** A shard of consecutive rows starting at global row `offset`, in this thread or a worker. In row order. */
interface OpenShard {
  handle: ShardHandle;
  offset: number;
}

/**
 * Uploads the data as blocks of blockRows rows (see shard.ts), all in this thread or, when the work is
 * large enough and threads are available, split by whole blocks between this thread and worker threads. A pool
 * that fails to start falls back to this thread alone.
 */
async function openShards(
  data: CentredData,
  blockRows: number,
  work: number,
  wasm: boolean,
  bounds: boolean,
): Promise<OpenShard[]> {
  const { points, n, d, mean } = data;
  const blockCount = Math.ceil(n / blockRows);
  const threads = wasm && work >= KMEANS_PARALLEL.minWork ? Math.min(kmeansThreads(), blockCount) : 1;
  const local = (offset: number, rows: number): OpenShard => ({
    handle: new LocalShard(
      new Shard(points.subarray(offset * d, (offset + rows) * d), offset, rows, d, mean, blockRows, bounds),
    ),
    offset,
  });
  if (threads <= 1) return [local(0, n)];

  const ranges = Array.from({ length: threads }, (_, s) => {
    const offset = Math.floor((s * blockCount) / threads) * blockRows;
    const end = Math.min(n, Math.floor(((s + 1) * blockCount) / threads) * blockRows);
    return { offset, rows: end - offset };
  });
  // Workers first, so that their uploads overlap with this thread's own.
  const remote = ranges.slice(1).map(({ offset, rows }) =>
    RemoteShard.start({
      points: points.slice(offset * d, (offset + rows) * d),
      offset,
      rows,
      d,
      mean,
      blockRows,
      bounds,
    }).then((handle): OpenShard => ({ handle, offset })),
  );
  const settled = Promise.allSettled(remote);
  let first: OpenShard;
  try {
    first = local(ranges[0].offset, ranges[0].rows);
  } catch (err) {
    for (const r of await settled) if (r.status === 'fulfilled') await r.value.handle.close();
    throw err;
  }
  const results = await settled;
  if (results.every((r) => r.status === 'fulfilled')) {
    return [first, ...results.map((r) => (r as PromiseFulfilledResult<OpenShard>).value)];
  }
  // E.g. the compiled worker script is missing (running from sources): compute in this thread alone.
  await first.handle.close();
  for (const r of results) if (r.status === 'fulfilled') await r.value.handle.close();
  return [local(0, n)];
}

// ---------------------------------------------------------------------------------------------------------------
// Initialisation

/** Explicit centroids, centred like the data. */
function initGiven(init: number[][], mean: Float64Array, d: number): Float64Array {
  const centroids = new Float64Array(init.length * d);
  init.forEach((row, c) => row.forEach((v, j) => (centroids[c * d + j] = v - mean[j])));
  return centroids;
}

/** 'random': k distinct rows chosen uniformly. */
function initRandom(data: CentredData, k: number, rng: Random): Float64Array {
  const centroids = new Float64Array(k * data.d);
  rng.sampleDistinct(data.n, k).forEach((row, c) => data.copyRow(row, centroids, c * data.d));
  return centroids;
}

/**
 * Greedy k-means++ as in scikit-learn's _kmeans_plusplus: the first centre is uniform; each next one is the best (by
 * resulting potential Σ min-distance²) of `localTrials` candidates drawn with probability ∝ distance² to the closest
 * centre so far. Distances stay on the device (Shard.updateClosest); only the n closest-distances come back per step,
 * for sampling in float64 on the host.
 */
async function initKMeansPlusPlus(
  data: CentredData,
  shards: OpenShard[],
  k: number,
  localTrials: number,
  rng: Random,
  signal: AbortSignal | undefined,
): Promise<Float64Array> {
  const { n, d } = data;
  const centroids = new Float64Array(k * d);
  data.copyRow(rng.nextInt(n), centroids, 0);
  const updateClosest = async (c: number): Promise<void> => {
    const row = new Float32Array(d + 1);
    for (let j = 0; j < d; j++) row[j] = centroids[c * d + j];
    row[d] = 1;
    await Promise.all(shards.map((s) => s.handle.updateClosest(row, c === 0)));
  };
  await updateClosest(0);
  const candidates = new Float64Array(localTrials * d);
  // Prefix sums of the closest-distances in float64 (as cumulativeSum), one array for all k steps: at 10^7 points a
  // fresh one per step would be 80 MB of garbage each time.
  const cumulative = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    throwIfAborted(signal); // seeding costs about as much as a few Lloyd iterations for large k
    const parts = await Promise.all(shards.map((s) => s.handle.closestDistances()));
    let acc = 0;
    let at = 0;
    for (const part of parts) {
      for (let i = 0; i < part.length; i++) {
        const w = part[i];
        acc += w > 0 ? w : 0; // negative weights (float round-off in distances) count as zero
        cumulative[at++] = acc;
      }
    }
    const ids: number[] = [];
    for (let t = 0; t < localTrials; t++) {
      ids.push(sampleWeighted(cumulative, rng));
      data.copyRow(ids[t], candidates, t * d);
    }
    const potentials = await candidatePotentials(shards, cumulative[n - 1], candidates, localTrials);
    let best = 0;
    for (let t = 1; t < localTrials; t++) if (potentials[t] < potentials[best]) best = t;
    data.copyRow(ids[best], centroids, c * d);
    await updateClosest(c);
  }
  return centroids;
}

/**
 * Σ over all points of min(closest, distance² to candidate t), for each candidate t, as Σclosest − Σrelu(closest −
 * dist_t), with the per-block gains added in global block order.
 */
async function candidatePotentials(
  shards: OpenShard[],
  totalClosest: number,
  candidates: Float64Array,
  count: number,
): Promise<Float64Array> {
  const gain = new Float64Array(count);
  const parts = await Promise.all(shards.map((s) => s.handle.candidateGains(candidates, count)));
  for (const values of parts) {
    for (let i = 0; i < values.length; i += count) for (let t = 0; t < count; t++) gain[t] += values[i + t];
  }
  return gain.map((g) => totalClosest - g);
}

// ---------------------------------------------------------------------------------------------------------------
// Lloyd iteration

interface StepSums {
  /** k×d per-cluster sums of (centred) points, float64. */
  sums: Float64Array;
  counts: Float64Array;
  inertia: number;
}

/** Assignment step plus the sums the update step needs, on all shards at once, merged in row order. */
async function assignAndSum(
  data: CentredData,
  shards: OpenShard[],
  centroids: Float64Array,
  k: number,
  d: number,
  passes: PassPlanner,
): Promise<StepSums> {
  const mode = passes.next();
  const parts = await Promise.all(shards.map((s) => s.handle.assign(centroids, k, mode)));
  passes.done(
    mode,
    parts.reduce((t, part) => t + part.computed, 0),
  );
  const [{ sums, counts }] = parts;
  let inertia = 0;
  for (let s = 0; s < parts.length; s++) {
    const part = parts[s];
    if (s > 0) {
      for (let i = 0; i < sums.length; i++) sums[i] += part.sums[i];
      for (let c = 0; c < k; c++) counts[c] += part.counts[c];
    }
    for (const v of part.blockInertia) inertia += v;
  }
  // Sums of raw coordinates to sums of centred ones (the centroids live centred).
  const { mean } = data;
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) sums[c * d + j] -= counts[c] * mean[j];
  return { sums, counts, inertia };
}

function emptyClusters(counts: Float64Array): number[] {
  const empty: number[] = [];
  counts.forEach((count, c) => {
    if (count === 0) empty.push(c);
  });
  return empty;
}

/**
 * Empty clusters are handled as scikit-learn does (_relocate_empty_clusters): each takes one of the points farthest
 * from their assigned centroid, which is moved out of its old cluster's sums. This keeps all k clusters in use when
 * possible rather than leaving a dead centroid. A cluster still empty afterwards keeps its previous centroid.
 */
async function relocateEmptyClusters(
  data: CentredData,
  shards: OpenShard[],
  centroids: Float64Array,
  k: number,
  empty: number[],
  step: StepSums,
): Promise<void> {
  const { d } = data;
  const far = await farthestPoints(shards, centroids, k, empty.length);
  const x = new Float64Array(d);
  empty.forEach((target, i) => {
    const point = far[i];
    if (!point) return;
    data.copyRow(point.index, x);
    for (let j = 0; j < d; j++) {
      step.sums[point.label * d + j] -= x[j];
      step.sums[target * d + j] = x[j];
    }
    step.counts[point.label] -= 1;
    step.counts[target] = 1;
  });
}

/** The m points farthest from their nearest centroid (ties: lower index first), with the cluster each is in. */
async function farthestPoints(shards: OpenShard[], centroids: Float64Array, k: number, m: number): Promise<FarPoint[]> {
  const parts = await Promise.all(shards.map((s) => s.handle.farthest(centroids, k, m)));
  const found = parts.flat();
  found.sort((a, b) => b.dist - a.dist || a.index - b.index);
  return found.slice(0, m);
}

/** Update step: centroid = mean of its points; a cluster with no points keeps its previous centroid. */
function updateCentroids(step: StepSums, previous: Float64Array, k: number, d: number): Float64Array {
  const next = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    const count = step.counts[c];
    for (let j = 0; j < d; j++) {
      next[c * d + j] = count > 0 ? step.sums[c * d + j] / count : previous[c * d + j];
    }
  }
  return next;
}

function squaredDistanceSum(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** Labels against the final centroids (Shard.final), from all shards at once. */
async function finalAssignment(
  shards: OpenShard[],
  centroids: Float64Array,
  k: number,
  n: number,
  passes: PassPlanner,
): Promise<Int32Array> {
  const labels = new Int32Array(n);
  // A final pass needs no fresh bounds: 'full' is scored as plain Lloyd.
  const mode = passes.next() === 'bounded' ? 'bounded' : 'lloyd';
  const parts = await Promise.all(shards.map((s) => s.handle.final(centroids, k, mode)));
  passes.done(
    mode,
    parts.reduce((t, part) => t + part.computed, 0),
  );
  parts.forEach((part, i) => labels.set(part.labels, shards[i].offset));
  return labels;
}

function uncentre(centroids: Float64Array, mean: Float64Array, k: number, d: number): number[][] {
  return Array.from({ length: k }, (_, c) => Array.from({ length: d }, (_, j) => centroids[c * d + j] + mean[j]));
}
