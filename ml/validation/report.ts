import { Check } from './check';
import { ColumnDrift, driftShare } from './drift';
import { ColumnProfile } from './profile';

/**
 * Counts over the checks: `errors` and `warnings` are failed checks of each severity, `passed` the checks that
 * passed, `ok` is true when no error-severity check failed. `driftShare` is the share of compared features that
 * drifted (0 without a reference), `driftedFeatures` their names.
 */
export interface ValidationSummary {
  ok: boolean;
  errors: number;
  warnings: number;
  passed: number;
  total: number;
  rows: number;
  columns: number;
  driftShare: number;
  driftedFeatures: string[];
  comparedFeatures: number;
}

/**
 * The result of validating a table: every check (passed or not), the summary, the profile of each column of the
 * validated table (in table order) and, with a reference, the drift of each compared feature (table order, the
 * target left out). Every number in it is finite.
 */
export interface ValidationReport {
  checks: Check[];
  summary: ValidationSummary;
  profile: ColumnProfile[];
  drift: ColumnDrift[];
}

/** The summary of a list of checks and drift results for a table of `rows` × `columns`. */
export function summarize(
  checks: readonly Check[],
  drift: readonly ColumnDrift[],
  rows: number,
  columns: number,
): ValidationSummary {
  let errors = 0;
  let warnings = 0;
  let passed = 0;
  for (const c of checks) {
    if (c.passed) passed++;
    else if (c.severity === 'error') errors++;
    else warnings++;
  }
  return {
    ok: errors === 0,
    errors,
    warnings,
    passed,
    total: checks.length,
    rows,
    columns,
    driftShare: driftShare(drift),
    driftedFeatures: drift.filter((d) => d.drifted).map((d) => d.column),
    comparedFeatures: drift.length,
  };
}
