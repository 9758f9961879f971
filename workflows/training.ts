import { ActivityCancellationType, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createTrainingActivities } from '../activities/training';
import type { TrainingJobInput, TrainingJobResult } from '../common/jobs';
import { activityOnQueue, runRouted } from './compute-route';
import { ACTIVITY_RETRY } from './retry-policies';
import { stopRequestedQuery, stopSignal } from '../common/messages/training';

// Training runs for as long as it needs; liveness is the per-epoch heartbeat. A worker that dies is noticed when the
// heartbeat lapses, and the retry resumes from the checkpoint named in the last heartbeat.
const TRAIN_ACTIVITY = {
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: ACTIVITY_RETRY,
} as const;
const { trainModel } = proxyActivities<ReturnType<typeof createTrainingActivities>>(TRAIN_ACTIVITY);

/** The same activity on another task queue (`any` routing). */
const trainingOn = activityOnQueue<ReturnType<typeof createTrainingActivities>, 'trainModel'>(
  TRAIN_ACTIVITY,
  'trainModel',
);

const { registerTrainedModel } = proxyActivities<ReturnType<typeof createTrainingActivities>>({
  startToCloseTimeout: '1 minute',
  retry: ACTIVITY_RETRY,
});

/**
 * A durable training job: train with checkpoints (resumable after a crash), then register exactly one version (none
 * when a pipeline runs it with skipRegistration; the pipeline registers).
 */
export async function trainingWorkflow(input: TrainingJobInput): Promise<TrainingJobResult> {
  let stopRequested = false;
  setHandler(stopSignal, () => {
    stopRequested = true;
  });
  setHandler(stopRequestedQuery, () => stopRequested);

  // Jobs without a route (all before `any` routing existed) take the original path, so their histories replay.
  const { value: summary, fellBack } = input.route
    ? await runRouted(input.route, trainingOn, input)
    : { value: await trainModel(input), fellBack: false };
  // A pipeline's child: the pipeline registers the candidate once it has been judged.
  if (input.skipRegistration) return { ...summary, ...(fellBack ? { fellBackToCpu: true } : {}) };
  const registered = await registerTrainedModel({
    tenantId: input.tenantId,
    modelName: input.model.name,
    input,
    summary,
  });
  return { ...summary, ...(fellBack ? { fellBackToCpu: true } : {}), registered };
}
