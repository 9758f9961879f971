/**
 * The eigensolver behind spectral clustering: the k largest eigenpairs of a symmetric operator M whose spectrum lies
 * in [lowerBound, 1] (the normalised affinity D^{-1/2} A D^{-1/2}), found by Chebyshev-filtered subspace iteration
 * with Rayleigh–Ritz (Zhou & Saad, 2007) on a block of b = k + guard vectors.
 *
 * Division of labour: M is only ever applied to an n×b block, through `SymmetricOperator.apply`, which is where all
 * the O(n²) (dense kernel, on the device) or O(nnz) (sparse graph) work happens. Everything else is O(n·b²) or
 * O(b³) and runs on the host in float64: the Chebyshev three-term recurrence, orthonormalisation (classical
 * Gram–Schmidt applied twice), the b×b projected matrix and its eigen-decomposition (cyclic Jacobi). Keeping the
 * vectors in float64 matters: the eigengaps of a k-nearest-neighbour graph near eigenvalue 1 are often ~1e-5, which
 * float32 vectors could not resolve.
 *
 * Why Chebyshev filtering: plain subspace iteration converges like (λ_{b+1}/λ_k)^t, hopeless when λ_{b+1} = 1 − 1e-4;
 * a degree-m Chebyshev polynomial that is small on [lowerBound, cut] (cut ≈ the smallest Ritz value in the block)
 * grows like exp(m·sqrt(2δ/(1 − lowerBound))) at eigenvalues δ above the cut, i.e. it needs ~sqrt of the iterations.
 * When the spectrum decays fast (a wide rbf kernel), the rule that picks the degree falls back to degree 1, which is
 * ordinary subspace iteration and costs one product per iteration.
 */
import { Random } from '../../random';
import { permuteRows } from './row-order';

/** y = M x for an n×b block (row-major, float64 on both sides). */
export interface SymmetricOperator {
  readonly n: number;
  /** A lower bound on M's spectrum (its upper end is ≤ 1 by construction). */
  readonly lowerBound: number;
  apply(x: Float64Array, b: number): Promise<Float64Array>;
  /**
   * Optional fused form alpha·M x + beta·x + gamma·z (one pass instead of two, for the Chebyshev recurrence, where
   * the vector work would otherwise cost as much as a sparse product).
   */
  applyCombined?(
    x: Float64Array,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
  ): Promise<Float64Array>;
}

export interface EigenProgress {
  iteration: number;
  /** Operator applications so far (the unit of cost). */
  products: number;
  /** Largest residual ‖M v − θ v‖ among the k wanted Ritz pairs. */
  residual: number;
  tolerance: number;
  /** Chebyshev degree of the filter applied in this iteration (0 for the initial Rayleigh–Ritz). */
  degree: number;
}

export interface EigenOptions {
  k: number;
  /** Vectors iterated together, k ≤ blockSize ≤ n: more guard vectors converge the wanted k faster per product. */
  blockSize: number;
  /** Converged when every wanted residual ‖M v − θ v‖₂ (unit v) is ≤ tolerance. */
  tolerance: number;
  /**
   * Give up (converged = false) after this many operator applications, or after MAX_STALLED_ITERATIONS iterations that
   * do not halve the residual (the operator's rounding floor was reached).
   */
  maxProducts: number;
  /**
   * Largest amplification the filter may apply between the top of the spectrum and the cut in one iteration. It
   * bounds how ill-conditioned the filtered block gets; float32 operators need a much smaller one than float64.
   */
  maxAmplification: number;
  seed: number;
  /**
   * A tighter lower end for the filter than op.lowerBound, from estimateLowerBound: it speeds the filter up (the
   * interval to damp is shorter) but is not proven, so whenever a Ritz value falls below it, it is moved down.
   */
  lowerBoundEstimate?: number;
  /** A known or guessed eigenvector for the first column (for a graph, D^{1/2}·1 has eigenvalue 1). */
  firstColumn?: Float64Array;
  /**
   * When op works on renumbered points (graph-order.ts): row q of op's vectors is the caller's point rowOrder[q]. The
   * random start block is drawn in the caller's order and renumbered, so the run starts from the same vectors as it
   * would on the points in their own order; firstColumn and the returned vectors are in op's order.
   */
  rowOrder?: Int32Array;
  onIteration?(p: EigenProgress): void | Promise<void>;
  /** Awaited before every operator application: where the caller checks for an abort and yields to the event loop. */
  checkpoint?(): void | Promise<void>;
}

export interface EigenResult {
  /** n×k row-major: the Ritz vectors of the k largest Ritz values, orthonormal. */
  vectors: Float64Array;
  /** The k largest Ritz values, descending. */
  values: Float64Array;
  /** ‖M v − θ v‖ per wanted pair. */
  residuals: Float64Array;
  iterations: number;
  products: number;
  converged: boolean;
}

