import { Pool } from 'pg';
import { Placement } from '../common/jobs';
import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createTrainingActivities } from './training';

/** Every activity a Kiln worker registers, built from its dependencies. */
export interface ActivityDeps {
  pool: Pool;
  /** The worker's pool and device, recorded in every result as where the job ran. */
  placement: { pool: string; device?: Placement['device'] };
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createClusteringActivities(deps),
    ...createTrainingActivities(deps),
    ...createBatchPredictActivities(deps),
  };
}
