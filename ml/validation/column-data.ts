import { Table } from '../../datasets/table';
import { FloatSorter } from './float-sort';

/**
 * One column of a Table pulled out for validation, in the form every check and statistic reads it from: a numeric
 * column as its finite values sorted once, a categorical column as counts per level. Nothing per row survives, so
 * a million-row column costs one Float64Array.
 *
 * Cell conventions (the Table contract says number cells are finite and string cells are level indices; validation
 * also accepts tables built elsewhere that break it, and reports instead of failing):
 * - NaN is a missing value, in either kind of column;
 * - ±Infinity in a numeric column is a non-finite value, counted and left out of every statistic;
 * - in a categorical column, anything but an integer index into `levels` is an invalid cell, counted and left out.
 */
export interface NumericColumn {
  kind: 'number';
  name: string;
  rows: number;
  missing: number;
  nonFinite: number;
  /** The finite values, ascending, -0 read as 0. */
  sorted: Float64Array;
}

/** See NumericColumn. */
export interface CategoricalColumn {
  kind: 'string';
  name: string;
  rows: number;
  missing: number;
  invalid: number;
  levels: readonly string[];
  /** counts[i] = rows holding levels[i]. */
  counts: Float64Array;
}

export type ColumnData = NumericColumn | CategoricalColumn;

/** Column `c` of `table` (strided read of the row-major cells); numeric values are sorted with `sorter`. */
export function readColumn(table: Table, c: number, sorter: FloatSorter): ColumnData {
  const spec = table.columns[c];
  const stride = table.columns.length;
  const { rows, values } = table;
  if (spec.type === 'string') {
    const levels = spec.levels ?? [];
    const counts = new Float64Array(levels.length);
    let missing = 0;
    let invalid = 0;
    for (let r = 0, i = c; r < rows; r++, i += stride) {
      const v = values[i];
      if (v !== v) missing++;
      else if (v >= 0 && v < levels.length && Number.isInteger(v)) counts[v]++;
      else invalid++;
    }
    return { kind: 'string', name: spec.name, rows, missing, invalid, levels, counts };
  }
  const buf = new Float64Array(rows);
  let k = 0;
  let missing = 0;
  let nonFinite = 0;
  for (let r = 0, i = c; r < rows; r++, i += stride) {
    const v = values[i];
    if (v - v === 0) buf[k++] = v + 0;
    else if (v !== v) missing++;
    else nonFinite++;
  }
  sorter.sort(buf, k);
  return { kind: 'number', name: spec.name, rows, missing, nonFinite, sorted: buf.subarray(0, k) };
}

/** Counts per level name (levels with no rows left out), for comparing categorical columns of two tables. */
export function levelCounts(column: CategoricalColumn): Map<string, number> {
  const out = new Map<string, number>();
  column.levels.forEach((level, i) => {
    if (column.counts[i] > 0) out.set(level, (out.get(level) ?? 0) + column.counts[i]);
  });
  return out;
}
