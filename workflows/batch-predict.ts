import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { createBatchPredictActivities } from '../activities/batch-predict';
import type { BatchPredictJobInput, BatchPredictResult } from '../common/jobs';

const { predictDataset } = proxyActivities<ReturnType<typeof createBatchPredictActivities>>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/** Predicts every row of a dataset with a registered model version and stores the predictions as an artifact. */
export async function batchPredictWorkflow(input: BatchPredictJobInput): Promise<BatchPredictResult> {
  return predictDataset(input);
}
