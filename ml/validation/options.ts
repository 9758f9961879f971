import { CheckName, Severity } from './check';

/**
 * Every threshold of data validation, with the value used when a request does not override it. A request passes a
 * `Partial<ValidationOptions>`; `resolveOptions` fills in the rest and refuses values outside their documented range.
 */
export interface ValidationOptions {
  /** `row_count` fails below this many rows. Default 1 (an empty table is an error). */
  minRows: number;
  /** `row_count` fails above this many rows. Default Number.MAX_SAFE_INTEGER (no upper bound, but a finite number). */
  maxRows: number;
  /** `missing_rate` fails when a column's share of missing cells (NaN) is above this. Default 0.05. */
  maxMissingRate: number;
  /** `duplicate_rows` fails when (rows − distinct rows) / rows is above this. Default 0.05. */
  maxDuplicateRate: number;
  /**
   * Margin added on each side of a reference-derived range: the expected range of a numeric column is
   * [min − m·(max − min), max + m·(max − min)] of the reference's finite values; when the reference is constant,
   * (max − min) is replaced by max(1, |value|). Default 0.1 (10% of the range).
   */
  rangeMargin: number;
  /** `numeric_range` fails when the share of a column's finite values outside its expected range is above this. Default 0. */
  maxOutOfRangeRate: number;
  /** `unseen_levels` fails when the share of a column's rows holding a level unknown to the reference is above this. Default 0. */
  maxUnseenLevelRate: number;
  /** `target_classes` fails with fewer classes than this (classification). Default 2. */
  minClasses: number;
  /** `target_classes` fails with more classes than this (classification). Default 1000. */
  maxClasses: number;
  /** `target_min_class_share` fails when the rarest class holds a smaller share of the labelled rows. Default 0.01. */
  minClassShare: number;
  /**
   * Number of PSI bins for numeric columns: the bin edges are the reference's quantiles at k/bins, k = 1..bins−1
   * (numpy's default 'linear' interpolation), duplicates removed; bins are right-closed, (e[k−1], e[k]]. Default 10.
   */
  psiBins: number;
  /**
   * Floor applied to every bin proportion before PSI = Σ (c − r)·ln(c / r), so that an empty bin contributes a large
   * but finite term instead of ±Infinity. Proportions are clamped, p ← max(p, ε), not renormalised. Default 1e-4.
   */
  psiEpsilon: number;
  /** PSI at or above this is the 'moderate' band (below: 'none'). Default 0.1. */
  psiModerate: number;
  /** PSI above this is the 'significant' band. Default 0.25. */
  psiSignificant: number;
  /**
   * A feature has drifted when its PSI band is at least 'moderate' AND its test (KS for numeric, chi-square for
   * categorical) rejects "same distribution" at this p-value, or when no test could be run. Requiring both keeps
   * large samples (where any shift is significant) and small samples (where PSI is noisy) from raising false alarms.
   * Default 0.05.
   */
  driftPValue: number;
  /**
   * Largest sample size for which the KS p-value is exact, as scipy's method='auto' (which uses 10000): above it
   * the asymptotic distribution is used. The exact path costs up to O(n_ref·n_cur) (about a second per strongly
   * drifted column at 10000 × 10000); a lower value trades agreement with scipy for speed, 0 is always asymptotic.
   * Default 10000.
   */
  ksExactMaxN: number;
  /** `dataset_drift` fails when the share of drifted features is at or above this (Evidently's convention). Default 0.5. */
  maxDriftShare: number;
  /** `holdout_overlap` fails when the share of holdout rows also present in the table is above this. Default 0. */
  maxOverlapRate: number;
  /** Quantiles reported in each numeric profile (numpy 'linear' interpolation). Default [0.05, 0.25, 0.5, 0.75, 0.95]. */
  profileQuantiles: number[];
  /** Most frequent levels listed in a categorical profile (every level is counted). Default 20. */
  profileTopLevels: number;
  /** Most unseen levels named in an `unseen_levels` check (all are counted). Default 20. */
  reportedLevels: number;
  /** Severity of each check when it fails; a request may override any of them. Defaults: see DEFAULT_SEVERITIES. */
  severities: Record<CheckName, Severity>;
}

/**
 * Severity of a failing check unless the request says otherwise: a broken contract (schema, row count, non-finite
 * cells, target, leakage, holdout classes the training data lacks, dataset drift) is an error; heuristics derived from a reference or a threshold of taste
 * (missing rate, constant column, duplicates, ranges, unseen levels, one feature's drift) are warnings.
 */
export const DEFAULT_SEVERITIES: Readonly<Record<CheckName, Severity>> = Object.freeze({
  column_present: 'error',
  column_type: 'error',
  unexpected_column: 'warn',
  row_count: 'error',
  missing_rate: 'warn',
  non_finite: 'error',
  invalid_level: 'error',
  constant_column: 'warn',
  duplicate_rows: 'warn',
  numeric_range: 'warn',
  unseen_levels: 'warn',
  target_present: 'error',
  target_missing: 'error',
  target_classes: 'error',
  target_min_class_share: 'warn',
  drift: 'warn',
  dataset_drift: 'error',
  holdout_overlap: 'error',
  holdout_unseen_target: 'error',
  non_finite_result: 'error',
});