/** Most Chebyshev degree in one iteration: bounds the time between heartbeats and between Rayleigh–Ritz steps. */
export const MAX_FILTER_DEGREE = 128;
/** Iterations in a row that fail to halve the best residual so far before the solver gives up (converged = false). */
export const MAX_STALLED_ITERATIONS = 4;

export async function largestEigenpairs(op: SymmetricOperator, o: EigenOptions): Promise<EigenResult> {
  const { n } = op;
  const b = Math.min(n, Math.max(o.k, o.blockSize));
  const k = o.k;
  const rng = new Random(o.seed);
  let x: Float64Array = new Float64Array(n * b);
  for (let i = 0; i < x.length; i++) x[i] = rng.nextFloat() * 2 - 1;
  if (o.rowOrder) x = permuteRows(x, o.rowOrder, b);
  if (o.firstColumn) for (let i = 0; i < n; i++) x[i * b] = o.firstColumn[i];
  orthonormalize(x, n, b, rng);

  let products = 0;
  const apply = async (v: Float64Array): Promise<Float64Array> => {
    await o.checkpoint?.();
    products++;
    return op.apply(v, b);
  };
  /** alpha·M v + beta·v + gamma·z. */
  const applyCombined = async (
    v: Float64Array,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
  ): Promise<Float64Array> => {
    if (op.applyCombined) {
      await o.checkpoint?.();
      products++;
      return op.applyCombined(v, b, alpha, beta, gamma, z);
    }
    const mv = await apply(v);
    for (let i = 0; i < mv.length; i++) mv[i] = alpha * mv[i] + beta * v[i] + gamma * z[i];
    return mv;
  };

  let w = await apply(x);
  let ritz = rayleighRitz(x, w, n, b);
  let iterations = 0;
  let degree = 0;
  let residuals = residualNorms(x, w, ritz.values, n, b, k);
  let residual = max(residuals);
  // With a full block the Ritz pairs are the exact eigenpairs of M (up to the operator's rounding).
  const exact = b === n;
  let lo = Math.max(op.lowerBound, o.lowerBoundEstimate ?? op.lowerBound);
  // Rounding in the operator (float32 kernels) puts a floor under the residual; a run that stops improving is ended
  // (converged = false) instead of burning products up to maxProducts.
  let best = residual;
  let stalled = 0;
  for (;;) {
    await o.onIteration?.({ iteration: iterations, products, residual, tolerance: o.tolerance, degree });
    if (exact || residual <= o.tolerance || products >= o.maxProducts || stalled >= MAX_STALLED_ITERATIONS) break;

    const theta = ritz.values;
    // Ritz values lie inside M's spectrum: one below the estimate proves the estimate wrong (eigenvalues below the
    // damped interval are amplified, not damped), so widen the interval past it.
    if (theta[b - 1] < lo) lo = Math.max(op.lowerBound, theta[b - 1] - LOWER_BOUND_MARGIN * (1 - theta[b - 1]));
    // Damp [lo, cut]; the cut is the smallest Ritz value, kept a little above lo so that the interval is proper.
    let cut = theta[b - 1];
    const top = Math.max(1, theta[0]);
    if (!(cut > lo + 1e-12 * (top - lo))) cut = lo + 1e-3 * (theta[k - 1] - lo);
    const centre = (cut + lo) / 2;
    const halfWidth = (cut - lo) / 2;
    const growth = (mu: number): number => {
      const t = (mu - centre) / halfWidth;
      return t > 1 ? Math.log(t + Math.sqrt(t * t - 1)) : 0;
    };
    const topGrowth = growth(top);
    const wantedGrowth = growth(theta[k - 1]);
    let m = topGrowth > 0 ? Math.floor(Math.log(o.maxAmplification) / topGrowth) : MAX_FILTER_DEGREE;
    // Enough degree to take the residual to half the tolerance if it shrinks at 3/4 of the rate the wanted Ritz
    // value's growth predicts (observed: ~0.8 of it, as the unwanted directions just below the cut are damped less).
    if (wantedGrowth > 0)
      m = Math.min(m, Math.ceil(Math.log((2 * residual) / o.tolerance) / (0.75 * wantedGrowth)) + 1);
    m = Math.max(1, Math.min(m, MAX_FILTER_DEGREE, o.maxProducts - products));
    degree = m;

    // Scaled three-term recurrence for Y_i = T_i(L(M)) X / T_i(L(1)), L(μ) = (μ − centre)/halfWidth, so the filter
    // neither overflows nor underflows: ratio_i = T_{i−1}(L(1)) / T_i(L(1)). M·X is already known (w), so the first
    // degree costs no product.
    const target = (top - centre) / halfWidth;
    let ratio = 1 / target;
    let prev = x;
    let cur: Float64Array = new Float64Array(n * b);
    for (let i = 0; i < cur.length; i++) cur[i] = (ratio * (w[i] - centre * x[i])) / halfWidth;
    for (let step = 1; step < m; step++) {
      const nextRatio = 1 / (2 * target - ratio);
      const a = (2 * nextRatio) / halfWidth;
      const next = await applyCombined(cur, a, -a * centre, -nextRatio * ratio, prev);
      prev = cur;
      cur = next;
      ratio = nextRatio;
    }
    x = cur;
    orthonormalize(x, n, b, rng);
    w = await apply(x);
    ritz = rayleighRitz(x, w, n, b);
    residuals = residualNorms(x, w, ritz.values, n, b, k);
    residual = max(residuals);
    iterations++;
    if (residual < 0.5 * best) {
      best = residual;
      stalled = 0;
    } else {
      stalled++;
    }
  }

  const vectors = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) vectors[i * k + j] = x[i * b + j];
  return {
    vectors,
    values: ritz.values.slice(0, k),
    residuals,
    iterations,
    products,
    converged: exact || residual <= o.tolerance,
  };
}

