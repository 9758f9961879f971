import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { createBatchPredictActivities } from '../activities/batch-predict';
import type { ByDatasetRef } from '../common/dataset-ref';
import type { BatchPredictJobInput, BatchPredictResult } from '../common/jobs';
import { activityOnQueue, runRouted } from './compute-route';
import { bindDataset } from './dataset-ref';
import { ACTIVITY_RETRY } from './retry-policies';

const PREDICT_ACTIVITY = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: ACTIVITY_RETRY,
} as const;
const { predictDataset } = proxyActivities<ReturnType<typeof createBatchPredictActivities>>(PREDICT_ACTIVITY);

/** The same activity on another task queue (`any` routing). */
const predictingOn = activityOnQueue<ReturnType<typeof createBatchPredictActivities>, 'predictDataset'>(
  PREDICT_ACTIVITY,
  'predictDataset',
);

/**
 * Predicts every row of a dataset with a registered model version and stores the predictions as an artifact. A
 * dataset named by series is resolved first (workflows/dataset-ref.ts) and reported as the result's `dataset`.
 */
export async function batchPredictWorkflow(
  request: BatchPredictJobInput | ByDatasetRef<BatchPredictJobInput>,
): Promise<BatchPredictResult> {
  const { job: input, dataset } = await bindDataset(request);
  const resolved = dataset ? { dataset } : {};
  // Jobs without a route (all before `any` routing existed) take the original path, so their histories replay.
  if (!input.route) return dataset ? { ...(await predictDataset(input)), ...resolved } : predictDataset(input);
  const { value, fellBack } = await runRouted(input.route, predictingOn, input);
  return fellBack ? { ...value, fellBackToCpu: true, ...resolved } : { ...value, ...resolved };
}
