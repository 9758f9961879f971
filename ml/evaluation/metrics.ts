/**
 * The holdout metrics a validation pipeline reports for each kind of candidate, which direction is better for each
 * (the gate's default for `greaterIsBetter`: MLflow's MetricThreshold makes the caller say; Kiln knows its metrics),
 * and the range each can take, so that a threshold no model can meet (accuracy ≥ 2) is refused before a run.
 */
import type { Task } from '../training/spec';

/** What a pipeline evaluates: a trained MLP's task, or a clustering model (quality metrics of its holdout labelling). */
export type EvaluationTask = Task | 'clustering';

export interface MetricInfo {
  greaterIsBetter: boolean;
  description: string;
  /** Smallest value the metric can take (inclusive); absent when unbounded below. */
  min?: number;
  /** Largest value the metric can take (inclusive); absent when unbounded above. */
  max?: number;
}

const SHARE = { min: 0, max: 1 } as const;
const NON_NEGATIVE = { min: 0 } as const;

/** Every metric the evaluation computes, per task. */
export const TASK_METRICS: Readonly<Record<EvaluationTask, Readonly<Record<string, MetricInfo>>>> = {
  classification: {
    accuracy: {
      greaterIsBetter: true,
      description: 'share of rows whose most probable class is the true one',
      ...SHARE,
    },
    precision: { greaterIsBetter: true, description: 'macro-averaged precision', ...SHARE },
    recall: { greaterIsBetter: true, description: 'macro-averaged recall', ...SHARE },
    f1: { greaterIsBetter: true, description: 'macro-averaged F1', ...SHARE },
    logLoss: {
      greaterIsBetter: false,
      description:
        "mean negative log-probability of the true class, probabilities clipped to [1e-15, 1 − 1e-15] (scikit-learn's log_loss)",
      ...NON_NEGATIVE,
    },
  },
  regression: {
    mse: { greaterIsBetter: false, description: 'mean squared error, on the target scale', ...NON_NEGATIVE },
    rmse: { greaterIsBetter: false, description: 'root mean squared error', ...NON_NEGATIVE },
    mae: { greaterIsBetter: false, description: 'mean absolute error', ...NON_NEGATIVE },
    // 1 − SS_res / SS_tot: at most 1, unbounded below (a model worse than the mean).
    r2: { greaterIsBetter: true, description: 'coefficient of determination', max: 1 },
  },
  // ml/clustering/quality.ts, computed on the holdout rows as the model assigns them.
  clustering: {
    silhouette: {
      greaterIsBetter: true,
      description: "mean silhouette (scikit-learn's silhouette_score, euclidean)",
      min: -1,
      max: 1,
    },
    daviesBouldin: {
      greaterIsBetter: false,
      description: "Davies–Bouldin index (scikit-learn's davies_bouldin_score)",
      ...NON_NEGATIVE,
    },
    calinskiHarabasz: {
      greaterIsBetter: true,
      description: "Calinski–Harabasz index (scikit-learn's calinski_harabasz_score)",
      ...NON_NEGATIVE,
    },
    inertia: {
      greaterIsBetter: false,
      description: "Σ squared distance of each holdout row to its cluster's centre (the model's, else the mean)",
      ...NON_NEGATIVE,
    },
  },
};

/** Every metric name of any task (a gate naming none of these is a typo). */
export const ALL_METRICS: readonly string[] = [
  ...new Set(Object.values(TASK_METRICS).flatMap((metrics) => Object.keys(metrics))),
];

/** The metric's description for `task`, or undefined when the task does not produce it. */
export function metricInfo(task: EvaluationTask, metric: string): MetricInfo | undefined {
  return Object.prototype.hasOwnProperty.call(TASK_METRICS[task], metric) ? TASK_METRICS[task][metric] : undefined;
}

/** The metric's range in words: "[0, 1]", "≥ 0", "≤ 1", or "any finite number". */
export function metricRange(info: MetricInfo): string {
  if (info.min !== undefined && info.max !== undefined) return `[${info.min}, ${info.max}]`;
  if (info.min !== undefined) return `≥ ${info.min}`;
  if (info.max !== undefined) return `≤ ${info.max}`;
  return 'any finite number';
}

/** Whether `value` lies in the metric's range (bounds inclusive). */
export function inMetricRange(info: MetricInfo, value: number): boolean {
  return (
    Number.isFinite(value) &&
    (info.min === undefined || value >= info.min) &&
    (info.max === undefined || value <= info.max)
  );
}

/**
 * Why a threshold on `metric` can never be met or judged on this holdout, or undefined when it can. `holdout` says
 * what is known of the holdout's target: `classes` (classification: distinct target classes) or `constant`
 * (regression: every target value equal). Macro precision, recall and F1 need two classes present
 * (ml/training/train.ts classificationMetrics); R² needs a target that varies.
 */
export function metricUndefinedOn(
  task: EvaluationTask,
  metric: string,
  holdout: { rows: number; classes?: number; constant?: boolean },
): string | undefined {
  if (task === 'classification' && ['precision', 'recall', 'f1'].includes(metric) && (holdout.classes ?? 2) < 2)
    return `macro ${metric} needs two classes and the holdout's target has ${holdout.classes}`;
  if (task === 'regression' && metric === 'r2' && (holdout.constant === true || holdout.rows < 2))
    return 'R² needs a target that varies and the holdout target is constant';
  return undefined;
}
