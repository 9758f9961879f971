import { randomUUID } from 'node:crypto';
import { Client, WorkflowExecutionStatusName, WorkflowFailedError } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import {
  defaultPayloadConverter,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConflictError, NotFoundError, PayloadTooLargeError } from '../../common/errors';
import { tenantOfJobId } from '../../common/job-tenant';
import { DEFAULT_TENANT } from '../../common/tenant';
import type { SearchAttributePair } from '@temporalio/common';
import type { JobKind, TrainingAttempt } from '../../common/jobs';
import type { JobEndStatus } from '../../common/job-events';
import { ROUTED_ACTIVITIES } from '../../activities/routed';
import { isGpuQueue } from '../../gpu/gpu-class';
import {
  KilnAlgorithm,
  KilnDatasetId,
  KilnKind,
  KilnModelName,
  KilnStage,
  KilnTenant,
  TemporalScheduledById,
  TemporalScheduledStartTime,
} from '../../common/search-attributes';
import type * as workflows from '../../workflows';
import { stopSignal } from '../../common/messages/training';
import { formatBytes } from '../../datasets/limits';
import { ServerTiming, timed } from './server-timing';
import { completeAttempts, withAllAttempts } from './training-attempts';
import { PRIORITY_KEYS } from './job-priority';
import type { JobEnding } from './job-event-hub';

/** The status names clients see (Temporal's, with its British CANCELLED spelled as our API documents it). */
export type JobStatus =
  | 'RUNNING'
  | 'AWAITING_APPROVAL'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELED'
  | 'TERMINATED'
  | 'TIMED_OUT'
  | 'CONTINUED_AS_NEW'
  | 'UNKNOWN';

export const JOB_STATUSES: JobStatus[] = [
  'RUNNING',
  'AWAITING_APPROVAL',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'TERMINATED',
  'TIMED_OUT',
];
export const JOB_KINDS: JobKind[] = ['clustering', 'training', 'batch-predict', 'pipeline'];

/** A running pipeline waiting for a reviewer reports AWAITING_APPROVAL (its KilnStage) instead of RUNNING. */
function statusOf(name: WorkflowExecutionStatusName, attributes: TypedSearchAttributes): JobStatus {
  const status = toJobStatus(name);
  return status === 'RUNNING' && attributes.get(KilnStage) === 'awaiting-approval' ? 'AWAITING_APPROVAL' : status;
}

// Job ids are workflow ids Kiln made: `<kind>-<uuid>`, and for a schedule's runs `<kind>-<uuid>-<scheduled time>`
// (Temporal appends the scheduled time in RFC 3339, UTC, to the action's id); a tenant other than the default one
// prefixes them with `<tenant>.` (common/job-tenant.ts). Anything else cannot be a job.
const JOB_ID =
  /^(?:[a-z][a-z0-9-]{1,31}\.)?[a-z]+(?:-[a-z]+)*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$/;

export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}

function toJobStatus(name: WorkflowExecutionStatusName): JobStatus {
  return name === 'CANCELLED' ? 'CANCELED' : (name as JobStatus);
}

/** Temporal's close statuses as an `end` event spells them; running (and continued-as-new) ones have none. */
const END_STATUS: Partial<Record<WorkflowExecutionStatusName, JobEndStatus>> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

const VISIBILITY_STATUS: Record<string, string> = {
  RUNNING: 'Running',
  AWAITING_APPROVAL: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
};

export interface JobView {
  jobId: string;
  runId: string;
  kind: string | undefined;
  status: JobStatus;
  /** Runs a schedule started: the schedule and the run's scheduled (logical) time, ISO. */
  scheduleId?: string;
  scheduledTime?: string;
  taskQueue: string;
  startTime: string;
  closeTime?: string;
  memo?: Record<string, unknown>;
  progress?: Record<string, unknown>;
  result?: unknown;
  error?: { message: string; type?: string };
}

/**
 * The most a workflow start may carry: its input and memo serialized as Temporal's JSON payloads (UTF-8 bytes). Temporal
 * writes both into the job's history for good, warns past 512 KiB and refuses a gRPC message past 4 MiB; Kiln's
 * documented limits keep every start far below this bound (test/faults/workflow-start-size.test.ts walks them), and
 * inputs that grow with the data (k-means `init` centroids) travel as artifacts.
 */
export const MAX_WORKFLOW_START_BYTES = 256 * 1024;

