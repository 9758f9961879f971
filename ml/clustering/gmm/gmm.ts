/**
 * Gaussian mixture model fitted by EM, following scikit-learn's GaussianMixture (init_params='kmeans', n_init=1 by
 * default) so that parameters and results mean the same thing there:
 *   - init: k-means (ml/clustering/kmeans/kmeans.ts, seeded) labels as hard responsibilities, then one M-step;
 *   - each iteration: E-step under the current parameters, giving the mean per-point log-likelihood (scikit-learn's
 *     lower bound) and the responsibilities; M-step; stop when the lower bound changed by less than `tolerance`;
 *   - M-step: nk = Σ resp + 10·ε (float32 ε), means, covariances + regCovar on the diagonal, weights = nk / Σ nk;
 *   - a final E-step gives the labels (argmax responsibility), as fit_predict does.
 *
 * Precision: the E-step runs on the device in float32, in Cholesky form ‖Lₖ⁻¹x − Lₖ⁻¹μₖ‖² ('diag': ‖x/σ − μ/σ‖²)
 * with a log-sum-exp over components, on data shifted by its mean (so both terms stay small). Everything summed over
 * points (log-likelihood, Σ resp, Σ resp·(x − μ), Σ resp·(x − μ)xᵀ) is reduced per block on the device and accumulated
 * across blocks in float64 on the host, where the tiny M-step (covariances, Cholesky factors, log-determinants) runs
 * in float64. Second moments are taken about the current means μ, which the new means differ from by one EM step, so
 * the covariance update has no catastrophic cancellation; it is then shifted exactly to the new means. Like
 * scikit-learn on float32 input, a 'full' covariance that is rank-deficient (a component with fewer points than
 * dimensions) relies on regCovar alone to stay positive definite, and the default 1e-6 can be below float32 round-off
 * there: the fit then rejects with a RangeError suggesting a larger regCovar (scikit-learn raises the same).
 *
 * Magnitude: inputs whose largest |coordinate| is far from 1 are fitted on points / S (S a power of two, exact;
 * ../scale.ts) with regCovar / S², and means, covariances and log-likelihoods are scaled back, so float32 squares
 * stay in range. regCovar is absolute (as scikit-learn's reg_covar): one at least as large as every feature's variance
 * would swamp the data (every component the same broad Gaussian, one cluster), so it is refused with a RangeError
 * saying so rather than fitted.
 *
 * Scale: one pass over the data per iteration; the data stays on the host and is streamed in blocks whose
 * k × d × rows intermediates stay within MAX_DISTANCE_CELLS_PER_BLOCK cells. Host work per iteration is O(k·d³) for
 * the Cholesky factors ('full') plus O(n·d) to stage blocks.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../backend';
import { MAX_DISTANCE_CELLS_PER_BLOCK } from '../block-size';
import { kmeans } from '../kmeans/kmeans';
import { featureMean, throwIfAborted, validatePoints } from '../predict';
import { ClusteringHooks, ClusteringOutput } from '../types';
import { magnitudeScale, scaledPoints } from '../scale';

export type CovarianceType = 'full' | 'diag';
export const COVARIANCE_TYPES: readonly CovarianceType[] = ['full', 'diag'];

export interface GmmParams {
  k: number;
  covarianceType?: CovarianceType;
  maxIterations?: number;
  /** Stop when the mean per-point log-likelihood changes by less than this (scikit-learn tol). */
  tolerance?: number;
  seed?: number;
  /** Added to the covariance diagonals (scikit-learn reg_covar). */
  regCovar?: number;
  /** Independent fits with k-means seeds seed, seed+1, ...; the highest lower bound wins (scikit-learn n_init). */
  nInit?: number;
}

export const GMM_DEFAULTS = {
  covarianceType: 'full',
  maxIterations: 100,
  tolerance: 1e-3,
  seed: 0,
  regCovar: 1e-6,
  nInit: 1,
} as const;

/**
 * extras.probabilities (n×k responsibilities) is returned inline only when n·k ≤ this many cells (about 4 MB of JSON);
 * above it the model can still produce them for chosen points with predictGmm.
 */
export const GMM_MAX_INLINE_PROBABILITIES = 200_000;

/** Everything needed to assign new points (what the model registry stores). */
export interface GmmModel {
  flavor: 'gmm';
  covarianceType: CovarianceType;
  weights: number[];
  means: number[][];
  /** 'full': k × d × d; 'diag': k × d (per-feature variances), as scikit-learn's covariances_. */
  covariances: number[][][] | number[][];
}

