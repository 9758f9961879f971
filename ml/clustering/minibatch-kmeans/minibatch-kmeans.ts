/**
 * Mini-batch k-means (Sculley 2010), following scikit-learn's MiniBatchKMeans step for step so that parameters and
 * results mean the same thing there:
 *   - init: greedy k-means++ on a random sample of `initSize` rows (default 3·batchSize, at least 3·k), drawn with
 *     replacement; with nInit > 1 the init with the lowest inertia on a separate validation sample wins;
 *   - each step draws `batchSize` rows uniformly with replacement, assigns them to the nearest centre, and moves each
 *     centre to the running mean of every point it was ever assigned (per-centre counts = per-centre learning rates
 *     1/count);
 *   - centres whose count falls below reassignmentRatio × the largest count are moved to random rows of the batch
 *     (at most batchSize/2 at a time), checked every 10·k points seen or whenever some centre has no points yet;
 *   - early stopping: an exponentially weighted average (α = 2·batchSize/(n+1)) of the per-point batch inertia that
 *     has not improved for maxNoImprovement consecutive steps, or (tolerance > 0) a summed squared centre move ≤
 *     tolerance × the mean per-feature variance; otherwise maxIterations passes over the data (maxIterations·n/batchSize
 *     steps).
 * Labels and inertia are then computed over all points against the final centres in one blocked pass, as
 * scikit-learn's compute_labels=True does: inertia is scikit-learn's inertia_, the sum over ALL points of the squared
 * distance to their closest centre on the final centres (../inertia.ts), the same number as the quality metrics'
 * inertia. (The per-batch inertia that early stopping watches is only a running estimate and is never reported.)
 *
 * Magnitude: inputs whose largest |coordinate| is far from 1 are divided by a power of two first (../scale.ts) and
 * the centres scaled back, so float32 squares neither overflow nor underflow.
 *
 * Scale: the data never goes to the device as a whole. A step uploads one batch (batchSize×(d+1) floats) and
 * computes a batchSize×k score matrix, so memory per step is O(batchSize·k) on top of the k×d centres; the final pass
 * streams blocks of at most MAX_DISTANCE_CELLS_PER_BLOCK score cells. Host memory is the input plus O(n) labels.
 * This is the scalable alternative to full k-means for inputs where full Lloyd passes are too slow.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../backend';
import { Random, cumulativeSum, sampleWeighted } from '../../random';
import { centreScoreMatrix, nearestCentres, throwIfAborted, validatePoints } from '../predict';
import { ClusteringHooks, ClusteringOutput } from '../types';
import { flatCentres, inertiaToCentres } from '../inertia';
import { magnitudeScale, scaleRows, scaledPoints } from '../scale';

export interface MiniBatchKMeansParams {
  k: number;
  /** Rows per step (scikit-learn batch_size); capped at n. */
  batchSize?: number;
  /** Most passes over the data (scikit-learn max_iter): at most floor(maxIterations·n/batchSize) steps. */
  maxIterations?: number;
  seed?: number;
  /** Stop when the summed squared centre move of a step ≤ tolerance × mean per-feature variance; 0 disables (default). */
  tolerance?: number;
  /** Stop after this many consecutive steps without improvement of the smoothed batch inertia; null disables. */
  maxNoImprovement?: number | null;
  /** Rows sampled for k-means++ (scikit-learn init_size); default 3·batchSize, raised to 3·k if smaller, capped at n. */
  initSize?: number;
  /** Centres with count < reassignmentRatio × the largest count are moved to random batch rows; 0 disables. */
  reassignmentRatio?: number;
  /** Number of k-means++ inits, best on a validation sample kept (scikit-learn n_init; 'auto' is 1 for k-means++). */
  nInit?: number;
}

export const MINIBATCH_KMEANS_DEFAULTS = {
  batchSize: 1024,
  maxIterations: 100,
  seed: 0,
  tolerance: 0,
  maxNoImprovement: 10,
  reassignmentRatio: 0.01,
  nInit: 1,
} as const;

