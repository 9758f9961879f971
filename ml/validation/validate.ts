import { Table } from '../../datasets/table';
import { Check, check } from './check';
import { ColumnData, levelCounts, readColumn } from './column-data';
import { ColumnDrift, columnDrift, datasetDriftCheck, driftCheck, driftUnavailableCheck } from './drift';
import { replaceNonFinite } from './finite-guard';
import { FloatSorter } from './float-sort';
import { resolveOptions, ValidationOptions, ValidationOverrides } from './options';
import { holdoutUnseenTargetCheck } from './holdout-target';
import { holdoutOverlapCheck } from './overlap';
import { ColumnProfile, profileColumn } from './profile';
import { cellValidityCheck, constantColumnCheck, duplicateRowsCheck, missingRateCheck, rowCountCheck } from './quality';
import { NumericRange, numericRangeCheck, referenceRange, unseenLevelsCheck } from './ranges';
import { summarize, ValidationReport } from './report';
import { tableView } from './row-hash';
import { ExpectedColumn, schemaChecks, schemaOf } from './schema';
import { targetChecks, TargetTask } from './target';

/**
 * What to validate and against what. Only `table` is required; each other field switches on the checks that need it:
 * - `reference`: the expected schema (unless `schema` is given), reference-derived ranges and levels, and drift;
 * - `schema`: the expected columns, overriding the reference's;
 * - `ranges` / `levels`: per-column allowed numeric ranges / categorical levels, overriding the reference's;
 * - `target`: target checks; the target column is left out of drift. `task` defaults to 'classification' for a
 *   categorical target and 'regression' for a numeric one;
 * - `holdout`: rows of the holdout table that also occur in `table` (train/holdout leakage) and, for a
 *   classification target, holdout classes `table` lacks;
 * - `options`: thresholds and severities (see ValidationOptions and VALIDATION_DEFAULTS).
 */
export interface ValidationRequest {
  table: Table;
  reference?: Table;
  holdout?: Table;
  schema?: ExpectedColumn[];
  ranges?: Record<string, NumericRange>;
  levels?: Record<string, string[]>;
  target?: string;
  task?: TargetTask;
  options?: ValidationOverrides;
}

function own<T>(record: Record<string, T> | undefined, key: string): T | undefined {
  return record && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Refuses tables whose cell array does not have rows × columns cells, and malformed ranges and levels. */
function checkRequest(req: ValidationRequest): void {
  const tables: Array<[string, Table | undefined]> = [
    ['table', req.table],
    ['reference', req.reference],
    ['holdout', req.holdout],
  ];
  for (const [name, t] of tables) {
    if (!t) continue;
    if (!Number.isSafeInteger(t.rows) || t.rows < 0 || t.values.length !== t.rows * t.columns.length) {
      throw new RangeError(`${name}: ${t.values.length} cells for ${t.rows} rows × ${t.columns.length} columns`);
    }
  }
  for (const [column, range] of Object.entries(req.ranges ?? {})) {
    const { min, max } = range;
    if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) {
      throw new RangeError(`ranges.${column}: bounds must be finite numbers`);
    }
    if (min !== undefined && max !== undefined && min > max) throw new RangeError(`ranges.${column}: min > max`);
  }
  for (const [column, levels] of Object.entries(req.levels ?? {})) {
    if (!Array.isArray(levels) || levels.some((l) => typeof l !== 'string')) {
      throw new RangeError(`levels.${column}: must be an array of strings`);
    }
  }
}

/** First column index of each name. */
function columnIndex(table: Table): Map<string, number> {
  const index = new Map<string, number>();
  table.columns.forEach((c, i) => {
    if (!index.has(c.name)) index.set(c.name, i);
  });
  return index;
}

/** Range or level check of one column, from the request's bounds or else the reference column. */
function expectationCheck(
  req: ValidationRequest,
  col: ColumnData,
  ref: ColumnData | undefined,
  options: ValidationOptions,
): Check | undefined {
  if (col.kind === 'number') {
    const given = own(req.ranges, col.name);
    if (given) return numericRangeCheck(col, given, 'given', options);
    if (ref?.kind === 'number' && ref.sorted.length > 0) {
      return numericRangeCheck(col, referenceRange(ref.sorted, options.rangeMargin), 'reference', options);
    }
    return undefined;
  }
  const given = own(req.levels, col.name);
  if (given) return unseenLevelsCheck(col, new Set(given), 'given', options);
  if (ref?.kind === 'string') return unseenLevelsCheck(col, new Set(levelCounts(ref).keys()), 'reference', options);
  return undefined;
}