export interface GmmProgress {
  iteration: number;
  maxIterations: number;
  /** Mean per-point log-likelihood under the parameters this iteration started from. */
  lowerBound: number;
  change: number;
}

export interface GmmResult {
  labels: Int32Array;
  weights: number[];
  means: number[][];
  covariances: number[][][] | number[][];
  /** n×k responsibilities, only when n·k ≤ GMM_MAX_INLINE_PROBABILITIES. */
  probabilities?: number[][];
  /** scikit-learn's lower_bound_: the mean log-likelihood seen by the last E-step of the fit. */
  lowerBound: number;
  /** Mean per-point log-likelihood under the returned parameters (scikit-learn's score(X)). */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  model: GmmModel;
}

export interface GmmHooks {
  onProgress?(p: GmmProgress): void | Promise<void>;
  signal?: AbortSignal;
}

const WHAT = 'Gaussian mixture fitting';
const FLOAT32_EPS = 1.1920928955078125e-7;
const LOG_2PI = Math.log(2 * Math.PI);

interface Resolved {
  k: number;
  covarianceType: CovarianceType;
  maxIterations: number;
  tolerance: number;
  seed: number;
  regCovar: number;
  nInit: number;
}

function resolveParams(n: number, params: GmmParams): Resolved {
  if (params === null || typeof params !== 'object') throw new RangeError('params must be an object with at least k');
  const { k } = params;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new RangeError(`k must be an integer between 1 and n = ${n}, got ${k}`);
  const covarianceType = params.covarianceType ?? GMM_DEFAULTS.covarianceType;
  if (!COVARIANCE_TYPES.includes(covarianceType)) {
    throw new RangeError(
      `covarianceType must be one of ${COVARIANCE_TYPES.join(', ')}, got ${JSON.stringify(covarianceType)}`,
    );
  }
  const maxIterations = params.maxIterations ?? GMM_DEFAULTS.maxIterations;
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 1)
    throw new RangeError(`maxIterations must be a positive integer, got ${maxIterations}`);
  const tolerance = params.tolerance ?? GMM_DEFAULTS.tolerance;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const seed = params.seed ?? GMM_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const regCovar = params.regCovar ?? GMM_DEFAULTS.regCovar;
  if (typeof regCovar !== 'number' || !Number.isFinite(regCovar) || regCovar < 0) {
    throw new RangeError(`regCovar must be a finite number >= 0, got ${regCovar}`);
  }
  const nInit = params.nInit ?? GMM_DEFAULTS.nInit;
  if (!Number.isSafeInteger(nInit) || nInit < 1) throw new RangeError(`nInit must be a positive integer, got ${nInit}`);
  return { k, covarianceType, maxIterations, tolerance, seed, regCovar, nInit };
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters on the host (float64, in shifted coordinates)

interface Params {
  k: number;
  d: number;
  full: boolean;
  weights: Float64Array;
  means: Float64Array; // k×d
  covariances: Float64Array; // k×d×d (full) or k×d (diag)
  /** full: Lₖ⁻¹ (lower triangular, = precision Cholesky transposed), k×d×d; diag: 1/σ, k×d. */
  precisionFactor: Float64Array;
  /** log det of the precision Cholesky factor, per component. */
  logDet: Float64Array;
}

function illDefined(component: number): RangeError {
  return new RangeError(
    `Fitting the mixture model failed because component ${component} has an ill-defined empirical covariance (for instance ` +
      'caused by singleton or collapsed samples). Try to decrease the number of components, increase regCovar, or scale the input data.',
  );
}

