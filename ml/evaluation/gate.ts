/**
 * The promotion gate: a candidate's holdout metrics against thresholds and against the current alias holder's
 * ("champion") metrics on the same holdout, with MLflow's MetricThreshold semantics (mlflow.models.MetricThreshold):
 *
 * - `threshold`: the candidate's value must be ≥ threshold (greaterIsBetter) or ≤ threshold (otherwise);
 * - `minAbsoluteChange`: candidate ≥ champion + change (greaterIsBetter) or ≤ champion − change;
 * - `minRelativeChange` (in [0, 1]): candidate ≥ champion × (1 + change) or ≤ champion × (1 − change); when the
 *   champion's value is 0 the candidate must be strictly better than 0, as MLflow does.
 *
 * Comparisons are inclusive, and a value within 1e-12 × max(1, |bound|) of its bound passes: MLflow compares in
 * Decimal, so 0.77 passes "≥ 0.7 × 1.1" there; binary floating point would miss it by one ulp.
 *
 * Without a champion, `noChampion` decides: 'absolute-only' evaluates only the `threshold` parts (a change criterion
 * is reported as not applicable), 'fail' fails every threshold that has a change criterion (and the gate with it).
 */

export interface ResolvedThreshold {
  metric: string;
  threshold?: number;
  minAbsoluteChange?: number;
  minRelativeChange?: number;
  greaterIsBetter: boolean;
}

export type NoChampionPolicy = 'absolute-only' | 'fail';

/** One criterion's outcome; `bound` is the value the candidate had to reach; null when it did not apply. */
export interface CriterionResult {
  bound: number | null;
  passed: boolean | null;
}

export interface ThresholdResult {
  metric: string;
  greaterIsBetter: boolean;
  /** The candidate's value; null when the metric is undefined on this holdout (the threshold then fails). */
  value: number | null;
  /** The champion's value; null without a champion or when the metric is undefined for the champion's predictions. */
  championValue: number | null;
  /** candidate − champion; null without a champion. */
  delta: number | null;
  /** (candidate − champion) / |champion|; null without a champion or when the champion's value is 0. */
  relativeDelta: number | null;
  threshold?: CriterionResult & { value: number };
  minAbsoluteChange?: CriterionResult & { value: number };
  minRelativeChange?: CriterionResult & { value: number };
  passed: boolean;
  /** Why it failed, in words, when it did. */
  reason?: string;
}

export interface GateResult {
  passed: boolean;
  hasChampion: boolean;
  noChampion: NoChampionPolicy;
  results: ThresholdResult[];
  /** Why the gate failed, when it failed for a reason no single threshold states (no champion under 'fail'). */
  reason?: string;
}

const TOLERANCE = 1e-12;

function reaches(value: number, bound: number, greaterIsBetter: boolean): boolean {
  const slack = TOLERANCE * Math.max(1, Math.abs(bound));
  return greaterIsBetter ? value >= bound - slack : value <= bound + slack;
}

function strictlyBetter(value: number, than: number, greaterIsBetter: boolean): boolean {
  return greaterIsBetter ? value > than : value < than;
}

/** Reason given for a threshold whose metric the holdout does not define (README: Validation pipelines). */
export const METRIC_UNDEFINED = 'metric undefined on this holdout';

/**
 * Evaluates every threshold (none is skipped when an earlier one fails). A metric absent from `candidate` is undefined
 * on this holdout (macro F1 with one class present, R² of a constant target: ml/evaluation/evaluate.ts leaves such
 * metrics out): that threshold fails with reason METRIC_UNDEFINED, a verdict like any other. A metric absent from
 * `champion` leaves its change criteria without a champion value: they follow `noChampion` as when there is no
 * champion at all.
 */
export function evaluateGate(
  thresholds: readonly ResolvedThreshold[],
  candidate: Readonly<Record<string, number>>,
  champion: Readonly<Record<string, number>> | undefined,
  noChampion: NoChampionPolicy,
): GateResult {
  const results = thresholds.map((t): ThresholdResult => {
    const own = (record: Readonly<Record<string, number>> | undefined): number | undefined => {
      const v = record && Object.prototype.hasOwnProperty.call(record, t.metric) ? record[t.metric] : undefined;
      return typeof v === 'number' ? v : undefined;
    };
    const value = own(candidate);
    const championValue = own(champion);
    const gib = t.greaterIsBetter;
    if (value === undefined) {
      return {
        metric: t.metric,
        greaterIsBetter: gib,
        value: null,
        championValue: championValue ?? null,
        delta: null,
        relativeDelta: null,
        passed: false,
        reason: METRIC_UNDEFINED,
      };
    }
    const failures: string[] = [];
    const out: ThresholdResult = {
      metric: t.metric,
      greaterIsBetter: gib,
      value,
      championValue: championValue ?? null,
      delta: championValue !== undefined ? value - championValue : null,
      relativeDelta:
        championValue !== undefined && championValue !== 0 ? (value - championValue) / Math.abs(championValue) : null,
      passed: true,
    };
    if (t.threshold !== undefined) {
      const passed = reaches(value, t.threshold, gib);
      out.threshold = { value: t.threshold, bound: t.threshold, passed };
      if (!passed) failures.push(`${t.metric} ${value} is not ${gib ? '≥' : '≤'} threshold ${t.threshold}`);
    }
    for (const kind of ['minAbsoluteChange', 'minRelativeChange'] as const) {
      const change = t[kind];
      if (change === undefined) continue;
      if (championValue === undefined) {
        const passed = noChampion === 'absolute-only' ? null : false;
        out[kind] = { value: change, bound: null, passed };
        if (passed === false)
          failures.push(
            champion
              ? `${kind} needs the champion's ${t.metric}, which is undefined on this holdout (noChampion: fail)`
              : `${kind} needs a champion and there is none (noChampion: fail)`,
          );
        continue;
      }
      if (kind === 'minRelativeChange' && championValue === 0) {
        const passed = strictlyBetter(value, 0, gib);
        out[kind] = { value: change, bound: 0, passed };
        if (!passed) failures.push(`${t.metric} ${value} is not strictly ${gib ? 'above' : 'below'} the champion's 0`);
        continue;
      }
      const sign = gib ? 1 : -1;
      const bound = kind === 'minAbsoluteChange' ? championValue + sign * change : championValue * (1 + sign * change);
      const passed = reaches(value, bound, gib);
      out[kind] = { value: change, bound, passed };
      if (!passed)
        failures.push(
          `${t.metric} ${value} is not ${gib ? '≥' : '≤'} ${bound} (champion ${championValue} ${gib ? '+' : '−'} ${kind === 'minAbsoluteChange' ? change : `${change * 100}%`})`,
        );
    }
    if (failures.length > 0) {
      out.passed = false;
      out.reason = failures.join('; ');
    }
    return out;
  });
  // A run with no champion and noChampion 'fail' fails even when its thresholds carry only absolute parts.
  const policyFails = champion === undefined && noChampion === 'fail';
  return {
    passed: !policyFails && results.every((r) => r.passed),
    hasChampion: champion !== undefined,
    noChampion,
    results,
    ...(policyFails ? { reason: 'there is no champion to compare with and noChampion is "fail"' } : {}),
  };
}
