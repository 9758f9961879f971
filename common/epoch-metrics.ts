/**
 * Names of the per-epoch training series (ml/training/train.ts records them each epoch; the event stream and
 * GET /api/v1/jobs/:id/metrics serve them): `loss` and `valLoss` (the objective on the training and validation
 * rows), and one metric on each side by task: accuracy for classification, mean absolute error for regression.
 */
export const EPOCH_SERIES_KEYS = ['loss', 'valLoss', 'accuracy', 'valAccuracy', 'mae', 'valMae'] as const;

export type EpochSeriesKey = (typeof EPOCH_SERIES_KEYS)[number];

/** The per-epoch metric a task records on the training rows and on the validation rows. */
export function epochMetricNames(task: 'classification' | 'regression'): {
  train: EpochSeriesKey;
  val: EpochSeriesKey;
} {
  return task === 'classification' ? { train: 'accuracy', val: 'valAccuracy' } : { train: 'mae', val: 'valMae' };
}