/** Cholesky factors, inverses and log-determinants for the current covariances (scikit-learn _compute_precision_cholesky). */
function computePrecision(p: Params): void {
  const { k, d, full, covariances } = p;
  if (!full) {
    for (let c = 0; c < k; c++) {
      let logDet = 0;
      for (let j = 0; j < d; j++) {
        const v = covariances[c * d + j];
        if (!(v > 0)) throw illDefined(c);
        p.precisionFactor[c * d + j] = 1 / Math.sqrt(v);
        logDet -= 0.5 * Math.log(v);
      }
      p.logDet[c] = logDet;
    }
    return;
  }
  const L = new Float64Array(d * d);
  for (let c = 0; c < k; c++) {
    const A = covariances.subarray(c * d * d, (c + 1) * d * d);
    L.fill(0);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A[i * d + j];
        for (let t = 0; t < j; t++) s -= L[i * d + t] * L[j * d + t];
        if (i === j) {
          if (!(s > 0)) throw illDefined(c);
          L[i * d + i] = Math.sqrt(s);
        } else {
          L[i * d + j] = s / L[j * d + j];
        }
      }
    }
    // Inverse of the lower-triangular L by forward substitution, column by column.
    const inv = p.precisionFactor.subarray(c * d * d, (c + 1) * d * d);
    inv.fill(0);
    let logDet = 0;
    for (let col = 0; col < d; col++) {
      for (let i = col; i < d; i++) {
        let s = i === col ? 1 : 0;
        for (let t = col; t < i; t++) s -= L[i * d + t] * inv[t * d + col];
        inv[i * d + col] = s / L[i * d + i];
      }
      logDet -= Math.log(L[col * d + col]);
    }
    p.logDet[c] = logDet;
  }
}

interface Stats {
  /** Σ over points of the per-point log-likelihood (log-sum-exp), float64. */
  sumLogLikelihood: number;
  nk: Float64Array;
  /** Σ resp·(x − μ), k×d. */
  sx: Float64Array;
  /** Σ resp·(x − μ)(x − μ)ᵀ, k×d×d (full) or Σ resp·(x − μ)², k×d (diag). */
  S: Float64Array;
}

/** M-step from statistics about the means `p.means` (scikit-learn _estimate_gaussian_parameters, then precisions). */
function mStep(p: Params, st: Stats, regCovar: number): void {
  const { k, d, full } = p;
  let total = 0;
  for (let c = 0; c < k; c++) {
    const raw = st.nk[c];
    const nk = raw + 10 * FLOAT32_EPS;
    total += nk;
    p.weights[c] = nk;
    // New mean m = Σ r x / nk = μ·raw/nk + sx/nk; δ = m − μ.
    const delta = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const mu = p.means[c * d + j];
      const m = (mu * raw + st.sx[c * d + j]) / nk;
      delta[j] = m - mu;
      p.means[c * d + j] = m;
    }
    // Σ r (x − m)(x − m)ᵀ = S − sx δᵀ − δ sxᵀ + raw δδᵀ.
    if (full) {
      const S = st.S.subarray(c * d * d, (c + 1) * d * d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j <= i; j++) {
          // S symmetrised: its two halves were summed in float32 separately.
          const s =
            (S[i * d + j] + S[j * d + i]) / 2 -
            st.sx[c * d + i] * delta[j] -
            delta[i] * st.sx[c * d + j] +
            raw * delta[i] * delta[j];
          const v = s / nk + (i === j ? regCovar : 0);
          p.covariances[c * d * d + i * d + j] = v;
          p.covariances[c * d * d + j * d + i] = v;
        }
      }
    } else {
      for (let j = 0; j < d; j++) {
        const s = st.S[c * d + j] - 2 * delta[j] * st.sx[c * d + j] + raw * delta[j] * delta[j];
        p.covariances[c * d + j] = Math.max(0, s) / nk + regCovar;
      }
    }
  }
  for (let c = 0; c < k; c++) p.weights[c] /= total;
  computePrecision(p);
}

// ---------------------------------------------------------------------------------------------------------------
// Device passes

/**
 * Per-iteration constants on the device. Layouts are chosen so that every product is a plain 2-D matMul without
 * transpose flags (tfjs-backend-wasm's batched matMul is ~15× slower for these shapes) and the reductions over
 * components run along the innermost axis.
 */
interface DeviceParams {
  /** Whether the 'full' layout is used (also for small-d 'diag' models, see DIAG_AS_FULL_MAX_D). */
  full: boolean;
  /** [k, d, 1] means, for the per-component differences of the M-step statistics. */
  muCol: tf.Tensor3D;
  /**
   * full layout: [d+1, k·d], column block c = [(Lc⁻¹)ᵀ ; −(Lc⁻¹μc)ᵀ], so that [x | 1] times it is Lc⁻¹(x − μc);
   * diag elementwise layout: [k, d] = 1/σ.
   */
  factor: tf.Tensor2D;
  /** diag elementwise layout only: [k, d] = μ/σ. */
  offset?: tf.Tensor2D;
  /** full: [k·d, k] block indicator summing each component's d squares. */
  blocks?: tf.Tensor2D;
  /** [1, k]: log wc − d/2 log 2π + log det(precision Cholesky). */
  constant: tf.Tensor2D;
}

