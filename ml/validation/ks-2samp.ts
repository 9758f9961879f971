import { kolmogorovSf } from './kolmogorov';

/**
 * The two-sample Kolmogorov–Smirnov test, two-sided, as scipy.stats.ks_2samp(a, b) with its default method='auto'.
 *
 * Statistic: D = sup_x |F_a(x) − F_b(x)| over the pooled values, with right-continuous ECDFs (scipy's searchsorted
 * side='right'), so ties are counted on both sides at once.
 *
 * p-value, chosen as scipy does:
 * - 'exact' when max(n_a, n_b) ≤ 10000: the probability that a lattice path from (0, 0) to (n_a, n_b) leaves the band
 *   |x/n_a − y/n_b| < D, counted exactly. D is first snapped to h / lcm(n_a, n_b), h = round(D·lcm), and that snapped
 *   value is the reported statistic, as in scipy. Equal sizes use the alternating-sum (reflection) formula evaluated
 *   Horner-style; unequal sizes Hodges' (1958) "inside" recursion in Viehmann's (2021, arXiv:2102.08037) form, which
 *   accumulates 1 − p directly and so keeps small p-values accurate. If that fails (a p outside [0, 1]), 'asymp'.
 * - 'asymp' otherwise: P(D_en ≥ D) of the one-sample Kolmogorov distribution (kolmogorovSf) at
 *   en = round(n_a·n_b / (n_a + n_b)), rounded half to even like numpy.
 */
export interface KsResult {
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

/** scipy's largest sample size for which method='auto' computes the exact p-value. */
export const KS_EXACT_MAX_N = 10000;

/** numpy.round: to the nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** sup |F_a − F_b| over the pooled values of two ascending arrays (numpy's cdf1 − cdf2 arithmetic). */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = -Infinity;
  let minDiff = Infinity;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return minS > maxDiff ? minS : maxDiff;
}

/** P(D_{n,n} ≥ h/n): 2·Σ_k (−1)^(k+1) C(2n, n − kh) / C(2n, n), as nested products to avoid cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * P(D_{m,n} ≥ h/lcm) for m ≠ n: the share of lattice paths that leave |x·n/g − y·m/g| < h, one column of the path
 * count at a time over a sliding window, each entry holding the probability of having left already.
 */
function probOutsideBand(m: number, n: number, g: number, h: number): number {
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const shift = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + shift] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, Math.min(maxj - minj + (lastlen - curlen), lenA));
  }
  return A[maxj - minj - 1];
}

/** Exact p-value and the snapped statistic, or undefined when the computation cannot be trusted. */
function exactKs(n1: number, n2: number, d: number): { statistic: number; pValue: number } | undefined {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  return p >= 0 && p <= 1 ? { statistic, pValue: p } : undefined;
}

/**
 * Two-sided two-sample KS test of ascending, finite, non-empty samples; the exact p-value is tried when both sizes
 * are at most `exactMaxN` (scipy's 10000 by default). Throws RangeError on an empty sample (scipy raises ValueError).
 */
export function ks2Samp(a: Float64Array, b: Float64Array, exactMaxN = KS_EXACT_MAX_N): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2Samp: both samples must be non-empty');
  let d = ksStatistic(a, b);
  if (Math.max(n1, n2) <= exactMaxN) {
    const exact = exactKs(n1, n2, d);
    if (exact) return { ...exact, method: 'exact' };
    d = roundHalfEven(d * ((n1 / gcd(n1, n2)) * n2)) / ((n1 / gcd(n1, n2)) * n2);
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  const p = kolmogorovSf(roundHalfEven(en), d);
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), method: 'asymp' };
}