/** Relative safety margin below an estimated lower end of the spectrum. */
const LOWER_BOUND_MARGIN = 0.05;

/**
 * A (heuristic) lower bound on M's spectrum from `steps` Lanczos steps on one random vector: the smallest Ritz value,
 * less its residual and a margin of 5% of the spectrum's width. Extreme Ritz values converge fast, so this is
 * typically within ~1% of λ_min after 32 steps (checked on kNN graphs, where λ_min ≈ −0.45 against the proven −1).
 * Costs `steps` single-column products, a fraction of one block iteration. rowOrder: as EigenOptions.rowOrder.
 */
export async function estimateLowerBound(
  op: SymmetricOperator,
  steps: number,
  seed: number,
  rowOrder?: Int32Array,
): Promise<number> {
  const { n } = op;
  const rng = new Random(seed ^ 0x5bd1e995);
  let q: Float64Array = new Float64Array(n);
  for (let i = 0; i < n; i++) q[i] = rng.nextFloat() * 2 - 1;
  if (rowOrder) q = permuteRows(q, rowOrder, 1);
  let norm = Math.sqrt(dot(q, q));
  for (let i = 0; i < n; i++) q[i] /= norm;
  let prev: Float64Array = new Float64Array(n);
  const alpha: number[] = [];
  const beta: number[] = [];
  for (let j = 0; j < Math.min(steps, n); j++) {
    const w = await op.apply(q, 1);
    const a = dot(q, w);
    const bPrev = j > 0 ? beta[j - 1] : 0;
    for (let i = 0; i < n; i++) w[i] -= a * q[i] + bPrev * prev[i];
    alpha.push(a);
    norm = Math.sqrt(dot(w, w));
    beta.push(norm);
    if (norm < 1e-12) break; // an invariant subspace: the Ritz values are exact eigenvalues
    for (let i = 0; i < n; i++) w[i] /= norm;
    prev = q;
    q = w;
  }
  const m = alpha.length;
  const t = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    t[j * m + j] = alpha[j];
    if (j + 1 < m) t[j * m + j + 1] = t[(j + 1) * m + j] = beta[j];
  }
  const { values, vectors } = symmetricEigen(t, m);
  const smallest = values[m - 1];
  const residual = beta[m - 1] * Math.abs(vectors[(m - 1) * m + (m - 1)]);
  return Math.max(op.lowerBound, smallest - residual - LOWER_BOUND_MARGIN * (1 - smallest));
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function max(values: Float64Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, v);
  return m;
}

/**
 * Orthonormalises the b columns of the row-major n×b block in place: classical Gram–Schmidt, each column projected
 * out twice ("twice is enough", Giraud et al. 2005), which is as accurate as modified Gram–Schmidt with
 * re-orthogonalisation but reads the block row by row. A column that is (numerically) in the span of the previous
 * ones is replaced by a fresh random one, so the result always has b orthonormal columns (needed when M has a
 * repeated eigenvalue or fewer than b distinct directions survive the filter).
 */