export interface MiniBatchKMeansProgress {
  step: number;
  maxSteps: number;
  /** Smoothed per-point batch inertia (what early stopping watches); absent until the second step (no NaN in a heartbeat). */
  ewaInertia?: number;
  /** Passes over the data so far (may be fractional). */
  epochs: number;
}

export interface MiniBatchKMeansResult {
  labels: Int32Array;
  centroids: number[][];
  /** scikit-learn's inertia_: Σ over all points of the squared distance to their closest final centre (float64). */
  inertia: number;
  /** Passes over the data, rounded up (scikit-learn n_iter_). */
  iterations: number;
  /** Mini-batch steps taken (scikit-learn n_steps_). */
  steps: number;
  /** True when early stopping ended the run, false when it used every allowed step. */
  converged: boolean;
  clusterSizes: number[];
}

export interface MiniBatchKMeansHooks {
  onProgress?(p: MiniBatchKMeansProgress): void | Promise<void>;
  signal?: AbortSignal;
}

/** How often (ms) the step loop reports progress and yields to the event loop. */
const YIELD_EVERY_MS = 100;
const WHAT = 'mini-batch k-means';

interface Resolved {
  k: number;
  batchSize: number;
  maxIterations: number;
  seed: number;
  tolerance: number;
  maxNoImprovement: number | null;
  initSize: number;
  reassignmentRatio: number;
  nInit: number;
}

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function resolveParams(n: number, params: MiniBatchKMeansParams): Resolved {
  if (params === null || typeof params !== 'object') throw new RangeError('params must be an object with at least k');
  const { k } = params;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new RangeError(`k must be an integer between 1 and n = ${n}, got ${k}`);
  const D = MINIBATCH_KMEANS_DEFAULTS;
  const batchSize = Math.min(n, positiveInteger('batchSize', params.batchSize ?? D.batchSize));
  const maxIterations = positiveInteger('maxIterations', params.maxIterations ?? D.maxIterations);
  const seed = params.seed ?? D.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const tolerance = params.tolerance ?? D.tolerance;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const maxNoImprovement =
    params.maxNoImprovement === null
      ? null
      : positiveInteger('maxNoImprovement', params.maxNoImprovement ?? D.maxNoImprovement);
  let initSize = params.initSize === undefined ? 3 * batchSize : positiveInteger('initSize', params.initSize);
  if (initSize < k) initSize = 3 * k;
  initSize = Math.min(initSize, n);
  const reassignmentRatio = params.reassignmentRatio ?? D.reassignmentRatio;
  if (typeof reassignmentRatio !== 'number' || !Number.isFinite(reassignmentRatio) || reassignmentRatio < 0) {
    throw new RangeError(`reassignmentRatio must be a finite number >= 0, got ${reassignmentRatio}`);
  }
  const nInit = positiveInteger('nInit', params.nInit ?? D.nInit);
  return { k, batchSize, maxIterations, seed, tolerance, maxNoImprovement, initSize, reassignmentRatio, nInit };
}

/**
 * Clusters n row-major d-dimensional points into k clusters with mini-batch k-means. Deterministic for a given seed
 * and backend. Invalid arguments reject with a RangeError naming the parameter; an aborted signal rejects with an
 * Error named 'AbortError'. No tensors outlive the call.
 */
