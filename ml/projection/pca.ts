/**
 * The first principal components of a small dense matrix, for plotting: power iteration with deflation on the centred
 * data (Xcᵀ(Xc v) per step, never forming the d × d covariance), in float64.
 */
export interface Pca {
  /** Column means (d). */
  mean: Float64Array;
  /** `components[i]`: unit vector (d) of the i-th component, its largest-magnitude entry positive (a fixed sign). */
  components: Float64Array[];
  /** Variance along each component: eigenvalue of the sample covariance (n − 1 in the denominator). */
  variance: number[];
  /** Each component's share of the total variance (0 when the data have none). */
  varianceRatio: number[];
}

/** Steps of power iteration at most, and the change in the Rayleigh quotient (relative) that counts as converged. */
const MAX_STEPS = 500;
const TOLERANCE = 1e-10;

/**
 * The first `count` principal components of `values` (n rows × d columns, row-major; n ≥ 1, d ≥ 1, count ≤ d).
 * Each starts from the centred row of largest norm (deterministic; real data do not put it exactly orthogonal to the
 * leading direction), iterates until the eigenvalue estimate changes by less than TOLERANCE relative or MAX_STEPS
 * pass, and is then removed from the rows (deflation). Components of zero variance come back as basis vectors
 * orthogonal to the previous ones, so a projection always has `count` axes.
 */
export function pca(values: ArrayLike<number>, n: number, d: number, count: number): Pca {
  if (n < 1 || d < 1 || count < 1 || count > d)
    throw new RangeError(`pca: need n ≥ 1, 1 ≤ count ≤ d (n=${n}, d=${d}, count=${count})`);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += values[r * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const x = new Float64Array(n * d);
  let total = 0;
  for (let r = 0; r < n; r++)
    for (let j = 0; j < d; j++) {
      const c = values[r * d + j] - mean[j];
      x[r * d + j] = c;
      total += c * c;
    }
  const denominator = Math.max(1, n - 1);
  const components: Float64Array[] = [];
  const variance: number[] = [];
  const scores = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    let v = startVector(x, n, d, components);
    let lambda = 0;
    for (let step = 0; step < MAX_STEPS; step++) {
      // w = Xᵀ (X v)
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[r * d + j] * v[j];
        scores[r] = s;
      }
      const w = new Float64Array(d);
      for (let r = 0; r < n; r++) {
        const s = scores[r];
        if (s !== 0) for (let j = 0; j < d; j++) w[j] += x[r * d + j] * s;
      }
      orthogonalise(w, components);
      const next = norm2(w);
      if (!(next > 0)) break; // no variance left: keep the start vector
      for (let j = 0; j < d; j++) w[j] /= next;
      v = w;
      const converged = Math.abs(next - lambda) <= TOLERANCE * next;
      lambda = next;
      if (converged) break;
    }
    fixSign(v);
    // Deflate: remove the component from every row, so the next iteration finds the one after it.
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[r * d + j] * v[j];
      for (let j = 0; j < d; j++) x[r * d + j] -= s * v[j];
    }
    components.push(v);
    variance.push(lambda / denominator);
  }
  const totalVariance = total / denominator;
  return {
    mean,
    components,
    variance,
    varianceRatio: variance.map((l) => (totalVariance > 0 ? l / totalVariance : 0)),
  };
}

/** Coordinates of a point (d values) on the components: (p − mean) · component. */
export function projectPoint(p: ArrayLike<number>, model: Pca): number[] {
  return model.components.map((c) => {
    let s = 0;
    for (let j = 0; j < c.length; j++) s += (p[j] - model.mean[j]) * c[j];
    return s;
  });
}

/** The centred row of largest norm, orthogonalised against `previous`; a basis vector when every row is zero. */
function startVector(x: Float64Array, n: number, d: number, previous: Float64Array[]): Float64Array {
  let best = -1;
  let bestNorm = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j] ** 2;
    if (s > bestNorm) {
      bestNorm = s;
      best = r;
    }
  }
  const v = new Float64Array(d);
  if (best >= 0) v.set(x.subarray(best * d, best * d + d));
  orthogonalise(v, previous);
  let norm = norm2(v);
  // Nothing left (all rows zero, or spanned by the previous components): the first basis vector not yet covered.
  for (let j = 0; !(norm > 1e-12) && j < d; j++) {
    v.fill(0);
    v[j] = 1;
    orthogonalise(v, previous);
    norm = norm2(v);
  }
  for (let j = 0; j < d; j++) v[j] /= norm;
  return v;
}

/** Euclidean length (a loop: spreading a long vector into Math.hypot would overflow the call stack). */
function norm2(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j] * v[j];
  return Math.sqrt(s);
}

function orthogonalise(v: Float64Array, basis: Float64Array[]): void {
  for (const b of basis) {
    let s = 0;
    for (let j = 0; j < v.length; j++) s += v[j] * b[j];
    for (let j = 0; j < v.length; j++) v[j] -= s * b[j];
  }
}

function fixSign(v: Float64Array): void {
  let at = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[at])) at = j;
  if (v[at] < 0) for (let j = 0; j < v.length; j++) v[j] = -v[j];
}
