import { chiSquareSf } from './gamma';

/** Pearson's chi-square goodness-of-fit result; dof = categories − 1. */
export interface ChiSquareResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/**
 * scipy.stats.chisquare(observed, expected): statistic Σ (o − e)² / e, p-value = chi2.sf(statistic, k − 1) through
 * the regularized upper incomplete gamma function. Every expected count must be positive (a zero would make the
 * statistic infinite; callers drop such categories first) and the two totals should agree, as scipy requires.
 * With a single category there are no degrees of freedom and nothing to test: the statistic is 0 up to rounding and the p-value 1 (scipy would
 * answer NaN). Throws RangeError on mismatched lengths, no categories or a non-positive expected count.
 */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>): ChiSquareResult {
  const k = observed.length;
  if (k !== expected.length) throw new RangeError(`chiSquareTest: ${k} observed vs ${expected.length} expected counts`);
  if (k === 0) throw new RangeError('chiSquareTest: no categories');
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const e = expected[i];
    if (!(e > 0)) throw new RangeError(`chiSquareTest: expected count ${i} is ${e}, must be positive`);
    const d = observed[i] - e;
    statistic += (d * d) / e;
  }
  const dof = k - 1;
  if (dof === 0) return { statistic, dof, pValue: 1 };
  return { statistic, dof, pValue: chiSquareSf(statistic, dof) };
}
