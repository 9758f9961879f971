/**
 * One validation check's outcome. Every check that applies is reported, passed or not, so a failing check never hides
 * the next one; `severity` says how much a failure matters (errors block, warnings inform).
 */
export type Severity = 'error' | 'warn';

/** The stable names of the checks (a client may branch on them; severities are keyed by them). */
export type CheckName =
  | 'column_present'
  | 'column_type'
  | 'unexpected_column'
  | 'row_count'
  | 'missing_rate'
  | 'non_finite'
  | 'invalid_level'
  | 'constant_column'
  | 'duplicate_rows'
  | 'numeric_range'
  | 'unseen_levels'
  | 'target_present'
  | 'target_missing'
  | 'target_classes'
  | 'target_min_class_share'
  | 'drift'
  | 'dataset_drift'
  | 'holdout_overlap'
  | 'holdout_unseen_target'
  | 'non_finite_result';

/**
 * `observed` is what the data shows and `expected` the bound it was held to, both JSON values (numbers finite);
 * `column` is set for per-column checks.
 */
export interface Check {
  name: CheckName;
  column?: string;
  severity: Severity;
  observed: unknown;
  expected: unknown;
  passed: boolean;
}

/** Builds a check whose severity comes from the resolved options. */
export function check(
  severities: Readonly<Record<CheckName, Severity>>,
  name: CheckName,
  column: string | undefined,
  observed: unknown,
  expected: unknown,
  passed: boolean,
): Check {
  return column === undefined
    ? { name, severity: severities[name], observed, expected, passed }
    : { name, column, severity: severities[name], observed, expected, passed };
}
