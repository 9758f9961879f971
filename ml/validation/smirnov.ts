/**
 * Survival function of the one-sided Kolmogorov–Smirnov statistic D+_n (scipy.special.smirnov(n, x)), which the
 * two-sided distribution uses for its upper tail.
 *
 * Birnbaum & Tingey (1951) / Smirnov (1944):
 *   P(D+_n ≥ x) = x · Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (1 − x − v/n)^(n−v) (x + v/n)^(v−1)
 * (the v = n(1−x) term is left out when n(1−x) is an integer: it is zero). All terms are positive, so the sum is
 * taken in log space term by term (ln C(n, v) updated by its ratio, with compensated summation) and stopped once the remaining terms cannot move it,
 * as van Mulbregt (2018) and scipy do. For n > 10^6 scipy switches to the approximation
 * exp(−(6nx + 1)² / 18n), and so does this.
 */

const MIN_LOG = -745.1332191019412; // exp() of anything below underflows to 0
const MAX_EXACT_N = 1_000_000;

/** n·x as an unevaluated sum hi + lo (Dekker's two-product), so ⌊n·x⌋ is exact when n·x rounds to an integer. */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const split = (v: number): [number, number] => {
    const t = 134217729 * v; // 2^27 + 1
    const h = t - (t - v);
    return [h, v - h];
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return [hi, lo];
}

/** P(D+_n ≥ x) for an integer n ≥ 1 and x in [0, 1]; NaN outside that domain. */
export function smirnovSf(n: number, x: number): number {
  if (!(Number.isInteger(n) && n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const [nxHi, nxLo] = twoProduct(n, x);
  let nxFloor = Math.floor(nxHi);
  let alpha = nxHi - nxFloor + nxLo;
  if (alpha < 0) {
    nxFloor -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    nxFloor += 1;
    alpha = 0;
  }
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    // x ≤ 1/n: P(D+ < x) = x (1 + x)^(n−1)
    return clip(1 - x * Math.exp((n - 1) * Math.log1p(x)));
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return clip(Math.exp(n * Math.log1p(-x)));
  if (n > MAX_EXACT_N) {
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return clip(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  // Last index of the sum: v < n(1 − x), i.e. v ≤ n − ⌊nx⌋ − 1 (n·x an integer or not).
  const last = n - nxFloor - 1;
  const terms = last + 1;
  const half = Math.floor(n / 2);
  let sum = Math.exp(n * Math.log1p(-x) - Math.log(x)); // v = 0: (1 − x)^n / x
  // ln C(n, v) grows to ~n·ln 2 while the terms that matter can sit near v = n/2, so it is accumulated as an
  // unevaluated sum hi + lo (Knuth's two-sum): plain summation would lose ~1e-8 of relative accuracy at n = 10^6.
  let lbHi = 0;
  let lbLo = 0;
  for (let v = 1; v < terms; v++) {
    const step = Math.log((n - v + 1) / v);
    const s = lbHi + step;
    const back = s - lbHi;
    lbLo += lbHi - (s - back) + (step - back);
    lbHi = s;
    const below = (n - v - nxHi - nxLo) / n; // 1 − x − v/n
    const above = (v + nxHi + nxLo) / n; // x + v/n
    const term = Math.exp(lbHi + (n - v) * Math.log(below) + (v - 1) * Math.log(above) + lbLo);
    if (term > 0 && Number.isFinite(term)) sum += term;
    if (term !== 0) {
      if (4 * (terms - v) * term < Number.EPSILON * sum && v !== terms - 1) break;
    } else if (v > half) break;
  }
  return clip(x * sum);
}

function clip(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
