import { ActivityCancellationType, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createClusteringActivities } from '../activities/clustering';
import type { ByDatasetRef } from '../common/dataset-ref';
import type { ClusteringJobInput, ClusteringJobResult, JobStage } from '../common/jobs';
import { activityOnQueue, runRouted } from './compute-route';
import { bindDataset } from './dataset-ref';
import { ACTIVITY_RETRY } from './retry-policies';

export const stageQuery = defineQuery<JobStage>('stage');

// Clustering can run for a long time on large inputs, so liveness is judged by heartbeats, not by a short
// start-to-close bound. Bad input is not retried (the activity marks it non-retryable); anything else is.
// A cancelled job waits for the computation to acknowledge, so CANCELED means the worker really stopped.
const CLUSTERING_ACTIVITY = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: ACTIVITY_RETRY,
} as const;
const { runClustering } = proxyActivities<ReturnType<typeof createClusteringActivities>>(CLUSTERING_ACTIVITY);

/** The same activity on another task queue (`any` routing). */
const clusteringOn = activityOnQueue<ReturnType<typeof createClusteringActivities>, 'runClustering'>(
  CLUSTERING_ACTIVITY,
  'runClustering',
);

const { registerClusteringModel } = proxyActivities<ReturnType<typeof createClusteringActivities>>({
  startToCloseTimeout: '1 minute',
  retry: ACTIVITY_RETRY,
});

/**
 * A clustering job: compute on a stored dataset, store the result as artifacts, optionally register a model version.
 * A dataset named by series is resolved first (workflows/dataset-ref.ts) and reported as the result's `dataset`.
 */
export async function clusteringWorkflow(
  request: ClusteringJobInput | ByDatasetRef<ClusteringJobInput>,
): Promise<ClusteringJobResult> {
  let stage: JobStage = 'clustering';
  setHandler(stageQuery, () => stage);
  const { job: input, dataset } = await bindDataset(request);
  const resolved = dataset ? { dataset } : {};

  // Jobs without a route (all before `any` routing existed) take the original path, so their histories replay.
  const { value: summary, fellBack } = input.route
    ? await runRouted(input.route, clusteringOn, input)
    : { value: await runClustering(input), fellBack: false };
  const extra = { ...(fellBack ? { fellBackToCpu: true } : {}), ...resolved };
  if (!input.register) {
    stage = 'completed';
    return { ...summary, ...extra };
  }
  stage = 'registering';
  const registered = await registerClusteringModel({
    tenantId: input.tenantId,
    modelName: input.register.name,
    summary,
    params: input.params,
  });
  stage = 'completed';
  return { ...summary, ...extra, registered };
}
