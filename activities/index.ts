import { Pool } from 'pg';
import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createTrainingActivities } from './training';

/** Every activity a Kiln worker registers, built from its dependencies. */
export function createActivities(deps: { pool: Pool }) {
  return {
    ...createClusteringActivities(deps),
    ...createTrainingActivities(deps),
    ...createBatchPredictActivities(deps),
  };
}