export async function miniBatchKMeans(
  points: Float32Array,
  n: number,
  d: number,
  params: MiniBatchKMeansParams,
  hooks: MiniBatchKMeansHooks = {},
): Promise<MiniBatchKMeansResult> {
  validatePoints(points, n, d);
  const p = resolveParams(n, params);
  const scale = magnitudeScale(points);
  if (scale !== 1) {
    // The same run on points / scale (exact), centres scaled back: see ../scale.ts.
    const sq = scale * scale;
    const r = await miniBatchKMeans(scaledPoints(points, scale), n, d, params, {
      signal: hooks.signal,
      onProgress: (pr) =>
        hooks.onProgress?.({ ...pr, ...(pr.ewaInertia !== undefined ? { ewaInertia: pr.ewaInertia * sq } : {}) }),
    });
    const centroids = scaleRows(r.centroids, scale);
    return { ...r, centroids, inertia: inertiaToCentres(points, n, d, r.labels, flatCentres(centroids, d), p.k) };
  }
  throwIfAborted(hooks.signal, WHAT);
  await initComputeBackend();
  const { k, batchSize: B } = p;
  const rng = new Random(p.seed);

  // Validation rows for choosing among inits (drawn first, as scikit-learn does), then the inits.
  const validation = p.nInit > 1 ? Array.from({ length: p.initSize }, () => rng.nextInt(n)) : [];
  let centres: Float64Array | undefined;
  let shift: Float64Array | undefined;
  let bestInertia = Infinity;
  for (let init = 0; init < p.nInit; init++) {
    throwIfAborted(hooks.signal, WHAT);
    const sample = Array.from({ length: p.initSize }, () => rng.nextInt(n));
    const candidate = kmeansPlusPlus(points, d, sample, k, rng);
    // The shift that keeps the float32 distance expansion accurate: the mean of the first init sample is as good as
    // the data mean for that purpose and costs nothing extra.
    shift ??= rowsMean(points, d, sample);
    if (p.nInit === 1) {
      centres = candidate;
      break;
    }
    const inertia = hostInertia(points, d, validation, candidate, k);
    if (inertia < bestInertia) {
      bestInertia = inertia;
      centres = candidate;
    }
  }
  const c = centres!;
  const absTolerance = p.tolerance > 0 ? p.tolerance * meanVariance(points, n, d) : 0;

  const counts = new Float64Array(k);
  const batchSums = new Float64Array(k * d);
  const batchCounts = new Float64Array(k);
  const buf = new Float32Array(B * (d + 1));
  const norms = new Float64Array(B);
  const batchIdx = new Int32Array(B);
  const maxSteps = Math.floor((p.maxIterations * n) / B);
  const alpha = Math.min(1, (B * 2) / (n + 1));
  let ewa: number | undefined;
  let ewaMin: number | undefined;
  let noImprovement = 0;
  let sinceReassign = 0;
  let steps = 0;
  let converged = false;
  let lastYield = Date.now();

  for (let step = 0; step < maxSteps; step++) {
    throwIfAborted(hooks.signal, WHAT);
    // scikit-learn's _random_reassign: decided before the step.
    sinceReassign += B;
    let reassign = false;
    if (sinceReassign >= 10 * k || counts.some((w) => w === 0)) {
      sinceReassign = 0;
      reassign = true;
    }

    for (let r = 0; r < B; r++) {
      const i = rng.nextInt(n);
      batchIdx[r] = i;
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const v = Math.fround(points[i * d + j] - shift![j]);
        buf[r * (d + 1) + j] = v;
        norm += v * v;
      }
      buf[r * (d + 1) + d] = 1;
      norms[r] = norm;
    }
    const scoreT = centreScoreMatrix(c, k, d, shift!);
    const [labelsT, minT] = tf.tidy(() => {
      const s = tf.matMul(tf.tensor2d(buf, [B, d + 1]), scoreT);
      return [tf.argMin(s, 1), tf.min(s, 1)];
    });
    scoreT.dispose();
    const [labels, mins] = await Promise.all([labelsT.data(), minT.data()]).finally(() => tf.dispose([labelsT, minT]));

    // Update step (scikit-learn _minibatch_update_dense), in float64 on the host.
    let batchInertia = 0;
    batchSums.fill(0);
    batchCounts.fill(0);
    for (let r = 0; r < B; r++) {
      const label = labels[r];
      batchInertia += Math.max(0, norms[r] + mins[r]);
      batchCounts[label] += 1;
      for (let j = 0; j < d; j++) batchSums[label * d + j] += buf[r * (d + 1) + j];
    }
    let shiftSq = 0;
    for (let cl = 0; cl < k; cl++) {
      const w = batchCounts[cl];
      if (w === 0) continue;
      const total = counts[cl] + w;
      for (let j = 0; j < d; j++) {
        const old = c[cl * d + j];
        // Stored in absolute coordinates; the batch sums are shifted.
        const next = (old * counts[cl] + batchSums[cl * d + j] + w * shift![j]) / total;
        shiftSq += (next - old) ** 2;
        c[cl * d + j] = next;
      }
      counts[cl] = total;
    }
    if (reassign && p.reassignmentRatio > 0)
      shiftSq += reassignLowCounts(c, counts, k, d, points, batchIdx, B, p.reassignmentRatio, rng);
    steps = step + 1;

    // Early stopping (scikit-learn _mini_batch_convergence); the first step's inertia only reflects the init.
    if (step > 0) {
      const perPoint = batchInertia / B;
      ewa = ewa === undefined ? perPoint : ewa * (1 - alpha) + perPoint * alpha;
      if (absTolerance > 0 && shiftSq <= absTolerance) {
        converged = true;
        break;
      }
      if (ewaMin === undefined || ewa < ewaMin) {
        noImprovement = 0;
        ewaMin = ewa;
      } else {
        noImprovement++;
      }
      if (p.maxNoImprovement !== null && noImprovement >= p.maxNoImprovement) {
        converged = true;
        break;
      }
    }
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await hooks.onProgress?.({
        step: steps,
        maxSteps,
        ...(ewa !== undefined ? { ewaInertia: ewa } : {}),
        epochs: (steps * B) / n,
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
  }
  throwIfAborted(hooks.signal, WHAT);
  await hooks.onProgress?.({
    step: steps,
    maxSteps,
    ...(ewa !== undefined ? { ewaInertia: ewa } : {}),
    epochs: (steps * B) / n,
  });

  const final = await nearestCentres(points, n, d, c, k, { shift, signal: hooks.signal, what: WHAT });
  const clusterSizes = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) clusterSizes[final.labels[i]]++;
  const centroids = Array.from({ length: k }, (_, cl) => Array.from(c.subarray(cl * d, (cl + 1) * d)));
  return {
    labels: final.labels,
    centroids,
    inertia: inertiaToCentres(points, n, d, final.labels, c, k),
    iterations: Math.ceil((steps * B) / n),
    steps,
    converged,
    clusterSizes,
  };
}

