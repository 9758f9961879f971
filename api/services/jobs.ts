import { Client, WorkflowExecutionStatusName, WorkflowFailedError } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConflictError, NotFoundError } from '../../common/errors';
import type { SearchAttributePair } from '@temporalio/common';
import type { JobKind } from '../../common/jobs';
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
// (Temporal appends the scheduled time in RFC 3339, UTC, to the action's id). Anything else cannot be a job.
const JOB_ID =
  /^[a-z]+(?:-[a-z]+)*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$/;

export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}

function toJobStatus(name: WorkflowExecutionStatusName): JobStatus {
  return name === 'CANCELLED' ? 'CANCELED' : (name as JobStatus);
}

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
  priorityKey?: number;
}

export class JobService {
  constructor(private readonly client: Client) {}

  /**
   * What every start of a job shares, for client.workflow.start and a schedule's action alike: the workflow type, its
   * task queue, the input, the memo, Kiln's search attributes and the priority.
   */
  startOptions(job: StartableJob) {
    const a = job.attributes;
    return {
      workflowType: job.workflowType,
      taskQueue: job.taskQueue,
      args: [job.input],
      memo: job.memo,
      ...(job.priorityKey !== undefined ? { priority: { priorityKey: job.priorityKey } } : {}),
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

  /** Starts a job: its id as workflow id, then startOptions. */
  async startJob(jobId: string, job: StartableJob): Promise<void> {
    const { workflowType, ...options } = this.startOptions(job);
    await this.client.workflow.start(workflowType, { workflowId: jobId, ...options });
  }

  /** Asks a running training job to finish after its current epoch (a signal the workflow records). */
  async stop(jobId: string): Promise<void> {
    const { handle, description } = await this.describeOr404(jobId);
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

  private handle(jobId: string) {
    if (!isJobId(jobId)) throw new NotFoundError('job', jobId, 'jobId');
    return this.client.workflow.getHandle(jobId);
  }

  /** The job's handle and description; 404 (field `jobId`) for an id that is not a job or does not exist. */
  async describeOr404(jobId: string) {
    const handle = this.handle(jobId);
    try {
      return { handle, description: await handle.describe() };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new NotFoundError('job', jobId, 'jobId');
      throw err;
    }
  }

  /** Status, progress (the running activity's last heartbeat), and the summary or error once closed. */
  async describe(jobId: string): Promise<JobView> {
    const { handle, description } = await this.describeOr404(jobId);
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
    if (status === 'COMPLETED') view.result = await handle.result();
    if (status === 'FAILED' || status === 'TIMED_OUT' || status === 'TERMINATED' || status === 'CANCELED') {
      view.error = await failureOf(handle);
    }
    return view;
  }

  /** The workflow's result once completed, waiting up to waitMs for it; ConflictError while it runs or when it did not complete. */
  async completedResult(jobId: string, waitMs: number): Promise<{ kind: string | undefined; result: unknown }> {
    const { handle, description } = await this.describeOr404(jobId);
    let status = toJobStatus(description.status.name);
    if (status === 'RUNNING' && waitMs > 0) {
      const outcome = await Promise.race([
        handle.result().then(
          () => 'closed',
          () => 'closed',
        ),
        new Promise<string>((resolve) => setTimeout(resolve, waitMs, 'waiting')),
      ]);
      if (outcome === 'closed') status = toJobStatus((await handle.describe()).status.name);
    }
    if (status === 'RUNNING')
      throw new ConflictError(`job ${jobId} is still running; poll GET /api/v1/jobs/${jobId}`, 'job_running');
    if (status !== 'COMPLETED')
      throw new ConflictError(`job ${jobId} ended ${status} and has no result`, 'job_not_completed');
    return { kind: description.typedSearchAttributes.get(KilnKind), result: await handle.result() };
  }

  async cancel(jobId: string): Promise<JobStatus> {
    const { handle, description } = await this.describeOr404(jobId);
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
  return {
    stage: started ? 'starting' : 'queued',
    activity: name,
    ...(started ? { state: 'running' } : waiting),
    attempt: activity.attempt ?? 1,
    ...(activity.lastFailure?.message ? { lastFailure: activity.lastFailure.message } : {}),
    // The activity's last heartbeat (stage, iteration, inertia...) refines the above.
    ...details,
  };
}

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
