import { ActivityCancellationType, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createTrainingActivities } from '../activities/training';
import type { TrainingJobInput, TrainingJobResult } from '../common/jobs';
import { stopRequestedQuery, stopSignal } from './training-messages';

// Training runs for as long as it needs; liveness is the per-epoch heartbeat. A worker that dies is noticed when the
// heartbeat lapses, and the retry resumes from the checkpoint named in the last heartbeat.
const { trainModel } = proxyActivities<ReturnType<typeof createTrainingActivities>>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const { registerTrainedModel } = proxyActivities<ReturnType<typeof createTrainingActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** A durable training job: train with checkpoints (resumable after a crash), then register exactly one version. */
export async function trainingWorkflow(input: TrainingJobInput): Promise<TrainingJobResult> {
  let stopRequested = false;
  setHandler(stopSignal, () => {
    stopRequested = true;
  });
  setHandler(stopRequestedQuery, () => stopRequested);

  const summary = await trainModel(input);
  const registered = await registerTrainedModel({ tenantId: input.tenantId, modelName: input.model.name, input, summary });
  return { ...summary, registered };
}
