import type { Pool } from 'pg';
import type { Placement } from '../common/jobs';
import type { DeviceAdmission } from '../gpu/admission';

/** What every activity factory needs from its worker. */
export interface ActivityDeps {
  pool: Pool;
  /** The worker's pool and device, recorded in every result as where the job ran. */
  placement: { pool: string; device?: Placement['device'] };
  /** A GPU worker's admission by device memory; compute activities hold their need while they run. */
  admission?: DeviceAdmission;
  /**
   * Test hook (KILN_TEST_EVALUATION_DELAY_MS): a pipeline's evaluation and a clustering job's compute wait this long
   * before they compute, so that a crash test can kill the worker inside them.
   */
  evaluationDelayMs?: number;
}
