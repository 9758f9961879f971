import { Check, check } from './check';
import { CategoricalColumn, NumericColumn } from './column-data';
import { ValidationOptions } from './options';
import { countAtMost, countBelow } from './quantile';

/** An allowed numeric range; a missing bound is unbounded on that side. */
export interface NumericRange {
  min?: number;
  max?: number;
}

/**
 * The range a reference implies: its finite [min, max] widened on each side by options.rangeMargin × (max − min), or
 * by rangeMargin × max(1, |value|) when the reference is constant. Bounds are clamped to ±Number.MAX_VALUE so they
 * stay finite. `referenceSorted` is ascending and non-empty.
 */
export function referenceRange(referenceSorted: Float64Array, margin: number): Required<NumericRange> {
  const lo = referenceSorted[0];
  const hi = referenceSorted[referenceSorted.length - 1];
  let width = hi - lo;
  if (!Number.isFinite(width)) width = Number.MAX_VALUE;
  if (width === 0) width = Math.max(1, Math.abs(lo));
  const pad = margin * width;
  const clamp = (v: number): number => Math.min(Math.max(v, -Number.MAX_VALUE), Number.MAX_VALUE);
  return { min: clamp(lo - pad), max: clamp(hi + pad) };
}

/**
 * `numeric_range`: the share of the column's finite values outside `range` is at most options.maxOutOfRangeRate.
 * `source` says whether the range was given by the request or derived from the reference.
 */
export function numericRangeCheck(
  col: NumericColumn,
  range: NumericRange,
  source: 'given' | 'reference',
  options: ValidationOptions,
): Check {
  const { sorted } = col;
  const n = sorted.length;
  const below = range.min === undefined ? 0 : countBelow(sorted, range.min);
  const above = range.max === undefined ? 0 : n - countAtMost(sorted, range.max);
  const outside = below + above;
  const r = n > 0 ? outside / n : 0;
  return check(
    options.severities,
    'numeric_range',
    col.name,
    { ...(n > 0 ? { min: sorted[0], max: sorted[n - 1] } : {}), below, above, rate: r },
    { ...range, source, maxRate: options.maxOutOfRangeRate },
    r <= options.maxOutOfRangeRate,
  );
}

/**
 * `unseen_levels`: the share of the column's rows holding a level outside `allowed` (given by the request, or the
 * levels the reference holds at least once) is at most options.maxUnseenLevelRate. Names up to
 * options.reportedLevels of the unseen levels, most frequent first.
 */
export function unseenLevelsCheck(
  col: CategoricalColumn,
  allowed: ReadonlySet<string>,
  source: 'given' | 'reference',
  options: ValidationOptions,
): Check {
  const unseen = new Map<string, number>();
  col.levels.forEach((level, i) => {
    if (col.counts[i] > 0 && !allowed.has(level)) unseen.set(level, (unseen.get(level) ?? 0) + col.counts[i]);
  });
  let rows = 0;
  for (const c of unseen.values()) rows += c;
  const r = col.rows > 0 ? rows / col.rows : 0;
  const named = [...unseen].sort((a, b) => b[1] - a[1]).slice(0, options.reportedLevels);
  return check(
    options.severities,
    'unseen_levels',
    col.name,
    { levels: named.map(([level]) => level), distinct: unseen.size, rows, rate: r },
    { source, allowedLevels: allowed.size, maxRate: options.maxUnseenLevelRate },
    r <= options.maxUnseenLevelRate,
  );
}
