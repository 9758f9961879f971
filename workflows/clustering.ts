import {
  ActivityCancellationType,
  defineQuery,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
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

/**
 * The same compute as a local activity, for small jobs (ClusteringJobInput.runLocally): it runs in the worker that
 * holds the workflow task, and the workflow completes in that same task, so a small job costs one workflow task
 * instead of a task, an activity dispatch, its completion and a second task. Durable all the same: the result is
 * recorded in history (a marker) before the workflow completes; a worker killed mid-run leaves the workflow task to
 * time out and the next worker runs the compute again, retried under the same policy. No heartbeats (the input is
 * small: it takes milliseconds); the bound past which jobs keep the activity path is KILN_LOCAL_COMPUTE_MAX_CELLS.
 */
const { runClustering: runClusteringLocally } = proxyLocalActivities<ReturnType<typeof createClusteringActivities>>({
  // A hung attempt on a live worker is retried after this (a dead worker's task times out much sooner).
  startToCloseTimeout: '10 minutes',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: ACTIVITY_RETRY,
});

/**
 * Marks a run that took the local path. Runs recorded before it (or by a worker without it, for an input that asked
 * to run locally) have no marker and replay the activity path.
 */
export const LOCAL_COMPUTE_PATCH = 'clustering-local-compute';

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
 * A dataset named by series is resolved first (workflows/dataset-ref.ts) and reported as the result's `dataset`. A
 * small job on the CPU pool computes in a local activity (runClusteringLocally).
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
    : {
        value: await (input.runLocally && patched(LOCAL_COMPUTE_PATCH)
          ? runClusteringLocally(input)
          : runClustering(input)),
        fellBack: false,
      };
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
