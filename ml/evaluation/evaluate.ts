/**
 * Evaluation of a trained MLP artifact (ml/training/predict.ts) on a holdout table: the metrics of ml/evaluation/metrics
 * for its task, computed on the target's original scale. Classification reuses ml/training's classificationMetrics
 * (accuracy, macro precision/recall/F1, confusion matrix) and adds log loss; regression reuses regressionMetrics (MSE,
 * MAE, R²) and adds RMSE = √MSE.
 */
import { Table } from '../../datasets/table';
import { extractFeatures } from '../training/preprocess';
import { loadTrainedModel, predictTrained } from '../training/predict';
import { classificationMetrics, regressionMetrics } from '../training/train';
import type { Task } from '../training/spec';

/** The holdout cannot evaluate the model (a missing or text column), or a metric came out non-finite. */
export class EvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationError';
  }
}

export interface ModelEvaluation {
  task: Task;
  rows: number;
  /** Metric name → finite value (TASK_METRICS[task]; one undefined on this holdout is absent). */
  metrics: Record<string, number>;
  /**
   * Classification: confusionMatrix[true][predicted] over `classes` (holdout classes the model lacks appended), and
   * `unseenClasses`: those appended classes with their holdout rows (classes absent from the training data, which the
   * model can never predict; every such row counts as an error), empty when there are none.
   */
  details: Record<string, unknown>;
}

/**
 * The metrics that are defined on this holdout: one that is undefined for it (precision with one class present, R² of
 * a constant target; ml/training/metrics.ts) is absent, and a gate on it fails naming the metric.
 */
function definedMetrics(metrics: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined));
}

/** scikit-learn's log_loss clipping. */
const LOG_LOSS_EPS = 1e-15;

function columnOf(table: Table, name: string, who: string, purpose: string) {
  const index = table.columns.findIndex((c) => c.name === name);
  if (index < 0) throw new EvaluationError(`${who}: the holdout has no column ${JSON.stringify(name)} (${purpose})`);
  return { index, spec: table.columns[index] };
}

/**
 * Evaluates the model in `artifact` on every row of `holdout`. `who` names the model in errors ("candidate",
 * "champion version 3"). Throws EvaluationError when a feature or the target is missing or of the wrong type, when the
 * model predicts another target or task than `expected` says (a champion that changed since the pipeline started),
 * or when a metric is not finite; releases every tensor it creates.
 */
export async function evaluateTrainedModel(
  artifact: Buffer,
  holdout: Table,
  who: string,
  expected: { target?: string; task?: Task } = {},
): Promise<ModelEvaluation> {
  const trained = await loadTrainedModel(artifact);
  try {
    const p = trained.preprocessor;
    if (expected.target !== undefined && p.target !== expected.target)
      throw new EvaluationError(
        `${who} predicts ${JSON.stringify(p.target)}; the candidate predicts ${JSON.stringify(expected.target)}`,
      );
    if (expected.task !== undefined && p.task !== expected.task)
      throw new EvaluationError(`${who} is a ${p.task} model; the candidate is a ${expected.task} model`);
    for (const feature of p.features) {
      const { spec } = columnOf(holdout, feature, who, 'a feature of the model');
      if (spec.type !== 'number')
        throw new EvaluationError(
          `${who}: holdout column ${JSON.stringify(feature)} holds text; the model needs numbers`,
        );
    }
    const target = columnOf(holdout, p.target, who, 'the target');
    const all = Int32Array.from({ length: holdout.rows }, (_, i) => i);
    const x = extractFeatures(holdout, p.features, all);
    const prediction = await predictTrained(trained, x);
    const c = holdout.columns.length;
    const cell = (r: number): number => holdout.values[r * c + target.index];

    let evaluation: ModelEvaluation;
    if (prediction.task === 'classification') {
      const classes = prediction.classes.slice();
      const index = new Map(classes.map((name, i) => [name, i]));
      const labels = new Int32Array(holdout.rows);
      for (let r = 0; r < holdout.rows; r++) {
        const v = cell(r);
        const name = target.spec.type === 'string' ? (target.spec.levels?.[v] ?? String(v)) : String(v);
        let k = index.get(name);
        // A class the model never saw is a row it cannot get right: an extra class with probability 0.
        if (k === undefined) {
          k = classes.length;
          classes.push(name);
          index.set(name, k);
        }
        labels[r] = k;
      }
      const k = classes.length;
      const width = prediction.classes.length;
      const unseenRows = new Array<number>(k - width).fill(0);
      for (let r = 0; r < holdout.rows; r++) if (labels[r] >= width) unseenRows[labels[r] - width]++;
      const probabilities = new Float64Array(holdout.rows * k);
      let logLoss = 0;
      for (let r = 0; r < holdout.rows; r++) {
        const row = prediction.probabilities[r];
        for (let j = 0; j < width; j++) probabilities[r * k + j] = row[j];
        const pTrue = labels[r] < width ? row[labels[r]] : 0;
        logLoss -= Math.log(Math.min(Math.max(pTrue, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS));
      }
      const m = classificationMetrics(labels, probabilities, k, classes, 'validation');
      evaluation = {
        task: 'classification',
        rows: holdout.rows,
        metrics: definedMetrics({
          accuracy: m.accuracy,
          precision: m.precision,
          recall: m.recall,
          f1: m.f1,
          logLoss: holdout.rows > 0 ? logLoss / holdout.rows : NaN,
        }),
        details: {
          classes: m.classes,
          confusionMatrix: m.confusionMatrix,
          unseenClasses: unseenRows.map((rows, i) => ({ class: classes[width + i], rows })),
        },
      };
    } else {
      if (target.spec.type !== 'number')
        throw new EvaluationError(
          `${who}: holdout column ${JSON.stringify(p.target)} holds text; regression needs numbers`,
        );
      const actual = Array.from({ length: holdout.rows }, (_, r) => cell(r));
      const m = regressionMetrics(actual, prediction.values, 'validation');
      evaluation = {
        task: 'regression',
        rows: holdout.rows,
        metrics: definedMetrics({ mse: m.mse, rmse: Math.sqrt(m.mse), mae: m.mae, r2: m.r2 }),
        details: {},
      };
    }
    for (const [name, value] of Object.entries(evaluation.metrics)) {
      if (!Number.isFinite(value))
        throw new EvaluationError(
          `${who}: metric ${name} is ${value} on the holdout (${holdout.rows} rows), not a finite number`,
        );
    }
    return evaluation;
  } finally {
    trained.dispose();
  }
}