/** Serialized bytes of a value as Temporal's JSON payload converter writes it. */
function payloadBytes(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * Refuses a workflow start whose input and memo together serialize to more than MAX_WORKFLOW_START_BYTES: a
 * PayloadTooLargeError (413) saying how large it is, instead of a gRPC error after the SDK's retries.
 */
export function checkWorkflowStartSize(kind: JobKind, input: unknown, memo: Record<string, unknown>): void {
  const bytes = payloadBytes(input) + payloadBytes(memo);
  if (bytes > MAX_WORKFLOW_START_BYTES) {
    throw new PayloadTooLargeError(
      `the ${kind} job's workflow input and memo take ${formatBytes(bytes)}, more than the ${formatBytes(MAX_WORKFLOW_START_BYTES)} ` +
        'a workflow start may carry (Temporal keeps it in the job history); send fewer or shorter column names, or ' +
        'report the request: inputs that grow with the data must travel as artifacts',
      'body',
    );
  }
}

/**
 * An idempotent start: the job id is derived from the caller's Idempotency-Key (services/idempotency.ts), and
 * `requestSha256` identifies the request it was first used with.
 */
export interface StartIdempotency {
  requestSha256: string;
}

/** What a start did: started the workflow (`created`), or found the one an earlier request with the same key started. */
export interface StartOutcome {
  created: boolean;
  /** The job's status now (RUNNING for a new one). */
  status: JobStatus;
  /** The job's memo as stored (the first request's, for a replay). */
  memo: Record<string, unknown>;
}

/** Every workflow Kiln exports, by name (a job's workflow type). */
export type KilnWorkflowType = keyof typeof workflows;

/** Kiln's search attributes of a job (common/search-attributes.ts). */
export interface JobAttributes {
  kind: JobKind;
  tenantId: string;
  /** Absent when the job names its dataset by series: the run sets it once resolved. */
  datasetId?: string;
  algorithm?: string;
  modelName?: string;
  stage?: string;
}

/** What starting a job takes (submit-job.ts PreparedJob has it all). */
export interface StartableJob {
  workflowType: KilnWorkflowType;
  input: unknown;
  taskQueue: string;
  memo: Record<string, unknown>;
  attributes: JobAttributes;
  /** Temporal priority key 1 (first) to 5 (last), job-priority.ts; absent = `normal` (3). */
  priorityKey?: number;
}

export class JobService {
  constructor(private readonly client: Client) {}

  /** Runs `fn`'s Temporal calls under one deadline `ms` from now, for calls meant to wait longer than the default. */
  withWait<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + ms, fn);
  }

  /**
   * What every start of a job shares, for client.workflow.start and a schedule's action alike: the workflow type, its
   * task queue, the input, the memo, Kiln's search attributes and the priority. The priority's fairness key is the
   * job's tenant, so on a busy queue tenants' jobs take turns within one priority key instead of one tenant's burst
   * running first (the dev server's matcher needs launcher/temporal-dynamic-config.ts to honour it). The workflow's
   * activities and child workflows inherit the priority (Temporal's default when they set none, which Kiln's don't).
   */
  startOptions(job: StartableJob) {
    const a = job.attributes;
    return {
      workflowType: job.workflowType,
      taskQueue: job.taskQueue,
      args: [job.input],
      memo: job.memo,
      priority: { priorityKey: job.priorityKey ?? PRIORITY_KEYS.normal, fairnessKey: a.tenantId },
      typedSearchAttributes: [
        ...(a.stage ? [{ key: KilnStage, value: a.stage }] : []),
        { key: KilnKind, value: a.kind },
        // A job naming its dataset by series sets KilnDatasetId once it has resolved it.
        ...(a.datasetId ? [{ key: KilnDatasetId, value: a.datasetId }] : []),
        { key: KilnTenant, value: a.tenantId },
        ...(a.algorithm ? [{ key: KilnAlgorithm, value: a.algorithm }] : []),
        ...(a.modelName ? [{ key: KilnModelName, value: a.modelName }] : []),
      ] as SearchAttributePair[],
    };
  }

  /**
   * Starts a job: its id as workflow id, then startOptions; refused (413) when input and memo exceed
   * MAX_WORKFLOW_START_BYTES. With `idempotency`, a job with this id that runs or is still retained is not started
   * again (Temporal's USE_EXISTING conflict and REJECT_DUPLICATE reuse policies): the outcome says so, and a key first
   * used with another request (a different `requestSha256`) is a 409.
   */
  async startJob(jobId: string, job: StartableJob, idempotency?: StartIdempotency): Promise<StartOutcome> {
    // A random id per request tells the request that started the job from the ones that found it.
    const requestId = randomUUID();
    const memo = idempotency
      ? { ...job.memo, idempotency: { requestSha256: idempotency.requestSha256, requestId } }
      : job.memo;
    checkWorkflowStartSize(job.attributes.kind, job.input, memo);
    const { workflowType, ...options } = this.startOptions({ ...job, memo });
    try {
      await this.client.workflow.start(workflowType, {
        workflowId: jobId,
        ...options,
        ...(idempotency ? { workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'REJECT_DUPLICATE' } : {}),
      });
    } catch (err) {
      // A closed job with this id (REJECT_DUPLICATE): the key's job, looked at below.
      if (!(idempotency && err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    if (!idempotency) return { created: true, status: 'RUNNING', memo };
    const description = await this.client.workflow.getHandle(jobId).describe();
    const stored = (description.memo?.idempotency ?? {}) as { requestSha256?: string; requestId?: string };
    if (stored.requestSha256 !== idempotency.requestSha256) {
      throw new ConflictError(
        `Idempotency-Key was first used with a different request (job ${jobId}); use a new key for a new request`,
        'idempotency_key_reused',
        'Idempotency-Key',
      );
    }
    return {
      created: stored.requestId === requestId,
      status: statusOf(description.status.name, description.typedSearchAttributes),
      memo: description.memo ?? {},
    };
  }

  /** Asks a running training job of `tenantId` to finish after its current epoch (a signal the workflow records). */
  async stop(tenantId: string, jobId: string): Promise<void> {
    const { handle, description } = await this.describeOr404(tenantId, jobId);
    const status = toJobStatus(description.status.name);
    if (status !== 'RUNNING') throw new ConflictError(`job ${jobId} already ended ${status}`, 'job_not_running');
    if (description.typedSearchAttributes.get(KilnKind) !== 'training') {
      throw new ConflictError(
        `job ${jobId} is not a training job; only training stops after an epoch (use cancel)`,
        'not_stoppable',
      );
    }
    await handle.signal(stopSignal);
  }

  /**
   * The job's handle, for `tenantId`: an id that cannot be a job, or whose prefix names another tenant, is a 404 before
   * any call to Temporal (the same answer as an unknown job: another tenant's jobs do not exist for the caller).
   */
  private handle(tenantId: string, jobId: string) {
    if (!isJobId(jobId) || tenantOfJobId(jobId) !== tenantId) throw new NotFoundError('job', jobId, 'jobId');
    return this.client.workflow.getHandle(jobId);
  }

  /**
   * The job's handle and description; 404 (field `jobId`) for an id that is not a job, does not exist, or is not
   * `tenantId`'s: by its prefix, and again by its KilnTenant attribute (absent on jobs from before tenants: the
   * default tenant's).
   */
  async describeOr404(tenantId: string, jobId: string) {
    const handle = this.handle(tenantId, jobId);
    let description: Awaited<ReturnType<typeof handle.describe>>;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError('job', jobId, 'jobId');
      throw err;
    }
    if ((description.typedSearchAttributes.get(KilnTenant) ?? DEFAULT_TENANT) !== tenantId)
      throw new NotFoundError('job', jobId, 'jobId');
    return { handle, description };
  }

  /** A job of `tenantId`: status, progress (the running activity's last heartbeat), and the summary or error once closed. */
  async describe(tenantId: string, jobId: string): Promise<JobView> {
    const { handle, description } = await this.describeOr404(tenantId, jobId);
    const status = statusOf(description.status.name, description.typedSearchAttributes);
    const view: JobView = {
      jobId,
      runId: description.runId,
      kind: description.typedSearchAttributes.get(KilnKind),
      status,
      ...scheduledBy(description.typedSearchAttributes),
      taskQueue: description.taskQueue,
      startTime: description.startTime.toISOString(),
      ...(description.closeTime ? { closeTime: description.closeTime.toISOString() } : {}),
      memo: description.memo,
    };
    if (status === 'RUNNING' || status === 'AWAITING_APPROVAL')
      view.progress = progressOf(description.raw, description.taskQueue, gpuAsked(description.memo));
    if (status === 'COMPLETED') {
      const result = await handle.result();
      // Training summaries list their attempts: every one of them (withAllAttempts); other results pass as they are.
      view.result =
        result !== null && typeof result === 'object'
          ? withAllAttempts(result as { attempts?: TrainingAttempt[] })
          : result;
    }
    if (status === 'FAILED' || status === 'TIMED_OUT' || status === 'TERMINATED' || status === 'CANCELED') {
      view.error = await failureOf(handle);
    }
    return view;
  }

  /**
   * The workflow's result once completed, waiting up to waitMs for it; NotFoundError for no such job of `tenantId`, ConflictError while
   * it runs or when it did not complete. With a wait, a running job's long poll for the result follows the
   * description (which says whether the job exists, its kind and its status), and its value is the answer: one
   * round trip after the workflow closes, not a second description and a second read of its history. `timing`
   * records `describe` and then `wait` (the rest of the long poll, or the read of a completed job's result).
   */
  async completedResult(
    tenantId: string,
    jobId: string,
    waitMs: number,
    timing?: ServerTiming,
  ): Promise<{ kind: string | undefined; result: unknown }> {
    const handle = this.handle(tenantId, jobId);
    // Settled, never rejected: a failed long poll means the job ended otherwise, or is still running.
    const settle = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    // The description first: a long poll started alongside it saved a round trip, but when the description failed
    // (no such job, Temporal unreachable) that poll went on retrying unread until its deadline (grpc retries ignore
    // an abort between attempts), outliving the request and, in tests, the connection.
    const { description } = await timed(timing, 'describe', () => this.describeOr404(tenantId, jobId));
    const kind = description.typedSearchAttributes.get(KilnKind);
    let status = toJobStatus(description.status.name);
    if (status === 'COMPLETED' || (status === 'RUNNING' && waitMs > 0)) {
      // A running job's long poll ends at the wait's deadline whatever happens: a value means the job completed.
      const poll = () => (status === 'RUNNING' ? this.withWait(waitMs, () => handle.result()) : handle.result());
      const settled = await timed(timing, 'wait', () => settle(poll()));
      if (settled.ok) return { kind, result: settled.value };
      if (status === 'COMPLETED') throw settled.err;
      // Failed, cancelled, terminated, timed out, or still running at the deadline: the status says which.
      status = toJobStatus((await handle.describe()).status.name);
    }
    if (status === 'RUNNING')
      throw new ConflictError(`job ${jobId} is still running; poll GET /api/v1/jobs/${jobId}`, 'job_running');
    throw new ConflictError(`job ${jobId} ended ${status} and has no result`, 'job_not_completed');
  }

  /**
   * How a job ended, as its terminal event says it (common/job-events.ts JobEnd), with Temporal's close time, or
   * undefined while it runs (or waits for approval). NotFoundError (404, field `jobId`) for an id that is not a job.
   * For the job event hub, which serves a job's events only after its route checked the caller's tenant against the
   * id's: the id's own tenant is checked against the job's KilnTenant here.
   */
  async ending(jobId: string): Promise<JobEnding | undefined> {
    const { handle, description } = await this.describeOr404(tenantOfJobId(jobId), jobId);
    const status = END_STATUS[description.status.name];
    if (!status) return undefined;
    const closedAt = description.closeTime ? { closedAt: description.closeTime } : {};
    if (status === 'completed' || status === 'cancelled') return { end: { status }, ...closedAt };
    return { end: { status, error: await failureOf(handle) }, ...closedAt };
  }

  /**
   * Waits until the job closes, at most `ms` (a long poll on its history, as GET /jobs/:id/result?wait= does) or
   * until `signal` aborts; resolves either way, and the caller asks ending() which it was.
   */
  async waitForClose(jobId: string, ms: number, signal: AbortSignal): Promise<void> {
    this.handle(tenantOfJobId(jobId), jobId); // 404 for an id that cannot be a job
    const deadline = Date.now() + ms;
    const request = {
      namespace: this.client.options.namespace,
      execution: { workflowId: jobId },
      skipArchival: true,
      waitNewEvent: true,
      historyEventFilterType: temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
      nextPageToken: undefined as Uint8Array | undefined,
    };
    // The long poll wakes on every new history event (empty, with a page token) and is asked again. The connection
    // adds an abort listener to the call's signal for each call and never removes it (handle.result() under one
    // signal gathered one per history event: MaxListenersExceededWarning), so each call gets a signal of its own,
    // tied to the caller's for as long as it runs.
    while (!signal.aborted && Date.now() < deadline) {
      const call = new AbortController();
      const stop = () => call.abort();
      signal.addEventListener('abort', stop, { once: true });
      try {
        const res = await this.client.withDeadline(deadline, () =>
          this.client.withAbortSignal(call.signal, () =>
            this.client.workflowService.getWorkflowExecutionHistory(request),
          ),
        );
        if ((res.history?.events?.length ?? 0) > 0 || !res.nextPageToken?.length) return;
        request.nextPageToken = res.nextPageToken;
      } catch {
        return; // the deadline, the abort, or Temporal away: the caller asks ending() which it was
      } finally {
        signal.removeEventListener('abort', stop);
      }
    }
  }

  /** Cancels a running job of `tenantId` (404 for another tenant's, 409 for one that ended). */
  async cancel(tenantId: string, jobId: string): Promise<JobStatus> {
    const { handle, description } = await this.describeOr404(tenantId, jobId);
    const status = toJobStatus(description.status.name);
    if (status !== 'RUNNING') throw new ConflictError(`job ${jobId} already ended ${status}`, 'job_not_running');
    await handle.cancel();
    return status;
  }

  /** A job's status now (AWAITING_APPROVAL for a pipeline waiting for a reviewer); undefined when it does not exist. */
  async statusOf(jobId: string): Promise<JobStatus | undefined> {
    try {
      const description = await this.client.workflow.getHandle(jobId).describe();
      return statusOf(description.status.name, description.typedSearchAttributes);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Recent jobs from Temporal's visibility store (eventually consistent: a job started a moment ago may lag), newest
   * first; `scheduleId` keeps the runs of one schedule.
   */
  async list(filter: { kind?: string; status?: JobStatus; scheduleId?: string; tenantId: string; limit: number }) {
    const clauses = [`${KilnTenant.name} = '${filter.tenantId}'`];
    // Values come from validated enums and patterns (a schedule id has no quote), never from free text.
    if (filter.kind) clauses.push(`${KilnKind.name} = '${filter.kind}'`);
    if (filter.scheduleId) clauses.push(`${TemporalScheduledById.name} = '${filter.scheduleId}'`);
    if (filter.status === 'AWAITING_APPROVAL') clauses.push(`${KilnStage.name} = 'awaiting-approval'`);
    if (filter.status) clauses.push(`ExecutionStatus = '${VISIBILITY_STATUS[filter.status]}'`);
    // A RUNNING filter leaves out the runs that wait for approval (they list as AWAITING_APPROVAL).
    if (filter.status === 'RUNNING')
      clauses.push(`(${KilnStage.name} IS NULL OR ${KilnStage.name} != 'awaiting-approval')`);
    const jobs: Array<Record<string, unknown>> = [];
    for await (const execution of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: filter.limit })) {
      jobs.push({
        jobId: execution.workflowId,
        runId: execution.runId,
        kind: execution.typedSearchAttributes.get(KilnKind),
        algorithm: execution.typedSearchAttributes.get(KilnAlgorithm),
        ...(execution.typedSearchAttributes.get(KilnModelName)
          ? { modelName: execution.typedSearchAttributes.get(KilnModelName) }
          : {}),
        status: statusOf(execution.status.name, execution.typedSearchAttributes),
        ...scheduledBy(execution.typedSearchAttributes),
        ...(execution.typedSearchAttributes.get(KilnStage)
          ? { stage: execution.typedSearchAttributes.get(KilnStage) }
          : {}),
        startTime: execution.startTime.toISOString(),
        ...(execution.closeTime ? { closeTime: execution.closeTime.toISOString() } : {}),
        links: { self: `/api/v1/jobs/${execution.workflowId}` },
      });
      if (jobs.length >= filter.limit) break;
    }
    return jobs;
  }

  /**
   * How many of the tenant's jobs run now, by Temporal's visibility store (a count query): top-level workflows only,
   * so a pipeline and the training or clustering child it runs count once; runs awaiting approval count. Eventually
   * consistent: a job started or ended a moment ago (the dev server: ~1 s) may be missed or still counted.
   */
  async countRunning(tenantId: string): Promise<number> {
    // Tenant ids are validated patterns without quotes (the principal's), never free text.
    const query = `${KilnTenant.name} = '${tenantId}' AND ExecutionStatus = 'Running' AND ParentWorkflowId IS NULL`;
    return (await this.client.workflow.count(query)).count;
  }

  /**
   * Which of `jobIds` Temporal's visibility store already lists, in any status (so countRunning counts them once they
   * run, and no longer once they ended). Ids that cannot be jobs are left out of the query and never listed.
   */
  async visibleAmong(jobIds: readonly string[]): Promise<Set<string>> {
    const ids = jobIds.filter(isJobId);
    const seen = new Set<string>();
    if (ids.length === 0) return seen;
    // Job ids match JOB_ID: no quotes, so they go into the query as they are.
    const query = `WorkflowId IN (${ids.map((id) => `'${id}'`).join(', ')})`;
    for await (const execution of this.client.workflow.list({ query, pageSize: ids.length }))
      seen.add(execution.workflowId);
    return seen;
  }
}

/** `{scheduleId, scheduledTime}` of a run a schedule started (Temporal's search attributes), else nothing. */
function scheduledBy(attributes: TypedSearchAttributes): { scheduleId?: string; scheduledTime?: string } {
  const scheduleId = attributes.get(TemporalScheduledById);
  if (!scheduleId) return {};
  const scheduledTime = attributes.get(TemporalScheduledStartTime);
  return { scheduleId, ...(scheduledTime ? { scheduledTime: scheduledTime.toISOString() } : {}) };
}

type RawDescription = temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse;

/**
 * What a job that asked explicitly for a GPU waits for (it never falls back to the CPU pool): `{ gpuClass? }`, or
 * undefined for `cpu` and `any` jobs, whose waits are for any worker.
 */
function gpuAsked(memo: Record<string, unknown> | undefined): { gpuClass?: string } | undefined {
  const resources = memo?.resources as { accelerator?: unknown; gpuClass?: unknown } | undefined;
  if (resources?.accelerator !== 'gpu') return undefined;
  return typeof resources.gpuClass === 'string' ? { gpuClass: resources.gpuClass } : {};
}

/**
 * A running job's progress, read from Temporal (no query, so it answers even when no worker is up): the pending
 * activity and its last heartbeat, or the pending workflow task when no worker has picked the job up yet. A job that
 * asked for a GPU says so while its compute activity waits for a GPU worker: `waiting-for-gpu`, with the class.
 */
function progressOf(
  raw: RawDescription,
  workflowQueue: string,
  gpu: { gpuClass?: string } | undefined,
): Record<string, unknown> {
  const waitingForGpu = { state: 'waiting-for-gpu', waitingFor: { accelerator: 'gpu', ...gpu } };
  const activity = raw.pendingActivities?.[0];
  if (!activity) {
    const scheduled =
      raw.pendingWorkflowTask?.state ===
      temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED;
    if (!scheduled) return { stage: 'orchestrating', state: 'running' };
    // Jobs started before workflows moved to the CPU pool ran their workflow on the GPU queue itself.
    return { stage: 'queued', ...(gpu && isGpuQueue(workflowQueue) ? waitingForGpu : { state: 'waiting-for-worker' }) };
  }
  const payload = activity.heartbeatDetails?.payloads?.[0];
  let details: Record<string, unknown> = {};
  if (payload) {
    try {
      details = defaultPayloadConverter.fromPayload(payload as never) as Record<string, unknown>;
    } catch {
      details = {};
    }
  }
  const started = activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const name = activity.activityType?.name ?? 'unknown';
  const waiting =
    gpu && (ROUTED_ACTIVITIES.has(name) || isGpuQueue(workflowQueue)) ? waitingForGpu : { state: 'waiting-for-worker' };
  const attempt = activity.attempt ?? 1;
  // A training heartbeat lists the attempts that reached their first heartbeat; Temporal's count adds the others.
  if (name === TRAINING_ACTIVITY || Array.isArray(details.attempts))
    details = { ...details, attempts: completeAttempts(details.attempts as TrainingAttempt[] | undefined, attempt) };
  return {
    stage: started ? 'starting' : 'queued',
    activity: name,
    ...(started ? { state: 'running' } : waiting),
    attempt,
    ...(activity.lastFailure?.message ? { lastFailure: activity.lastFailure.message } : {}),
    // The activity's last heartbeat (stage, iteration, inertia...) refines the above.
    ...details,
  };
}

/** The activity that trains (workflows/training.ts), whose heartbeats carry `attempts`. */
const TRAINING_ACTIVITY = 'trainModel';

async function failureOf(handle: { result(): Promise<unknown> }): Promise<{ message: string; type?: string }> {
  try {
    await handle.result();
    return { message: 'no failure recorded' };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      // The root cause (an activity's ApplicationFailure) is what a user can act on.
      let cause: Error | undefined = err.cause;
      while (cause && (cause as { cause?: Error }).cause) cause = (cause as { cause?: Error }).cause;
      const root = cause ?? err;
      return { message: root.message, type: (root as { type?: string }).type ?? root.name };
    }
    return { message: (err as Error).message };
  }
}
