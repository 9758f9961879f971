import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createDatasetRefActivities } from './dataset-ref';
import { withFailureClasses } from './failure-classes';
import { createClusteringPipelineActivities } from './pipeline-clustering';
import { createPipelineActivities } from './pipelines';
import { createPipelineStageEventActivities } from './pipeline-stage-events';
import type { ActivityDeps } from './deps';
import { createTrainingActivities } from './training';
import { withJobEvents } from './with-job-events';

export type { ActivityDeps } from './deps';

/**
 * Every activity a Kiln worker registers, built from its dependencies; a domain error fails a job at once, any other
 * error is retried (failure-classes.ts). Each first appends the job-level events its start reveals (the job runs, on
 * a fallback queue: with-job-events.ts).
 */
export function createActivities(deps: ActivityDeps) {
  return withFailureClasses(
    withJobEvents(deps.pool, {
      ...createClusteringActivities(deps),
      ...createTrainingActivities(deps),
      ...createBatchPredictActivities(deps),
      ...createPipelineActivities(deps),
      ...createClusteringPipelineActivities(deps),
      ...createDatasetRefActivities(deps),
      ...createPipelineStageEventActivities(deps),
    }),
  );
}
