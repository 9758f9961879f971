import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createDatasetRefActivities } from './dataset-ref';
import { createPipelineActivities } from './pipelines';
import type { ActivityDeps } from './deps';
import { createTrainingActivities } from './training';

export type { ActivityDeps } from './deps';

/** Every activity a Kiln worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createClusteringActivities(deps),
    ...createTrainingActivities(deps),
    ...createBatchPredictActivities(deps),
    ...createPipelineActivities(deps),
    ...createDatasetRefActivities(deps),
  };
}
