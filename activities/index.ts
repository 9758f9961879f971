import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createDatasetRefActivities } from './dataset-ref';
import { withFailureClasses } from './failure-classes';
import { createClusteringPipelineActivities } from './pipeline-clustering';
import { createPipelineActivities } from './pipelines';
import type { ActivityDeps } from './deps';
import { createTrainingActivities } from './training';

export type { ActivityDeps } from './deps';

/**
 * Every activity a Kiln worker registers, built from its dependencies; a domain error fails a job at once, any other
 * error is retried (failure-classes.ts).
 */
export function createActivities(deps: ActivityDeps) {
  return withFailureClasses({
    ...createClusteringActivities(deps),
    ...createTrainingActivities(deps),
    ...createBatchPredictActivities(deps),
    ...createPipelineActivities(deps),
    ...createClusteringPipelineActivities(deps),
    ...createDatasetRefActivities(deps),
  });
}