export function orthonormalize(x: Float64Array, n: number, b: number, rng: Random): void {
  const dots = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    for (let attempt = 0; ; attempt++) {
      const before = columnNorm(x, n, b, j);
      for (let pass = 0; pass < 2; pass++) {
        dots.fill(0, 0, j);
        for (let r = 0; r < n; r++) {
          const row = r * b;
          const v = x[row + j];
          for (let i = 0; i < j; i++) dots[i] += x[row + i] * v;
        }
        for (let r = 0; r < n; r++) {
          const row = r * b;
          let s = 0;
          for (let i = 0; i < j; i++) s += dots[i] * x[row + i];
          x[row + j] -= s;
        }
      }
      const after = columnNorm(x, n, b, j);
      if (after > 1e-10 * before && after > 1e-300) {
        for (let r = 0; r < n; r++) x[r * b + j] /= after;
        break;
      }
      if (attempt >= 8) throw new Error(`could not extend an orthonormal basis at column ${j} of ${b} (n = ${n})`);
      for (let r = 0; r < n; r++) x[r * b + j] = rng.nextFloat() * 2 - 1;
    }
  }
}

function columnNorm(x: Float64Array, n: number, b: number, j: number): number {
  let s = 0;
  for (let r = 0; r < n; r++) s += x[r * b + j] ** 2;
  return Math.sqrt(s);
}

/**
 * Rayleigh–Ritz on the orthonormal block x with w = M x: eigen-decomposes H = xᵀw (b×b, symmetrised) and rotates x and
 * w in place onto its eigenvectors, Ritz values descending.
 */
function rayleighRitz(x: Float64Array, w: Float64Array, n: number, b: number): { values: Float64Array } {
  const h = new Float64Array(b * b);
  for (let r = 0; r < n; r++) {
    const row = r * b;
    for (let i = 0; i < b; i++) {
      const xi = x[row + i];
      for (let j = 0; j < b; j++) h[i * b + j] += xi * w[row + j];
    }
  }
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < i; j++) {
      const s = (h[i * b + j] + h[j * b + i]) / 2;
      h[i * b + j] = s;
      h[j * b + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(h, b);
  rotate(x, vectors, n, b);
  rotate(w, vectors, n, b);
  return { values };
}

/** x ← x·q for a b×b q (row-major), row by row. */
function rotate(x: Float64Array, q: Float64Array, n: number, b: number): void {
  const tmp = new Float64Array(b);
  for (let r = 0; r < n; r++) {
    const row = r * b;
    tmp.fill(0);
    for (let i = 0; i < b; i++) {
      const xi = x[row + i];
      if (xi === 0) continue;
      for (let j = 0; j < b; j++) tmp[j] += xi * q[i * b + j];
    }
    x.set(tmp, row);
  }
}

function residualNorms(
  x: Float64Array,
  w: Float64Array,
  theta: Float64Array,
  n: number,
  b: number,
  k: number,
): Float64Array {
  const out = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    const row = r * b;
    for (let j = 0; j < k; j++) out[j] += (w[row + j] - theta[j] * x[row + j]) ** 2;
  }
  return out.map(Math.sqrt);
}

/**
 * Eigen-decomposition of a symmetric m×m matrix (row-major, float64) by cyclic Jacobi rotations: unconditionally
 * stable and accurate to a few ulps relative to ‖A‖, O(m³) per sweep, which is fine for the small projected matrices
 * here. Returns eigenvalues descending and the matching eigenvectors as the columns of `vectors` (row-major m×m).
 * The input is not modified.
 */
export function symmetricEigen(matrix: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  let scale = 0;
  for (const e of a) scale = Math.max(scale, Math.abs(e));
  for (let sweep = 0; sweep < 100 && scale > 0; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += a[p * m + q] ** 2;
    if (Math.sqrt(off) <= 1e-15 * scale * m) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = a[p * m + q];
        if (Math.abs(apq) <= 1e-300) continue;
        const app = a[p * m + p];
        const aqq = a[q * m + q];
        // Rotation angle as in Golub & Van Loan 8.5.2 (smaller root, so |t| ≤ 1).
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let r = 0; r < m; r++) {
          const arp = a[r * m + p];
          const arq = a[r * m + q];
          a[r * m + p] = c * arp - s * arq;
          a[r * m + q] = s * arp + c * arq;
        }
        for (let r = 0; r < m; r++) {
          const apr = a[p * m + r];
          const aqr = a[q * m + r];
          a[p * m + r] = c * apr - s * aqr;
          a[q * m + r] = s * apr + c * aqr;
        }
        for (let r = 0; r < m; r++) {
          const vrp = v[r * m + p];
          const vrq = v[r * m + q];
          v[r * m + p] = c * vrp - s * vrq;
          v[r * m + q] = s * vrp + c * vrq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => a[j * m + j] - a[i * m + i] || i - j);
  const values = new Float64Array(m);
  const vectors = new Float64Array(m * m);
  order.forEach((src, dst) => {
    values[dst] = a[src * m + src];
    for (let r = 0; r < m; r++) vectors[r * m + dst] = v[r * m + src];
  });
  return { values, vectors };
}
