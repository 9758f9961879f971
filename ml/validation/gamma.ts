/**
 * The gamma-function pieces the chi-square test needs: log Γ, the regularized upper incomplete gamma function
 * Q(a, x) = Γ(a, x) / Γ(a), and the chi-square survival function built on it (scipy.special.chdtrc(k, x) =
 * Q(k/2, x/2)). Relative accuracy is around 1e-13 over the ranges a test statistic produces.
 */

const HALF_LOG_2PI = 0.9189385332046728; // ln(2π) / 2

/** Stirling's series remainder ln Γ(x) − [(x − ½)ln x − x + ½ln 2π], accurate to ~1e-17 for x ≥ 10. */
function stirlingRemainder(x: number): number {
  const r = 1 / x;
  const r2 = r * r;
  return (
    r *
    (1 / 12 +
      r2 * (-1 / 360 + r2 * (1 / 1260 + r2 * (-1 / 1680 + r2 * (1 / 1188 + r2 * (-691 / 360360 + (r2 * 1) / 156))))))
  );
}

/** ln Γ(x) for x > 0 (NaN otherwise): Stirling's series, after shifting x up to 10 with Γ(x + 1) = x Γ(x). */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  let shift = 0;
  let product = 1;
  while (x < 10) {
    product *= x;
    x += 1;
    shift++;
  }
  const stirling = (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlingRemainder(x);
  return shift > 0 ? stirling - Math.log(product) : stirling;
}

/** log(1 + t) − t, without the cancellation of the direct form when |t| is small. */
function log1pMinusT(t: number): number {
  if (Math.abs(t) > 0.5) return Math.log1p(t) - t;
  // −t²/2 + t³/3 − t⁴/4 + ...
  let term = t;
  let sum = 0;
  for (let k = 2; k < 200; k++) {
    term *= -t;
    const add = term / k;
    sum += add;
    if (Math.abs(add) <= 1e-17 * Math.abs(sum)) break;
  }
  return sum;
}

/**
 * ln(x^a e^−x / Γ(a)), the prefactor of both expansions. For a ≥ 10 it is evaluated as
 * −a·(t − ln(1 + t)) + ½ln(a / 2π) − remainder(a) with t = x/a − 1 (Temme's form), which keeps its relative accuracy
 * when x ≈ a instead of subtracting two large logarithms.
 */
function logPrefactor(a: number, x: number): number {
  if (a < 10) return a * Math.log(x) - x - logGamma(a);
  const t = (x - a) / a;
  return a * log1pMinusT(t) + 0.5 * Math.log(a) - HALF_LOG_2PI - stirlingRemainder(a);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), for a > 0 and x ≥ 0 (NaN otherwise). The power series of
 * P for x < a + 1 and the continued fraction of Q (modified Lentz) otherwise, as in Numerical Recipes §6.2; both
 * converge in O(√a) terms.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0) || !Number.isFinite(a)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const maxTerms = 1000 + Math.ceil(20 * Math.sqrt(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < maxTerms; k++) {
      term *= x / (a + k);
      sum += term;
      if (term < sum * 1e-17) return 1 - Math.exp(logPrefactor(a, x)) * sum;
    }
    return NaN;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < maxTerms; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) return Math.exp(logPrefactor(a, x) + Math.log(h));
  }
  return NaN;
}

/** Survival function of the chi-square distribution with `dof` > 0 degrees of freedom at x (scipy chi2.sf). */
export function chiSquareSf(x: number, dof: number): number {
  if (!(dof > 0)) return NaN;
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}
