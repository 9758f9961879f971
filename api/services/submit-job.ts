import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { JobKind } from '../../common/jobs';
import type { ApiMetrics } from '../metrics';
import type { JobAttributes, JobService, KilnWorkflowType } from './jobs';

/**
 * The shape of every `submit-<kind>.ts` service (clustering, training, batch predict, pipelines), in two halves so a
 * schedule can validate a request and build its workflow start without starting it:
 *
 *   export async function prepare<Kind>(deps: SubmitDeps (& what else it reads), ...input: unknown): Promise<PreparedJob>
 *   export async function submit<Kind>(deps, ...input) { return startPreparedJob(deps, await prepare<Kind>(deps, ...input)) }
 *
 * prepare:
 * 1. validate: parse the raw input with the kind's zod schema, then check it against stored state (the dataset, the
 *    model version), throwing domain errors (common/errors.ts) that name the field;
 * 2. place: `placeCompute` (compute-placement.ts) picks the queues and the memory need;
 * 3. build the workflow's input, memo and search attributes (a PreparedJob), touching nothing.
 * start (startPreparedJob): a fresh job id, `deps.jobs.startJob`, counted in `deps.metrics.jobsStarted`; the route
 * answers 202 with `acceptedBody(job)` (accepted.ts) and knows nothing else. A schedule's action starts the same
 * PreparedJob (services/schedules.ts).
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

/** A validated request turned into everything its workflow start needs; nothing has started yet. */
export interface PreparedJob {
  kind: JobKind;
  /** Job ids are `<idPrefix>-<uuid>` (`clustering`, `pipeline-full`, ...). */
  idPrefix: string;
  workflowType: KilnWorkflowType;
  /** The workflow's one argument (a `<Kind>JobInput`, or its by-series form). */
  input: unknown;
  /** The workflow's task queue (always the CPU pool, which orchestrates). */
  taskQueue: string;
  /** Where the compute activity goes first (a GPU queue or the CPU pool); absent for kinds without routed compute. */
  computeQueue?: string;
  memo: Record<string, unknown>;
  attributes: JobAttributes;
  /** Temporal priority key (pipelines' `priority`). */
  priorityKey?: number;
  /** The dataset the request was checked against (for a series reference: the version current now). */
  datasetId: string;
  /** Fields of this kind's 202 beyond the common ones, in order (batch predict: model, version). */
  details?: Record<string, unknown>;
  /** Labels of `kiln_jobs_started_total`. */
  metric: { kind: string; algorithm: string };
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

/** Starts a prepared job under a fresh `<idPrefix>-<uuid>` id and counts it. */
export async function startPreparedJob(
  deps: Pick<SubmitDeps, 'jobs' | 'metrics'>,
  prepared: PreparedJob,
): Promise<SubmittedJob> {
  const jobId = `${prepared.idPrefix}-${randomUUID()}`;
  await deps.jobs.startJob(jobId, prepared);
  deps.metrics.jobsStarted.inc(prepared.metric);
  return {
    jobId,
    kind: prepared.kind,
    datasetId: prepared.datasetId,
    taskQueue: prepared.taskQueue,
    computeQueue: prepared.computeQueue ?? prepared.taskQueue,
    ...(prepared.details ? { details: prepared.details } : {}),
  };
}