/**
 * 'diag' models with d ≤ this run the device work through the 'full' layout (a block-diagonal factor): k·d² flops per
 * point in one matMul beat four k·d elementwise passes on the wasm backend; above it the elementwise form is cheaper.
 */
const DIAG_AS_FULL_MAX_D = 64;

function uploadParams(p: Params): DeviceParams {
  const { k, d } = p;
  const constant = Float32Array.from({ length: k }, (_, c) => Math.log(p.weights[c]) - 0.5 * d * LOG_2PI + p.logDet[c]);
  const muCol = tf.tensor3d(Float32Array.from(p.means), [k, d, 1]);
  if (!p.full && d > DIAG_AS_FULL_MAX_D) {
    const offset = Float32Array.from(p.means, (m, i) => m * p.precisionFactor[i]);
    return {
      full: false,
      muCol,
      factor: tf.tensor2d(Float32Array.from(p.precisionFactor), [k, d]),
      offset: tf.tensor2d(offset, [k, d]),
      constant: tf.tensor2d(constant, [1, k]),
    };
  }
  const factor = new Float32Array((d + 1) * k * d);
  const blocks = new Float32Array(k * d * k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < d; i++) {
      let o = 0;
      if (p.full) {
        const inv = p.precisionFactor.subarray(c * d * d, (c + 1) * d * d);
        for (let j = 0; j < d; j++) {
          factor[j * k * d + c * d + i] = inv[i * d + j];
          o += inv[i * d + j] * p.means[c * d + j];
        }
      } else {
        factor[i * k * d + c * d + i] = p.precisionFactor[c * d + i];
        o = p.precisionFactor[c * d + i] * p.means[c * d + i];
      }
      factor[d * k * d + c * d + i] = -o;
      blocks[(c * d + i) * k + c] = 1;
    }
  }
  return {
    full: true,
    muCol,
    factor: tf.tensor2d(factor, [d + 1, k * d]),
    blocks: tf.tensor2d(blocks, [k * d, k]),
    constant: tf.tensor2d(constant, [1, k]),
  };
}

function disposeParams(dp: DeviceParams): void {
  tf.dispose([dp.muCol, dp.factor, dp.constant, ...(dp.offset ? [dp.offset] : []), ...(dp.blocks ? [dp.blocks] : [])]);
}

/** Weighted log-probabilities log wc + log N(x | μc, Σc) of a block xAug = [x | 1] ([rows, d+1]), as [rows, k]. */
function weightedLogProb(xAug: tf.Tensor2D, dp: DeviceParams): tf.Tensor2D {
  let maha: tf.Tensor2D;
  if (dp.full) {
    // y = Lc⁻¹x − Lc⁻¹μc for every component at once, in one product: [rows, k·d].
    maha = tf.matMul(tf.square(tf.matMul(xAug, dp.factor)), dp.blocks!);
  } else {
    const [rows, d1] = xAug.shape;
    const x = tf.slice(xAug, [0, 0], [rows, d1 - 1]);
    const y = tf.sub(tf.mul(x.reshape([rows, 1, d1 - 1]), dp.factor), dp.offset!); // [rows, k, d]
    maha = tf.sum(tf.square(y), 2) as tf.Tensor2D;
  }
  return tf.sub(dp.constant, tf.mul(maha, 0.5));
}

/** Rows per block: the [k, d, rows] intermediates stay within MAX_DISTANCE_CELLS_PER_BLOCK cells. */
function gmmBlockRows(k: number, d: number): number {
  return Math.max(1, Math.floor(MAX_DISTANCE_CELLS_PER_BLOCK / (k * Math.max(d, 2))));
}

/** Stages rows [start, start+rows) shifted, as [x | 1] ([rows, d+1]) and, if asked, transposed ([d, rows]). */
function stage(
  points: Float32Array,
  start: number,
  rows: number,
  d: number,
  shift: Float64Array,
  xAug: Float32Array,
  xT: Float32Array | undefined,
): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < d; j++) {
      const v = points[(start + r) * d + j] - shift[j];
      xAug[r * (d + 1) + j] = v;
      if (xT) xT[j * rows + r] = v;
    }
    xAug[r * (d + 1) + d] = 1;
  }
}

interface PassOptions {
  /** Hard responsibilities from these labels instead of an E-step (the k-means init). */
  labels?: Int32Array;
  stats: boolean;
  wantLabels?: boolean;
  /** Fill this n×k (row-major) array with responsibilities. */
  probabilities?: Float32Array;
  signal?: AbortSignal;
}

