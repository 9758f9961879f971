import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { createPipelineActivities } from '../activities/pipelines';

type PipelineActivities = ReturnType<typeof createPipelineActivities>;

const RETRY = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
} as const;

/**
 * Validation and evaluation read whole datasets and compute: liveness is the heartbeat (a dead worker is noticed within
 * 30 s and the retry starts over, keyed by the pipeline id), and a cancelled run waits for the computation to stop.
 */
export const { validateData, evaluateCandidate } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: RETRY,
});

/** Registry writes: short, idempotent by the pipeline id, retried. */
export const { gateCandidate, registerCandidate, promoteCandidate } = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: RETRY,
});
