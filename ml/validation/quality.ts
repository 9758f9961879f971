import { Check, check } from './check';
import { ColumnData } from './column-data';
import { ValidationOptions } from './options';
import { ColumnProfile } from './profile';
import { countDuplicateRows, RowView } from './row-hash';

/**
 * Data-quality checks that need no reference: row count, and per column the missing rate, non-finite or invalid
 * cells and constancy; over whole rows the duplicate rate. Rates are shares of the table's rows (0 for no rows).
 */

const rate = (count: number, of: number): number => (of > 0 ? count / of : 0);

/** `row_count`: minRows ≤ rows ≤ maxRows. */
export function rowCountCheck(rows: number, options: ValidationOptions): Check {
  return check(
    options.severities,
    'row_count',
    undefined,
    rows,
    { min: options.minRows, max: options.maxRows },
    rows >= options.minRows && rows <= options.maxRows,
  );
}

/** `missing_rate`: NaN cells / rows ≤ maxMissingRate. */
export function missingRateCheck(col: ColumnData, options: ValidationOptions): Check {
  const r = rate(col.missing, col.rows);
  return check(
    options.severities,
    'missing_rate',
    col.name,
    { missing: col.missing, rate: r },
    { maxRate: options.maxMissingRate },
    r <= options.maxMissingRate,
  );
}

/** `non_finite` (numeric: ±Infinity cells) or `invalid_level` (categorical: cells that are not a level index): none. */
export function cellValidityCheck(col: ColumnData, options: ValidationOptions): Check {
  const bad = col.kind === 'number' ? col.nonFinite : col.invalid;
  return check(
    options.severities,
    col.kind === 'number' ? 'non_finite' : 'invalid_level',
    col.name,
    { count: bad, rate: rate(bad, col.rows) },
    { max: 0 },
    bad === 0,
  );
}

/** `constant_column`: at least two distinct values among the column's usable cells. */
export function constantColumnCheck(profile: ColumnProfile, options: ValidationOptions): Check {
  return check(
    options.severities,
    'constant_column',
    profile.column,
    { distinct: profile.distinct },
    { minDistinct: 2 },
    profile.distinct >= 2,
  );
}

/** `duplicate_rows`: (rows − distinct rows) / rows ≤ maxDuplicateRate, rows compared exactly (see row-hash). */
export function duplicateRowsCheck(view: RowView, options: ValidationOptions): Check {
  const duplicates = countDuplicateRows(view);
  const r = rate(duplicates, view.rows);
  return check(
    options.severities,
    'duplicate_rows',
    undefined,
    { duplicates, rate: r },
    { maxRate: options.maxDuplicateRate },
    r <= options.maxDuplicateRate,
  );
}