/**
 * One blocked pass over the data: the E-step (or hard responsibilities), and as asked the log-likelihood, labels,
 * responsibilities and the M-step statistics about the current means.
 */
async function pass(
  points: Float32Array,
  n: number,
  d: number,
  shift: Float64Array,
  p: Params,
  opts: PassOptions,
): Promise<{ stats: Stats; labels?: Int32Array }> {
  const { k, full } = p;
  const stats: Stats = {
    sumLogLikelihood: 0,
    nk: new Float64Array(k),
    sx: new Float64Array(k * d),
    S: new Float64Array(full ? k * d * d : k * d),
  };
  const labels = opts.wantLabels ? new Int32Array(n) : undefined;
  const blockRows = Math.min(n, gmmBlockRows(k, d));
  const xBuf = new Float32Array(blockRows * (d + 1));
  const xTBuf = opts.stats ? new Float32Array(blockRows * d) : undefined;
  const dp = uploadParams(p);
  try {
    for (let start = 0; start < n; start += blockRows) {
      throwIfAborted(opts.signal, WHAT);
      const rows = Math.min(blockRows, n - start);
      stage(points, start, rows, d, shift, xBuf, xTBuf);
      const given = opts.labels?.subarray(start, start + rows);
      const out = tf.tidy(() => {
        const xAug = tf.tensor2d(xBuf.subarray(0, rows * (d + 1)), [rows, d + 1]);
        const result: Record<string, tf.Tensor> = {};
        let resp: tf.Tensor; // [rows, k]
        if (given) {
          resp = k === 1 ? tf.ones([rows, 1]) : tf.oneHot(tf.tensor1d(given, 'int32'), k).cast('float32');
        } else {
          const wlp = weightedLogProb(xAug, dp);
          const lse = tf.logSumExp(wlp, 1, true);
          resp = tf.exp(tf.sub(wlp, lse));
          result.lse = lse;
          if (labels) result.labels = tf.argMax(wlp, 1);
        }
        if (opts.probabilities) result.resp = resp;
        if (opts.stats) {
          const respT = tf.transpose(resp); // [k, rows]: small next to the [k, d, rows] work below
          result.nk = tf.sum(respT, 1);
          const xT = tf.tensor2d(xTBuf!.subarray(0, rows * d), [d, rows]);
          const diffT = tf.sub(xT.expandDims(0), dp.muCol); // [k, d, rows]: x − μc, the difference taken first
          const wDiffT = tf.mul(diffT, respT.expandDims(1));
          if (dp.full) {
            // [Σ r (x − μc) xᵀ | Σ r (x − μc)] as one [k·d, rows] × [rows, d+1] product (the host subtracts sx μcᵀ).
            result.S = tf.matMul(wDiffT.reshape([k * d, rows]), xAug);
          } else {
            result.sx = tf.sum(wDiffT, 2); // Σ r (x − μc)
            result.S = tf.sum(tf.mul(wDiffT, diffT), 2); // Σ r (x − μc)²
          }
        }
        return result;
      });
      const names = Object.keys(out);
      const values = await Promise.all(names.map((name) => out[name].data())).finally(() =>
        tf.dispose(Object.values(out)),
      );
      const get = (name: string) => values[names.indexOf(name)];
      if (out.lse) {
        const lse = get('lse');
        for (let r = 0; r < rows; r++) stats.sumLogLikelihood += lse[r];
      }
      if (labels) labels.set(get('labels') as Int32Array, start);
      if (opts.probabilities) opts.probabilities.set(get('resp') as Float32Array, start * k);
      if (opts.stats) {
        const [nk, S] = [get('nk'), get('S')];
        for (let i = 0; i < k; i++) stats.nk[i] += nk[i];
        if (dp.full) {
          // S rows are [Σ r (x − μc)_i xᵀ | Σ r (x − μc)_i]; (x − μc)(x − μc)ᵀ = (x − μc) xᵀ − (x − μc) μcᵀ.
          const D1 = d + 1;
          for (let c = 0; c < k; c++) {
            for (let i = 0; i < d; i++) {
              const sxi = S[(c * d + i) * D1 + d];
              stats.sx[c * d + i] += sxi;
              if (full) {
                for (let j = 0; j < d; j++)
                  stats.S[c * d * d + i * d + j] += S[(c * d + i) * D1 + j] - sxi * p.means[c * d + j];
              } else {
                // 'diag' through the full layout: only the diagonal is needed.
                stats.S[c * d + i] += S[(c * d + i) * D1 + i] - sxi * p.means[c * d + i];
              }
            }
          }
        } else {
          const sx = get('sx');
          for (let i = 0; i < k * d; i++) stats.sx[i] += sx[i];
          for (let i = 0; i < k * d; i++) stats.S[i] += S[i];
        }
      }
    }
  } finally {
    disposeParams(dp);
  }
  return { stats, labels };
}