/** The defaults of every field of ValidationOptions (documented on the interface). */
export const VALIDATION_DEFAULTS: Readonly<ValidationOptions> = Object.freeze({
  minRows: 1,
  maxRows: Number.MAX_SAFE_INTEGER,
  maxMissingRate: 0.05,
  maxDuplicateRate: 0.05,
  rangeMargin: 0.1,
  maxOutOfRangeRate: 0,
  maxUnseenLevelRate: 0,
  minClasses: 2,
  maxClasses: 1000,
  minClassShare: 0.01,
  psiBins: 10,
  psiEpsilon: 1e-4,
  psiModerate: 0.1,
  psiSignificant: 0.25,
  driftPValue: 0.05,
  ksExactMaxN: 10000,
  maxDriftShare: 0.5,
  maxOverlapRate: 0,
  profileQuantiles: [0.05, 0.25, 0.5, 0.75, 0.95],
  profileTopLevels: 20,
  reportedLevels: 20,
  severities: { ...DEFAULT_SEVERITIES },
});

/** What a request may override: any field, and any subset of the severities. */
export type ValidationOverrides = Partial<Omit<ValidationOptions, 'severities'>> & {
  severities?: Partial<Record<CheckName, Severity>>;
};

const RATES = [
  'maxMissingRate',
  'maxDuplicateRate',
  'maxOutOfRangeRate',
  'maxUnseenLevelRate',
  'minClassShare',
  'driftPValue',
  'maxDriftShare',
  'maxOverlapRate',
] as const;
const COUNTS = [
  'minRows',
  'maxRows',
  'minClasses',
  'maxClasses',
  'profileTopLevels',
  'reportedLevels',
  'ksExactMaxN',
] as const;

/**
 * The defaults with `overrides` applied. Throws RangeError on an unknown option name, and naming the field when an
 * override is out of range: rates in [0, 1], counts non-negative safe integers (minRows ≤ maxRows, minClasses ≤
 * maxClasses), psiBins an integer in 2..1000, psiEpsilon in (0, 0.1], 0 ≤ psiModerate ≤ psiSignificant,
 * rangeMargin ≥ 0, quantiles in [0, 1], severities 'error' or 'warn' for known check names.
 */
export function resolveOptions(overrides: ValidationOverrides = {}): ValidationOptions {
  const severities = { ...DEFAULT_SEVERITIES };
  for (const [name, severity] of Object.entries(overrides.severities ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_SEVERITIES, name)) {
      throw new RangeError(`severities: unknown check '${name}'`);
    }
    if (severity !== 'error' && severity !== 'warn') {
      throw new RangeError(`severities.${name} must be 'error' or 'warn', got ${String(severity)}`);
    }
    severities[name as CheckName] = severity;
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(VALIDATION_DEFAULTS, key))
      throw new RangeError(`unknown option '${key}'`);
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const o: ValidationOptions = {
    ...VALIDATION_DEFAULTS,
    ...defined,
    profileQuantiles: [...(overrides.profileQuantiles ?? VALIDATION_DEFAULTS.profileQuantiles)],
    severities,
  };
  const fail = (field: string, why: string, value: unknown): never => {
    throw new RangeError(`${field} ${why}, got ${String(value)}`);
  };
  for (const f of RATES) if (!(o[f] >= 0 && o[f] <= 1)) fail(f, 'must be in [0, 1]', o[f]);
  for (const f of COUNTS) if (!Number.isSafeInteger(o[f]) || o[f] < 0) fail(f, 'must be a non-negative integer', o[f]);
  if (o.minRows > o.maxRows) fail('minRows', `must not exceed maxRows (${o.maxRows})`, o.minRows);
  if (o.minClasses > o.maxClasses) fail('minClasses', `must not exceed maxClasses (${o.maxClasses})`, o.minClasses);
  if (!Number.isInteger(o.psiBins) || o.psiBins < 2 || o.psiBins > 1000)
    fail('psiBins', 'must be in 2..1000', o.psiBins);
  if (!(o.psiEpsilon > 0 && o.psiEpsilon <= 0.1)) fail('psiEpsilon', 'must be in (0, 0.1]', o.psiEpsilon);
  if (!(o.psiModerate >= 0 && Number.isFinite(o.psiModerate))) fail('psiModerate', 'must be ≥ 0', o.psiModerate);
  if (!(o.psiSignificant >= o.psiModerate && Number.isFinite(o.psiSignificant))) {
    fail('psiSignificant', `must be finite and ≥ psiModerate (${o.psiModerate})`, o.psiSignificant);
  }
  if (!(o.rangeMargin >= 0 && Number.isFinite(o.rangeMargin)))
    fail('rangeMargin', 'must be finite and ≥ 0', o.rangeMargin);
  if (!Array.isArray(o.profileQuantiles) || o.profileQuantiles.some((q) => !(q >= 0 && q <= 1))) {
    fail('profileQuantiles', 'must be numbers in [0, 1]', o.profileQuantiles);
  }
  return o;
}
