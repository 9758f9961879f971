import { countAtMost, quantileSorted } from './quantile';

/**
 * Population Stability Index between a reference and a current distribution over the same bins:
 *   PSI = Σ_i (c_i − r_i) · ln(c_i / r_i)
 * with r_i, c_i the shares of reference and current values in bin i, each first clamped to at least ε so that an empty
 * bin contributes a large, finite term (shares are not renormalised after clamping). PSI ≥ 0; 0 for equal shares.
 *
 * Bands (the usual credit-scoring convention): PSI < moderate (0.1) 'none', ≤ significant (0.25) 'moderate', above
 * that 'significant'.
 */
export type PsiBand = 'none' | 'moderate' | 'significant';

/** PSI of two count vectors over the same bins (totals > 0). */
export function psiFromCounts(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon: number): number {
  if (reference.length !== current.length) throw new RangeError('psiFromCounts: count vectors differ in length');
  let refTotal = 0;
  let curTotal = 0;
  for (let i = 0; i < reference.length; i++) {
    refTotal += reference[i];
    curTotal += current[i];
  }
  if (!(refTotal > 0 && curTotal > 0)) throw new RangeError('psiFromCounts: both totals must be positive');
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i] / refTotal, epsilon);
    const c = Math.max(current[i] / curTotal, epsilon);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/**
 * Interior bin edges from the reference: numpy.quantile(reference, k / bins) for k = 1..bins−1, duplicates removed
 * (a reference with many ties yields fewer, wider bins). Bins are right-closed: (−∞, e1], (e1, e2], ..., (e_last, ∞),
 * i.e. a value's bin is numpy.searchsorted(edges, value, side='left').
 */
export function quantileEdges(referenceSorted: Float64Array, bins: number): number[] {
  const all: number[] = [];
  for (let k = 1; k < bins; k++) all.push(quantileSorted(referenceSorted, k / bins));
  all.sort((x, y) => x - y); // already ordered unless interpolation rounding says otherwise; numpy.unique sorts too
  return all.filter((e, i) => i === 0 || e !== all[i - 1]);
}

/** Counts of an ascending array in the right-closed bins of `edges` (edges.length + 1 counts). */
export function binCounts(sorted: Float64Array, edges: readonly number[]): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let below = 0;
  for (let i = 0; i < edges.length; i++) {
    const upTo = countAtMost(sorted, edges[i]);
    counts[i] = upTo - below;
    below = upTo;
  }
  counts[edges.length] = sorted.length - below;
  return counts;
}

/** PSI of two ascending numeric samples on `bins` quantile bins of the reference. */
export function numericPsi(referenceSorted: Float64Array, currentSorted: Float64Array, bins: number, epsilon: number) {
  const edges = quantileEdges(referenceSorted, bins);
  return {
    psi: psiFromCounts(binCounts(referenceSorted, edges), binCounts(currentSorted, edges), epsilon),
    edges,
  };
}

/** The band of a PSI value. */
export function psiBand(psi: number, moderate: number, significant: number): PsiBand {
  return psi > significant ? 'significant' : psi >= moderate ? 'moderate' : 'none';
}