// ---------------------------------------------------------------------------------------------------------------
// Fitting

interface Fit {
  params: Params;
  lowerBound: number;
  iterations: number;
  converged: boolean;
}

async function fitOnce(
  points: Float32Array,
  n: number,
  d: number,
  shift: Float64Array,
  r: Resolved,
  seed: number,
  hooks: GmmHooks,
): Promise<Fit> {
  const { k } = r;
  const full = r.covarianceType === 'full';
  const km = await kmeans(points, n, d, { k, seed }, { signal: hooks.signal });
  const p: Params = {
    k,
    d,
    full,
    weights: new Float64Array(k).fill(1 / k),
    means: new Float64Array(k * d),
    covariances: new Float64Array(full ? k * d * d : k * d),
    precisionFactor: new Float64Array(full ? k * d * d : k * d),
    logDet: new Float64Array(k),
  };
  // Statistics about the k-means centroids, which are the means of the hard assignment (so δ ≈ 0).
  km.centroids.forEach((c, i) => c.forEach((v, j) => (p.means[i * d + j] = v - shift[j])));
  const init = await pass(points, n, d, shift, p, { labels: km.labels, stats: true, signal: hooks.signal });
  mStep(p, init.stats, r.regCovar);

  let lowerBound = -Infinity;
  let converged = false;
  let iterations = 0;
  for (let it = 1; it <= r.maxIterations; it++) {
    const prev = lowerBound;
    const { stats } = await pass(points, n, d, shift, p, { stats: true, signal: hooks.signal });
    lowerBound = stats.sumLogLikelihood / n;
    mStep(p, stats, r.regCovar);
    iterations = it;
    const change = lowerBound - prev;
    await hooks.onProgress?.({ iteration: it, maxIterations: r.maxIterations, lowerBound, change });
    if (Math.abs(change) < r.tolerance) {
      converged = true;
      break;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { params: p, lowerBound, iterations, converged };
}

/**
 * Fits a k-component Gaussian mixture to n row-major d-dimensional points. Deterministic for a given seed and backend.
 * Invalid arguments reject with a RangeError naming the parameter (also when a covariance is not positive definite
 * even after regCovar); an aborted signal rejects with an Error named 'AbortError'. No tensors outlive the call.
 */
export async function gmm(
  points: Float32Array,
  n: number,
  d: number,
  params: GmmParams,
  hooks: GmmHooks = {},
): Promise<GmmResult> {
  validatePoints(points, n, d);
  const r = resolveParams(n, params);
  checkRegCovar(points, n, d, r.regCovar);
  const scale = magnitudeScale(points);
  if (scale !== 1) {
    // The same fit on points / scale (exact) with regCovar in those units, results scaled back: see ../scale.ts.
    const logScale = d * Math.log(scale);
    const fit = await gmm(
      scaledPoints(points, scale),
      n,
      d,
      { ...r, regCovar: r.regCovar / (scale * scale) },
      { signal: hooks.signal, onProgress: (pr) => hooks.onProgress?.({ ...pr, lowerBound: pr.lowerBound - logScale }) },
    );
    return rescaleResult(fit, scale, d);
  }
  throwIfAborted(hooks.signal, WHAT);
  await initComputeBackend();
  const shift = featureMean(points, n, d);
  let best: Fit | undefined;
  for (let run = 0; run < r.nInit; run++) {
    const fit = await fitOnce(points, n, d, shift, r, r.seed + run, hooks);
    if (!best || fit.lowerBound > best.lowerBound) best = fit;
  }
  const fit = best!;
  const { k } = r;
  const inline = n * k <= GMM_MAX_INLINE_PROBABILITIES;
  const probabilities = inline ? new Float32Array(n * k) : undefined;
  const final = await pass(points, n, d, shift, fit.params, {
    stats: false,
    wantLabels: true,
    probabilities,
    signal: hooks.signal,
  });
  throwIfAborted(hooks.signal, WHAT);
  const model = toModel(fit.params, shift);
  return {
    labels: final.labels!,
    weights: model.weights,
    means: model.means,
    covariances: model.covariances,
    ...(probabilities ? { probabilities: toRows(probabilities, n, k) } : {}),
    lowerBound: fit.lowerBound,
    logLikelihood: final.stats.sumLogLikelihood / n,
    iterations: fit.iterations,
    converged: fit.converged,
    model,
  };
}

/**
 * A fit of points / scale back in the points' units: means × scale, covariances × scale², and per-point log-densities
 * − d·ln(scale) (a density in d dimensions scales by scale^−d).
 */
function rescaleResult(r: GmmResult, scale: number, d: number): GmmResult {
  const sq = scale * scale;
  const logScale = d * Math.log(scale);
  const means = r.means.map((row) => row.map((v) => v * scale));
  const covariances =
    r.model.covarianceType === 'full'
      ? (r.covariances as number[][][]).map((m) => m.map((row) => row.map((v) => v * sq)))
      : (r.covariances as number[][]).map((row) => row.map((v) => v * sq));
  return {
    ...r,
    means,
    covariances,
    lowerBound: r.lowerBound - logScale,
    logLikelihood: r.logLikelihood - logScale,
    model: { ...r.model, means, covariances },
  };
}

/**
 * regCovar is added to every covariance diagonal in the data's units. At or above the largest per-feature variance it
 * dominates every component's covariance, so the mixture cannot separate anything (at 1e-25-scale data the default
 * 1e-6 is 1e44 times the variance): a RangeError that says so, instead of a one-cluster answer. All-identical points
 * (zero variance) are left to the fit, which handles them as scikit-learn does.
 */
function checkRegCovar(points: Float32Array, n: number, d: number, regCovar: number): void {
  const mean = featureMean(points, n, d);
  const variance = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) variance[j] += (points[i * d + j] - mean[j]) ** 2 / n;
  let largest = 0;
  for (let j = 0; j < d; j++) largest = Math.max(largest, variance[j]);
  if (largest > 0 && regCovar >= largest) {
    throw new RangeError(
      `regCovar = ${regCovar} is not small next to the data: the largest per-feature variance is ` +
        `${largest.toPrecision(3)}, so the regularisation added to every covariance would swamp the data and every ` +
        `component would be the same. regCovar is absolute (in squared data units, as scikit-learn's reg_covar): ` +
        `use one well below the variance, e.g. ${(largest * 1e-6).toPrecision(1)}, or rescale the data`,
    );
  }
}

function toRows(values: Float32Array | Float64Array, n: number, k: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * k, (i + 1) * k)));
}

