/**
 * The holdout of a validation pipeline when it is given as a fraction of the dataset's rows: a deterministic, seeded
 * split. holdoutRows = floor(rows × fraction); the rows are shuffled by a Fisher–Yates permutation drawn from
 * mulberry32(seed) (ml/random.ts) and the first holdoutRows of it are held out (ml/training/split.ts
 * trainValidationSplit, the split training itself uses). Both parts keep the original row order. The same dataset,
 * fraction and seed give the same two tables on every machine, so a retried activity stores the same two datasets.
 */
import { Table } from '../../datasets/table';
import { trainValidationSplit } from '../training/split';

/**
 * Fewest rows a pipeline's holdout may have: below it one row more or less moves accuracy by 10 points or more, and a
 * 1-row holdout scores 0 or 1 (README: Validation pipelines). The API refuses smaller holdouts at submit.
 */
export const MIN_HOLDOUT_ROWS = 10;

/** Fewest rows a fractional holdout must leave to train on (the same bound, for the same reason). */
export const MIN_TRAINING_ROWS = 10;

/** Rows held out of `rows` for `fraction`: floor(rows × fraction). */
export function holdoutRowCount(rows: number, fraction: number): number {
  return Math.floor(rows * fraction);
}

/** The rows `rows` (indices, any order) of `table` as a new table with the same columns and levels. */
export function subsetTable(table: Table, rows: ArrayLike<number>): Table {
  const c = table.columns.length;
  const values = new Float64Array(rows.length * c);
  for (let i = 0; i < rows.length; i++) values.set(table.values.subarray(rows[i] * c, (rows[i] + 1) * c), i * c);
  return { columns: table.columns.map((col) => ({ ...col })), rows: rows.length, values };
}

/**
 * Splits `table` into a training part and a holdout of floor(rows × fraction) rows (see the module comment). Throws
 * RangeError when either part would be empty.
 */
export function splitHoldout(table: Table, fraction: number, seed: number): { train: Table; holdout: Table } {
  const held = holdoutRowCount(table.rows, fraction);
  if (held < 1) throw new RangeError(`a holdout fraction of ${fraction} of ${table.rows} rows holds out no row`);
  if (held >= table.rows) throw new RangeError(`a holdout fraction of ${fraction} leaves no row to train on`);
  const split = trainValidationSplit(table.rows, held, seed);
  return { train: subsetTable(table, split.train), holdout: subsetTable(table, split.validation) };
}

/**
 * What a holdout's target allows to measure: its rows, the distinct classes (distinct non-missing values: level codes
 * of a text column, numbers of a numeric one) and whether it is constant (at most one distinct value). Undefined when
 * the table has no such column.
 */
export function holdoutTargetFacts(
  table: Table,
  target: string,
): { rows: number; classes: number; constant: boolean } | undefined {
  const index = table.columns.findIndex((c) => c.name === target);
  if (index < 0) return undefined;
  const c = table.columns.length;
  const distinct = new Set<number>();
  for (let r = 0; r < table.rows; r++) {
    const v = table.values[r * c + index];
    if (Number.isFinite(v)) distinct.add(v);
  }
  return { rows: table.rows, classes: distinct.size, constant: distinct.size <= 1 };
}
