import { Pool } from 'pg';
import { Placement } from '../common/jobs';
import type { DeviceAdmission } from '../gpu/admission';
import { createBatchPredictActivities } from './batch-predict';
import { createClusteringActivities } from './clustering';
import { createTrainingActivities } from './training';

/** Every activity a Kiln worker registers, built from its dependencies. */
export interface ActivityDeps {
  pool: Pool;
  /** The worker's pool and device, recorded in every result as where the job ran. */
  placement: { pool: string; device?: Placement['device'] };
  /** A GPU worker's admission by device memory; compute activities hold their need while they run. */
  admission?: DeviceAdmission;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createClusteringActivities(deps),
    ...createTrainingActivities(deps),
    ...createBatchPredictActivities(deps),
  };
}