function toModel(p: Params, shift: Float64Array): GmmModel {
  const { k, d, full } = p;
  return {
    flavor: 'gmm',
    covarianceType: full ? 'full' : 'diag',
    weights: Array.from(p.weights),
    means: Array.from({ length: k }, (_, c) => Array.from({ length: d }, (_, j) => p.means[c * d + j] + shift[j])),
    covariances: full
      ? Array.from({ length: k }, (_, c) =>
          Array.from({ length: d }, (_, i) =>
            Array.from(p.covariances.subarray(c * d * d + i * d, c * d * d + (i + 1) * d)),
          ),
        )
      : Array.from({ length: k }, (_, c) => Array.from(p.covariances.subarray(c * d, (c + 1) * d))),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Prediction

/** A GmmModel back into host parameters, shifted by the mean of its means; RangeError if malformed. */
function fromModel(model: GmmModel, d: number): { p: Params; shift: Float64Array } {
  if (!model || typeof model !== 'object') throw new RangeError('model must be a Gaussian mixture model object');
  const { covarianceType, weights, means, covariances } = model;
  if (!COVARIANCE_TYPES.includes(covarianceType))
    throw new RangeError(`model.covarianceType must be one of ${COVARIANCE_TYPES.join(', ')}`);
  const full = covarianceType === 'full';
  if (!Array.isArray(weights) || weights.length < 1) throw new RangeError('model.weights must be a non-empty array');
  const k = weights.length;
  if (!Array.isArray(means) || means.length !== k || means.some((m) => !Array.isArray(m) || m.length !== d)) {
    throw new RangeError(`model.means must be k = ${k} rows of d = ${d} numbers`);
  }
  if (!Array.isArray(covariances) || covariances.length !== k)
    throw new RangeError(`model.covariances must have k = ${k} entries`);
  const shift = new Float64Array(d);
  for (const m of means) for (let j = 0; j < d; j++) shift[j] += m[j] / k;
  const p: Params = {
    k,
    d,
    full,
    weights: Float64Array.from(weights),
    means: new Float64Array(k * d),
    covariances: new Float64Array(full ? k * d * d : k * d),
    precisionFactor: new Float64Array(full ? k * d * d : k * d),
    logDet: new Float64Array(k),
  };
  if (Array.from(p.weights).some((w) => !(w > 0) || !Number.isFinite(w)))
    throw new RangeError('model.weights must be positive finite numbers');
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < d; j++) p.means[c * d + j] = means[c][j] - shift[j];
    const cov = covariances[c] as unknown[];
    if (full) {
      if (!Array.isArray(cov) || cov.length !== d || cov.some((row) => !Array.isArray(row) || row.length !== d)) {
        throw new RangeError(`model.covariances[${c}] must be a ${d}×${d} matrix`);
      }
      (cov as number[][]).forEach((row, i) => row.forEach((v, j) => (p.covariances[c * d * d + i * d + j] = v)));
    } else {
      if (!Array.isArray(cov) || cov.length !== d)
        throw new RangeError(`model.covariances[${c}] must have d = ${d} variances`);
      (cov as number[]).forEach((v, j) => (p.covariances[c * d + j] = v));
    }
  }
  if (p.means.some((v) => !Number.isFinite(v)) || p.covariances.some((v) => !Number.isFinite(v))) {
    throw new RangeError('model means and covariances must be finite numbers');
  }
  computePrecision(p);
  return { p, shift };
}

