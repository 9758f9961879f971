import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { createClusteringPipelineActivities } from '../activities/pipeline-clustering';
import type { createPipelineActivities } from '../activities/pipelines';
import { ACTIVITY_RETRY } from './retry-policies';

type PipelineActivities = ReturnType<typeof createPipelineActivities> &
  ReturnType<typeof createClusteringPipelineActivities>;

/**
 * Validation and evaluation read whole datasets and compute: liveness is the heartbeat (a dead worker is noticed within
 * 30 s and the retry starts over, keyed by the pipeline id), and a cancelled run waits for the computation to stop.
 */
export const { validateData, evaluateCandidate, evaluateClusteringCandidate } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: ACTIVITY_RETRY,
});

/** Registry writes: short, idempotent by the pipeline id, retried. */
export const { gateCandidate, registerCandidate, registerClusteringCandidate, promoteCandidate } =
  proxyActivities<PipelineActivities>({
    startToCloseTimeout: '1 minute',
    retry: ACTIVITY_RETRY,
  });
