/**
 * The holdout metrics a validation pipeline reports for each training task, and which direction is better for each:
 * the gate's default for `greaterIsBetter` (MLflow's MetricThreshold makes the caller say; Kiln knows its metrics).
 */
import type { Task } from '../training/spec';

export interface MetricInfo {
  greaterIsBetter: boolean;
  description: string;
}

/** Every metric the evaluation computes, per task. */
export const TASK_METRICS: Readonly<Record<Task, Readonly<Record<string, MetricInfo>>>> = {
  classification: {
    accuracy: { greaterIsBetter: true, description: 'share of rows whose most probable class is the true one' },
    precision: { greaterIsBetter: true, description: 'macro-averaged precision' },
    recall: { greaterIsBetter: true, description: 'macro-averaged recall' },
    f1: { greaterIsBetter: true, description: 'macro-averaged F1' },
    logLoss: {
      greaterIsBetter: false,
      description:
        "mean negative log-probability of the true class, probabilities clipped to [1e-15, 1 − 1e-15] (scikit-learn's log_loss)",
    },
  },
  regression: {
    mse: { greaterIsBetter: false, description: 'mean squared error, on the target scale' },
    rmse: { greaterIsBetter: false, description: 'root mean squared error' },
    mae: { greaterIsBetter: false, description: 'mean absolute error' },
    r2: { greaterIsBetter: true, description: 'coefficient of determination' },
  },
};

/** Every metric name of any task (a gate naming none of these is a typo). */
export const ALL_METRICS: readonly string[] = [
  ...new Set(Object.values(TASK_METRICS).flatMap((metrics) => Object.keys(metrics))),
];

/** The metric's description for `task`, or undefined when the task does not produce it. */
export function metricInfo(task: Task, metric: string): MetricInfo | undefined {
  return Object.prototype.hasOwnProperty.call(TASK_METRICS[task], metric) ? TASK_METRICS[task][metric] : undefined;
}