/**
 * Component (argmax posterior) and posterior probabilities of each of n points under a fitted GMM (scikit-learn's
 * predict and predict_proba). Blocked like the fit; synchronous (dataSync), so the compute backend must already be
 * initialised.
 */
export function predictGmm(
  model: GmmModel,
  points: Float32Array,
  n: number,
  d: number,
): { labels: Int32Array; probabilities: number[][] } {
  validatePoints(points, n, d);
  const { p, shift } = fromModel(model, d);
  const { k } = p;
  const labels = new Int32Array(n);
  const probabilities: number[][] = new Array(n);
  const blockRows = Math.min(n, gmmBlockRows(k, d));
  const xBuf = new Float32Array(blockRows * (d + 1));
  const dp = uploadParams(p);
  try {
    for (let start = 0; start < n; start += blockRows) {
      const rows = Math.min(blockRows, n - start);
      stage(points, start, rows, d, shift, xBuf, undefined);
      const [labelT, respT] = tf.tidy(() => {
        const wlp = weightedLogProb(tf.tensor2d(xBuf.subarray(0, rows * (d + 1)), [rows, d + 1]), dp);
        // softmax (exp(x − max) / Σ) rather than exp(x − logSumExp): for a point so far out that its log-probabilities
        // are ~1e23, float32 loses the log-sum's ln 2 and exp(x − lse) would give every component probability 1.
        return [tf.argMax(wlp, 1), tf.softmax(wlp)];
      });
      const lab = labelT.dataSync();
      const resp = respT.dataSync();
      tf.dispose([labelT, respT]);
      labels.set(lab as Int32Array, start);
      for (let r = 0; r < rows; r++) probabilities[start + r] = Array.from(resp.subarray(r * k, (r + 1) * k));
    }
  } finally {
    disposeParams(dp);
  }
  return { labels, probabilities };
}

/** GMM as a ClusteringOutput. */
export async function runGmm(
  points: Float32Array,
  n: number,
  d: number,
  params: GmmParams,
  hooks: ClusteringHooks = {},
): Promise<ClusteringOutput> {
  const r = await gmm(points, n, d, params, { signal: hooks.signal, onProgress: (p) => hooks.onProgress?.({ ...p }) });
  return {
    labels: r.labels,
    clusters: new Set(r.labels).size,
    iterations: r.iterations,
    converged: r.converged,
    method: `EM, ${r.model.covarianceType} covariances, k-means init`,
    extras: {
      weights: r.weights,
      means: r.means,
      covariances: r.covariances,
      ...(r.probabilities ? { probabilities: r.probabilities } : {}),
      logLikelihood: r.logLikelihood,
      lowerBound: r.lowerBound,
    },
    model: { ...r.model },
  };
}
