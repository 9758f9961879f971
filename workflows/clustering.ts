import { ActivityCancellationType, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createClusteringActivities } from '../activities/clustering';
import type { ClusteringJobInput, ClusteringJobResult, JobStage } from '../common/jobs';

export const stageQuery = defineQuery<JobStage>('stage');

// Clustering can run for a long time on large inputs, so liveness is judged by heartbeats, not by a short
// start-to-close bound. Bad input is not retried (the activity marks it non-retryable); anything else is.
// A cancelled job waits for the computation to acknowledge, so CANCELED means the worker really stopped.
const { runClustering } = proxyActivities<ReturnType<typeof createClusteringActivities>>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

const { registerClusteringModel } = proxyActivities<ReturnType<typeof createClusteringActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** A clustering job: compute on a stored dataset, store the result as artifacts, optionally register a model version. */
export async function clusteringWorkflow(input: ClusteringJobInput): Promise<ClusteringJobResult> {
  let stage: JobStage = 'clustering';
  setHandler(stageQuery, () => stage);

  const summary = await runClustering(input);
  if (!input.register) {
    stage = 'completed';
    return summary;
  }
  stage = 'registering';
  const registered = await registerClusteringModel({
    tenantId: input.tenantId,
    modelName: input.register.name,
    summary,
    params: input.params,
  });
  stage = 'completed';
  return { ...summary, registered };
}
