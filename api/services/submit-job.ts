import type { Pool } from 'pg';
import type { JobKind } from '../../common/jobs';
import type { ApiMetrics } from '../metrics';
import type { JobService } from './jobs';

/**
 * The shape of every `submit-<kind>.ts` service (clustering, training, batch predict; pipelines and schedules next):
 *
 *   export async function submit<Kind>(deps: SubmitDeps (& what else it reads), ...input: unknown): Promise<SubmittedJob>
 *
 * 1. validate: parse the raw input with the kind's zod schema, then check it against stored state (the dataset, the
 *    model version), throwing domain errors (common/errors.ts) that name the field;
 * 2. place: `placeCompute` (compute-placement.ts) picks the queues and the memory need;
 * 3. start: `deps.jobs.start<Kind>(jobId, input, taskQueue, memo)`, then count it in `deps.metrics.jobsStarted`;
 * 4. return the SubmittedJob; the route answers 202 with `acceptedBody(job)` (accepted.ts) and knows nothing else.
 *
 * Services take these narrow dependencies, never the routers' ApiDeps (which satisfies them), so api/context.ts can
 * depend on services without services depending back on it.
 */
export interface SubmitDeps {
  /** Datasets, models and the GPU inventory the placement reads. */
  pool: Pool;
  /** Seconds an `any` job waits for a GPU worker before its compute runs on the CPU pool (KILN_GPU_FALLBACK_SECONDS). */
  gpuFallbackSeconds: number;
  jobs: JobService;
  metrics: Pick<ApiMetrics, 'jobsStarted'>;
}

/** A job whose workflow has started: what its 202 answer says about it. */
export interface SubmittedJob {
  /** `<kind>-<uuid>`, also the workflow id. */
  jobId: string;
  kind: JobKind;
  datasetId: string;
  /** The workflow's task queue (always the CPU pool, which orchestrates). */
  taskQueue: string;
  /** Where the compute activity goes first (a GPU queue or the CPU pool). */
  computeQueue: string;
  /** Fields of this kind's 202 beyond the common ones, in order (batch predict: model, version). */
  details?: Record<string, unknown>;
}
