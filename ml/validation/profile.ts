import { CategoricalColumn, ColumnData, NumericColumn } from './column-data';
import { quantileSorted } from './quantile';

/**
 * Summary of a numeric column. `count` is the number of finite values; the statistics are over those values and are
 * absent when they are undefined (no values; std needs two), so every number present is finite.
 */
export interface NumericProfile {
  column: string;
  type: 'number';
  rows: number;
  count: number;
  missing: number;
  nonFinite: number;
  /** Distinct finite values. */
  distinct: number;
  mean?: number;
  /** Sample standard deviation (n − 1 in the denominator), as pandas' describe. */
  std?: number;
  min?: number;
  max?: number;
  /** numpy.quantile (linear) at each of the options' profileQuantiles; empty when there are no values. */
  quantiles: Array<{ q: number; value: number }>;
}

/** Summary of a categorical column: `count` rows hold a valid level; `levels` lists the most frequent ones. */
export interface CategoricalProfile {
  column: string;
  type: 'string';
  rows: number;
  count: number;
  missing: number;
  invalid: number;
  /** Levels that occur at least once. */
  distinct: number;
  /** The `profileTopLevels` most frequent levels, most frequent first (ties in level order). */
  levels: Array<{ level: string; count: number }>;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

/** Mean and sample std of ascending finite values, rescaled when the plain sums overflow (|x| near 1e308). */
function moments(sorted: Float64Array): { mean?: number; std?: number } {
  const n = sorted.length;
  if (n === 0) return {};
  const pass = (scale: number): { mean: number; std?: number } => {
    const inv = 1 / scale;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i] * inv;
    const mean = sum / n;
    if (n < 2) return { mean };
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const d = sorted[i] * inv - mean;
      ss += d * d;
    }
    return { mean, std: Math.sqrt(ss / (n - 1)) };
  };
  const plain = pass(1);
  if (Number.isFinite(plain.mean) && (plain.std === undefined || Number.isFinite(plain.std))) return plain;
  const scale = Math.max(Math.abs(sorted[0]), Math.abs(sorted[n - 1]));
  const scaled = pass(scale);
  const mean = scaled.mean * scale;
  const std = scaled.std === undefined ? undefined : scaled.std * scale;
  return {
    ...(Number.isFinite(mean) ? { mean } : {}),
    ...(std !== undefined && Number.isFinite(std) ? { std } : {}),
  };
}

/** Distinct values of an ascending array. */
export function distinctSorted(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct;
}

/** Profile of a numeric column (one pass for the mean, one for the spread; quantiles read off the sorted values). */
export function profileNumeric(col: NumericColumn, quantiles: readonly number[]): NumericProfile {
  const { sorted } = col;
  const n = sorted.length;
  return {
    column: col.name,
    type: 'number',
    rows: col.rows,
    count: n,
    missing: col.missing,
    nonFinite: col.nonFinite,
    distinct: distinctSorted(sorted),
    ...moments(sorted),
    ...(n > 0 ? { min: sorted[0], max: sorted[n - 1] } : {}),
    quantiles: n > 0 ? quantiles.map((q) => ({ q, value: quantileSorted(sorted, q) })) : [],
  };
}

/** Profile of a categorical column. */
export function profileCategorical(col: CategoricalColumn, topLevels: number): CategoricalProfile {
  const present: Array<{ level: string; count: number; index: number }> = [];
  let count = 0;
  col.levels.forEach((level, index) => {
    const c = col.counts[index];
    count += c;
    if (c > 0) present.push({ level, count: c, index });
  });
  present.sort((a, b) => b.count - a.count || a.index - b.index);
  return {
    column: col.name,
    type: 'string',
    rows: col.rows,
    count,
    missing: col.missing,
    invalid: col.invalid,
    distinct: present.length,
    levels: present.slice(0, topLevels).map(({ level, count: c }) => ({ level, count: c })),
  };
}

/** Profile of either kind of column. */
export function profileColumn(col: ColumnData, quantiles: readonly number[], topLevels: number): ColumnProfile {
  return col.kind === 'number' ? profileNumeric(col, quantiles) : profileCategorical(col, topLevels);
}