/**
 * scikit-learn's low-count reassignment: centres with count < ratio × max count (at most half the batch of them, the
 * lowest counts first) move to distinct random rows of the batch, and their counts are set to the smallest count among
 * the others, so that they are not reassigned again at once. Returns the summed squared move.
 */
function reassignLowCounts(
  c: Float64Array,
  counts: Float64Array,
  k: number,
  d: number,
  points: Float32Array,
  batchIdx: Int32Array,
  B: number,
  ratio: number,
  rng: Random,
): number {
  let max = 0;
  for (let cl = 0; cl < k; cl++) max = Math.max(max, counts[cl]);
  const toReassign: boolean[] = Array.from(counts, (w) => w < ratio * max);
  let count = toReassign.filter(Boolean).length;
  const cap = Math.floor(0.5 * B);
  if (count > 0.5 * B) {
    // Keep only the `cap` lowest counts (a stable sort, like argsort on ties by index).
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => counts[a] - counts[b] || a - b);
    for (let r = cap; r < k; r++) toReassign[order[r]] = false;
    count = cap;
  }
  let moved = 0;
  if (count > 0) {
    const rows = rng.sampleDistinct(B, count);
    let next = 0;
    for (let cl = 0; cl < k; cl++) {
      if (!toReassign[cl]) continue;
      const i = batchIdx[rows[next++]];
      for (let j = 0; j < d; j++) {
        const v = points[i * d + j];
        moved += (v - c[cl * d + j]) ** 2;
        c[cl * d + j] = v;
      }
    }
    let minKept = Infinity;
    for (let cl = 0; cl < k; cl++) if (!toReassign[cl]) minKept = Math.min(minKept, counts[cl]);
    if (Number.isFinite(minKept)) for (let cl = 0; cl < k; cl++) if (toReassign[cl]) counts[cl] = minKept;
  }
  return moved;
}