/**
 * Validates `req.table` and returns every check, the summary, the column profiles and the drift. Column by column:
 * each column (and its reference counterpart) is read once — numeric values sorted once — and every per-column
 * check, the profile and the drift statistics are taken from that; then whole-row checks (duplicates, holdout
 * overlap) hash each row once. Memory beyond the tables: a few arrays of one column's length and one hash table of
 * row indices. Throws RangeError for a malformed request (see checkRequest, resolveOptions).
 */
export function validateTable(req: ValidationRequest): ValidationReport {
  checkRequest(req);
  const options = resolveOptions(req.options);
  const { table, reference, target } = req;
  const checks: Check[] = [];
  const expected = req.schema ?? (reference ? schemaOf(reference) : undefined);
  if (expected) checks.push(...schemaChecks(table, expected, options.severities));
  checks.push(rowCountCheck(table.rows, options));

  const sorter = new FloatSorter();
  const refIndex = reference ? columnIndex(reference) : undefined;
  const seen = new Set<string>();
  const profile: ColumnProfile[] = [];
  const drift: ColumnDrift[] = [];
  let targetColumn: ColumnData | undefined;
  table.columns.forEach((spec, c) => {
    const col = readColumn(table, c, sorter);
    const prof = profileColumn(col, options.profileQuantiles, options.profileTopLevels);
    profile.push(prof);
    checks.push(missingRateCheck(col, options), cellValidityCheck(col, options), constantColumnCheck(prof, options));
    if (seen.has(spec.name)) return; // a repeated name: profiled, but compared and targeted by its first column only
    seen.add(spec.name);
    const r = refIndex?.get(spec.name);
    const ref =
      reference && r !== undefined && reference.columns[r].type === spec.type
        ? readColumn(reference, r, sorter)
        : undefined;
    const expectation = expectationCheck(req, col, ref, options);
    if (expectation) checks.push(expectation);
    if (spec.name === target) {
      targetColumn = col;
      return;
    }
    if (!ref) return;
    const d = columnDrift(ref, col, options);
    if (d) {
      drift.push(d);
      checks.push(driftCheck(d, options));
    } else {
      const count = (x: ColumnData): number => (x.kind === 'number' ? x.sorted.length : x.rows - x.missing - x.invalid);
      checks.push(driftUnavailableCheck(spec.name, count(ref), count(col), options));
    }
  });
  let task: TargetTask | undefined;
  if (target !== undefined) {
    const col = targetColumn as ColumnData | undefined;
    task = req.task ?? (col?.kind === 'string' ? 'classification' : 'regression');
    checks.push(...targetChecks(target, col, task, options));
  }
  checks.push(duplicateRowsCheck(tableView(table), options));
  if (reference) checks.push(datasetDriftCheck(drift, options));
  if (req.holdout) checks.push(holdoutOverlapCheck(table, req.holdout, options));
  if (req.holdout && target !== undefined && task === 'classification') {
    const unseen = holdoutUnseenTargetCheck(table, req.holdout, target, options);
    if (unseen) checks.push(unseen);
  }
  return assembleReport(checks, profile, drift, table, options);
}

/**
 * The report from its parts: the finite-number guard applied (a non-finite number becomes null and adds a failed
 * `non_finite_result` check naming where it was), then the summary.
 */
export function assembleReport(
  checks: Check[],
  profile: ColumnProfile[],
  drift: ColumnDrift[],
  table: Table,
  options: ValidationOptions,
): ValidationReport {
  const guarded = replaceNonFinite({ checks, profile, drift });
  const out = guarded.value;
  if (guarded.found.length > 0) {
    out.checks.push(
      check(
        options.severities,
        'non_finite_result',
        undefined,
        { count: guarded.found.length, paths: guarded.found.slice(0, 20) },
        'every number finite',
        false,
      ),
    );
  }
  return { ...out, summary: summarize(out.checks, out.drift, table.rows, table.columns.length) };
}
