import { Check, check } from './check';
import { chiSquareTest, ChiSquareResult } from './chi-square';
import { CategoricalColumn, ColumnData, levelCounts, NumericColumn } from './column-data';
import { ks2Samp, KsResult } from './ks-2samp';
import { ValidationOptions } from './options';
import { numericPsi, psiBand, PsiBand, psiFromCounts } from './psi';

/**
 * Drift of one feature between a reference table and the current one, over the values both have (missing,
 * non-finite and invalid cells left out on both sides).
 *
 * - numeric: PSI on the reference's quantile bins (options.psiBins) and the two-sample KS test (ks2Samp);
 * - categorical: PSI with one bin per level (the reference's levels, then each level the reference never saw) and
 *   Pearson's chi-square test of the current counts against the reference's shares. Levels unseen in the reference
 *   have an expected count of 0, which the test cannot take: their rows (`unseenRows`) are left out of the test —
 *   expected_i = (reference share of level i) × (current rows in reference levels), as scipy.stats.chisquare(current
 *   counts, expected) — and are reported by the `unseen_levels` check and counted by PSI instead. Levels with no
 *   reference rows are never expected categories.
 *
 * `drifted` follows options.driftPValue: PSI band at least 'moderate' and the test's p-value below driftPValue (or no
 * test possible, which happens only when every current row holds an unseen level).
 */
export interface ColumnDrift {
  column: string;
  type: 'number' | 'string';
  referenceCount: number;
  currentCount: number;
  psi: number;
  band: PsiBand;
  ks?: KsResult;
  chi2?: ChiSquareResult;
  /** Categorical only: current rows whose level the reference never saw (left out of the chi-square test). */
  unseenRows?: number;
  drifted: boolean;
}

function isDrifted(band: PsiBand, pValue: number | undefined, options: ValidationOptions): boolean {
  return band !== 'none' && (pValue === undefined || pValue < options.driftPValue);
}

/** Drift of a numeric column; undefined when either side has no finite value. */
export function numericDrift(
  reference: NumericColumn,
  current: NumericColumn,
  options: ValidationOptions,
): ColumnDrift | undefined {
  if (reference.sorted.length === 0 || current.sorted.length === 0) return undefined;
  const { psi } = numericPsi(reference.sorted, current.sorted, options.psiBins, options.psiEpsilon);
  const band = psiBand(psi, options.psiModerate, options.psiSignificant);
  const ks = ks2Samp(reference.sorted, current.sorted, options.ksExactMaxN);
  return {
    column: current.name,
    type: 'number',
    referenceCount: reference.sorted.length,
    currentCount: current.sorted.length,
    psi,
    band,
    ks,
    drifted: isDrifted(band, ks.pValue, options),
  };
}

/** Drift of a categorical column (levels matched by name); undefined when either side has no valid cell. */
export function categoricalDrift(
  reference: CategoricalColumn,
  current: CategoricalColumn,
  options: ValidationOptions,
): ColumnDrift | undefined {
  const refCounts = levelCounts(reference);
  const curCounts = levelCounts(current);
  let refTotal = 0;
  for (const c of refCounts.values()) refTotal += c;
  let curTotal = 0;
  for (const c of curCounts.values()) curTotal += c;
  if (refTotal === 0 || curTotal === 0) return undefined;

  const refVec: number[] = [];
  const curVec: number[] = [];
  for (const [level, count] of refCounts) {
    refVec.push(count);
    curVec.push(curCounts.get(level) ?? 0);
  }
  let unseenRows = 0;
  for (const [level, count] of curCounts) {
    if (refCounts.has(level)) continue;
    refVec.push(0);
    curVec.push(count);
    unseenRows += count;
  }
  const psi = psiFromCounts(refVec, curVec, options.psiEpsilon);
  const band = psiBand(psi, options.psiModerate, options.psiSignificant);

  const k = refCounts.size;
  const observed = curVec.slice(0, k);
  const seenRows = curTotal - unseenRows;
  const chi2 =
    seenRows > 0
      ? chiSquareTest(
          observed,
          refVec.slice(0, k).map((c) => (c / refTotal) * seenRows),
        )
      : undefined;
  return {
    column: current.name,
    type: 'string',
    referenceCount: refTotal,
    currentCount: curTotal,
    psi,
    band,
    ...(chi2 ? { chi2 } : {}),
    unseenRows,
    drifted: isDrifted(band, chi2?.pValue, options),
  };
}

/** Drift of two columns of the same kind. */
export function columnDrift(
  reference: ColumnData,
  current: ColumnData,
  options: ValidationOptions,
): ColumnDrift | undefined {
  if (reference.kind === 'number' && current.kind === 'number') return numericDrift(reference, current, options);
  if (reference.kind === 'string' && current.kind === 'string') return categoricalDrift(reference, current, options);
  return undefined;
}

/** The bound every `drift` check is held to. */
function driftExpected(options: ValidationOptions) {
  return {
    rule: 'drifted when psi >= psiModerate and the test p-value < driftPValue',
    psiModerate: options.psiModerate,
    driftPValue: options.driftPValue,
  };
}

/** The `drift` check of one feature. */
export function driftCheck(drift: ColumnDrift, options: ValidationOptions): Check {
  const pValue = drift.ks?.pValue ?? drift.chi2?.pValue;
  return check(
    options.severities,
    'drift',
    drift.column,
    { psi: drift.psi, band: drift.band, ...(pValue === undefined ? {} : { pValue }) },
    driftExpected(options),
    !drift.drifted,
  );
}

/** A failed `drift` check for a feature whose drift could not be measured (no usable values on one side). */
export function driftUnavailableCheck(
  column: string,
  referenceCount: number,
  currentCount: number,
  options: ValidationOptions,
): Check {
  return check(
    options.severities,
    'drift',
    column,
    { reason: 'no usable values to compare', referenceCount, currentCount },
    driftExpected(options),
    false,
  );
}

/** Share of compared features that drifted (0 when none was compared). */
export function driftShare(drift: readonly ColumnDrift[]): number {
  return drift.length === 0 ? 0 : drift.filter((d) => d.drifted).length / drift.length;
}

/** The `dataset_drift` check: fails when the drifted share reaches options.maxDriftShare. */
export function datasetDriftCheck(drift: readonly ColumnDrift[], options: ValidationOptions): Check {
  const share = driftShare(drift);
  return check(
    options.severities,
    'dataset_drift',
    undefined,
    { driftShare: share, drifted: drift.filter((d) => d.drifted).map((d) => d.column), features: drift.length },
    { maxDriftShare: options.maxDriftShare, rule: 'fails when driftShare >= maxDriftShare' },
    drift.length === 0 || share < options.maxDriftShare,
  );
}