/**
 * Greedy k-means++ (scikit-learn _kmeans_plusplus, 2 + ⌊ln k⌋ local trials) on the sampled rows, on the host in
 * float64: the sample is small (a few thousand rows), so k·trials·|sample|·d stays in the tens of millions.
 */
function kmeansPlusPlus(points: Float32Array, d: number, sample: number[], k: number, rng: Random): Float64Array {
  const m = sample.length;
  const X = new Float64Array(m * d);
  sample.forEach((i, r) => {
    for (let j = 0; j < d; j++) X[r * d + j] = points[i * d + j];
  });
  const sqDist = (r: number, centre: Float64Array, offset: number): number => {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const diff = X[r * d + j] - centre[offset + j];
      s += diff * diff;
    }
    return s;
  };
  const centres = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.nextInt(m);
  centres.set(X.subarray(first * d, (first + 1) * d), 0);
  let closest = new Float64Array(m);
  for (let r = 0; r < m; r++) closest[r] = sqDist(r, centres, 0);
  const candidateDist = Array.from({ length: trials }, () => new Float64Array(m));
  for (let cl = 1; cl < k; cl++) {
    const cumulative = cumulativeSum(closest);
    let best = -1;
    let bestPotential = Infinity;
    let bestId = 0;
    for (let t = 0; t < trials; t++) {
      const id = sampleWeighted(cumulative, rng);
      const dist = candidateDist[t];
      let potential = 0;
      for (let r = 0; r < m; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const diff = X[r * d + j] - X[id * d + j];
          s += diff * diff;
        }
        dist[r] = Math.min(closest[r], s);
        potential += dist[r];
      }
      if (potential < bestPotential) {
        bestPotential = potential;
        best = t;
        bestId = id;
      }
    }
    centres.set(X.subarray(bestId * d, (bestId + 1) * d), cl * d);
    closest = Float64Array.from(candidateDist[best]);
  }
  return centres;
}

function rowsMean(points: Float32Array, d: number, rows: number[]): Float64Array {
  const mean = new Float64Array(d);
  for (const i of rows) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= rows.length;
  return mean;
}

function hostInertia(points: Float32Array, d: number, rows: number[], centres: Float64Array, k: number): number {
  let total = 0;
  for (const i of rows) {
    let best = Infinity;
    for (let cl = 0; cl < k; cl++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const diff = points[i * d + j] - centres[cl * d + j];
        s += diff * diff;
      }
      if (s < best) best = s;
    }
    total += best;
  }
  return total;
}

/** Mean per-feature (population) variance, float64: what `tolerance` is relative to (scikit-learn _tolerance). */
function meanVariance(points: Float32Array, n: number, d: number): number {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const diff = points[i * d + j] - mean[j];
      v += diff * diff;
    }
  }
  return v / (n * d);
}

/** Mini-batch k-means as a ClusteringOutput. */
export async function runMiniBatchKmeans(
  points: Float32Array,
  n: number,
  d: number,
  params: MiniBatchKMeansParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await miniBatchKMeans(points, n, d, params, {
    signal: hooks.signal,
    onProgress: (p) => hooks.onProgress?.({ ...p }),
  });
  return {
    labels: r.labels,
    clusters: r.clusterSizes.filter((s) => s > 0).length,
    inertia: r.inertia,
    iterations: r.iterations,
    converged: r.converged,
    method: `mini-batch k-means, ${r.steps} steps of ${Math.min(n, params.batchSize ?? MINIBATCH_KMEANS_DEFAULTS.batchSize)} rows`,
    extras: { centroids: r.centroids, clusterSizes: r.clusterSizes, steps: r.steps },
    model: { flavor: 'minibatch-kmeans', centroids: r.centroids },
    centres: r.centroids,
  };
}
