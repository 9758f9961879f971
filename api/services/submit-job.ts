import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { tenantIdPrefix } from '../../common/job-tenant';
import type { JobKind } from '../../common/jobs';
import type { ApiMetrics } from '../metrics';
import type { IdempotentStart } from './idempotency';
import type { JobAttributes, JobService, JobStatus, KilnWorkflowType, StartOutcome } from './jobs';
import { ServerTiming, timed } from './server-timing';
import { reserveTenantJobSlot } from './tenant-job-limit';
import { DEFAULT_MAX_RUNNING_JOBS_PER_TENANT } from '../../common/config';

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
 * 3. build the workflow's input, memo and search attributes (a PreparedJob), touching no workflow.
 * start (startPreparedJob): the job id (`jobIdFor`: from the Idempotency-Key when there is one, else fresh),
 * `deps.jobs.startJob` (refused past the workflow start bound; with a key, finds the key's job instead of starting
 * another), counted in `deps.metrics.jobsStarted` unless it was a replay; the route answers 202 (200 for a replay)
 * with `acceptedBody(job)` (accepted.ts) and knows nothing else. A schedule's action starts the same PreparedJob
 * (services/schedules.ts).
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
  /**
   * Jobs a tenant may run at once when its `tenants.max_running_jobs` is NULL (KILN_MAX_RUNNING_JOBS_PER_TENANT;
   * absent: DEFAULT_MAX_RUNNING_JOBS_PER_TENANT).
   */
  maxRunningJobsPerTenant?: number;
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

/** What a submission may carry besides its body. */
export interface SubmitOptions {
  /** From the request's Idempotency-Key header (idempotency.ts): the job id comes from it. */
  idempotency?: IdempotentStart;
  /** Records the submission's phases (`dataset`, `prepare`, `limit`, `start`) for the answer's Server-Timing header. */
  timing?: ServerTiming;
  /**
   * The principal id of the caller (`key:<keyId>`, `sso:<issuer>|<sub>`), recorded as the memo's `startedBy`: the audit
   * of who started the job, and what a pipeline decision compares with (an approver never decides their own run).
   */
  startedBy?: string;
}

/**
 * `<prefix>-<uuid>` for the default tenant, `<tenant>.<prefix>-<uuid>` for any other (common/job-tenant.ts): the key's
 * UUID for an idempotent start, else a random one.
 */
export function jobIdFor(tenantId: string, prefix: string, options: SubmitOptions | undefined): string {
  return `${tenantIdPrefix(tenantId)}${prefix}-${options?.idempotency?.jobUuid ?? randomUUID()}`;
}

/**
 * What a submission tells its route about a start: for a replay (the key's job already existed), that it is one, the
 * job's current status, and the compute queue the first request chose (its memo's `resources.computeQueue`).
 */
export function startFacts(
  outcome: StartOutcome,
  computeQueue: string,
): Pick<SubmittedJob, 'replayed' | 'status' | 'computeQueue'> {
  if (outcome.created) return { computeQueue };
  const resources = outcome.memo.resources as { computeQueue?: unknown } | undefined;
  return {
    replayed: true,
    status: outcome.status,
    computeQueue: typeof resources?.computeQueue === 'string' ? resources.computeQueue : computeQueue,
  };
}

/** A job whose workflow has started: what its 202 answer says about it. */
export interface SubmittedJob {
  /** `<kind>-<uuid>` (`<tenant>.<kind>-<uuid>` outside the default tenant), also the workflow id. */
  jobId: string;
  kind: JobKind;
  datasetId: string;
  /** The workflow's task queue (always the CPU pool, which orchestrates). */
  taskQueue: string;
  /** Where the compute activity goes first (a GPU queue or the CPU pool). */
  computeQueue: string;
  /** Fields of this kind's 202 beyond the common ones, in order (batch predict: model, version). */
  details?: Record<string, unknown>;
  /** True when an earlier request with the same Idempotency-Key started the job (the route answers 200). */
  replayed?: boolean;
  /** The job's status when it is a replay (a new job is RUNNING). */
  status?: JobStatus;
}

/**
 * Starts a prepared job and counts it: under `<idPrefix>-<uuid>`, the UUID derived from the Idempotency-Key when
 * `options.idempotency` is given (a replay finds the key's job, is not counted, and says so), else a fresh one.
 * TooManyRequestsError (429 `tenant_job_limit`) when the job's tenant runs as many jobs as it may
 * (tenant-job-limit.ts: a place is reserved before the start and given back when the start throws or replays; a replay
 * at the cap passes), PayloadTooLargeError past the workflow start bound and ConflictError for a
 * key reused with another request (JobService.startJob).
 */
export async function startPreparedJob(
  deps: Pick<SubmitDeps, 'pool' | 'jobs' | 'metrics' | 'maxRunningJobsPerTenant'>,
  prepared: PreparedJob,
  options?: SubmitOptions,
): Promise<SubmittedJob> {
  const jobId = jobIdFor(prepared.attributes.tenantId, prepared.idPrefix, options);
  const slot = await timed(options?.timing, 'limit', () =>
    reserveTenantJobSlot(
      {
        pool: deps.pool,
        jobs: deps.jobs,
        maxRunningJobsPerTenant: deps.maxRunningJobsPerTenant ?? DEFAULT_MAX_RUNNING_JOBS_PER_TENANT,
      },
      prepared.attributes.tenantId,
      jobId,
      options?.idempotency !== undefined,
    ),
  );
  const startedBy = options?.startedBy;
  const job = startedBy !== undefined ? { ...prepared, memo: { ...prepared.memo, startedBy } } : prepared;
  let outcome: StartOutcome;
  try {
    outcome = await timed(options?.timing, 'start', () => deps.jobs.startJob(jobId, job, options?.idempotency));
  } catch (err) {
    slot.release();
    throw err;
  }
  // A replay started nothing: its place under the cap goes back.
  if (outcome.created) deps.metrics.jobsStarted.inc(prepared.metric);
  else slot.release();
  return {
    jobId,
    kind: prepared.kind,
    datasetId: prepared.datasetId,
    taskQueue: prepared.taskQueue,
    ...startFacts(outcome, prepared.computeQueue ?? prepared.taskQueue),
    ...(prepared.details ? { details: prepared.details } : {}),
  };
}
