import { ActivityCancellationType, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createTrainingActivities } from '../activities/training';
import type { ByDatasetRef } from '../common/dataset-ref';
import type { TrainingJobInput, TrainingJobResult } from '../common/jobs';
import { activityOnQueue, runRouted } from './compute-route';
import { bindDataset } from './dataset-ref';
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
 * when a pipeline runs it with skipRegistration; the pipeline registers). A dataset named by series is resolved first
 * (workflows/dataset-ref.ts) and reported as the result's `dataset`.
 */
export async function trainingWorkflow(
  request: TrainingJobInput | ByDatasetRef<TrainingJobInput>,
): Promise<TrainingJobResult> {
  let stopRequested = false;
  setHandler(stopSignal, () => {
    stopRequested = true;
  });
  setHandler(stopRequestedQuery, () => stopRequested);
  const { job: input, dataset } = await bindDataset(request);

  // Jobs without a route (all before `any` routing existed) take the original path, so their histories replay.
  const { value: summary, fellBack } = input.route
    ? await runRouted(input.route, trainingOn, input)
    : { value: await trainModel(input), fellBack: false };
  // A pipeline's child: the pipeline registers the candidate once it has been judged.
  const extra = { ...(fellBack ? { fellBackToCpu: true } : {}), ...(dataset ? { dataset } : {}) };
  if (input.skipRegistration) return { ...summary, ...extra };
  const registered = await registerTrainedModel({
    tenantId: input.tenantId,
    modelName: input.model.name,
    input,
    summary,
  });
  return { ...summary, ...extra, registered };
}
