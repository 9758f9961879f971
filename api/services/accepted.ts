import type { JobKind } from '../../common/jobs';
import type { JobStatus } from './jobs';
import type { SubmittedJob } from './submit-job';

/** A job's own resources: its view, its result and its cancellation. */
export interface JobLinks {
  self: string;
  result: string;
  cancel: string;
}

/** Kinds that can finish early on request (POST /jobs/:id/stop), so their 202 links `stop`. */
const STOPPABLE_KINDS: ReadonlySet<JobKind> = new Set(['training']);

/** The links of a job, for every answer that names one (202s, GET /jobs/:id, stop and cancel). */
export function jobLinks(jobId: string): JobLinks {
  return {
    self: `/api/v1/jobs/${jobId}`,
    result: `/api/v1/jobs/${jobId}/result`,
    cancel: `/api/v1/jobs/${jobId}/cancel`,
  };
}

/** Links every pipeline answer carries. */
export function pipelineLinks(pipelineId: string) {
  return {
    self: `/api/v1/pipelines/${pipelineId}`,
    report: `/api/v1/pipelines/${pipelineId}/report`,
    job: `/api/v1/jobs/${pipelineId}`,
    cancel: `/api/v1/jobs/${pipelineId}/cancel`,
  };
}

/** Where operators watch workflows; no link without a URL (KILN_TEMPORAL_UI_URL). */
export interface TemporalUi {
  temporalUiUrl?: string;
  namespace: string;
}

/** The 202 body of a started job (OpenAPI `jobAccepted`); a replayed Idempotency-Key's 200 has the job's status now. */
export interface AcceptedBody {
  jobId: string;
  kind: JobKind;
  status: JobStatus;
  datasetId: string;
  taskQueue: string;
  computeQueue: string;
  links: JobLinks & { stop?: string; temporalUi?: string };
  [detail: string]: unknown;
}

/**
 * The answer to every job submission: `{jobId, kind, status: 'RUNNING', ...details, datasetId, taskQueue,
 * computeQueue, links}`, where links are self/result/cancel, `stop` for stoppable kinds and, given `ui` with a URL,
 * `temporalUi` (the workflow in the Temporal UI). The route sends it with status 202 (200 and the job's current status
 * for a replayed Idempotency-Key) and `Location: links.self`.
 */
export function acceptedBody(job: SubmittedJob, ui?: TemporalUi): AcceptedBody {
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status ?? 'RUNNING',
    ...job.details,
    datasetId: job.datasetId,
    taskQueue: job.taskQueue,
    computeQueue: job.computeQueue,
    links: {
      ...jobLinks(job.jobId),
      ...(STOPPABLE_KINDS.has(job.kind) ? { stop: `/api/v1/jobs/${job.jobId}/stop` } : {}),
      ...(ui?.temporalUiUrl
        ? { temporalUi: `${ui.temporalUiUrl}/namespaces/${ui.namespace}/workflows/${job.jobId}` }
        : {}),
    },
  };
}

/**
 * The seed services' 202 (POST /api/cluster/:algorithm past its wait): `{jobId, kind, status, datasetId, links}`,
 * the shape their clients knew before jobs had queues.
 */
export function seedAcceptedBody(job: SubmittedJob): Pick<AcceptedBody, 'jobId' | 'kind' | 'status' | 'datasetId'> & {
  links: JobLinks;
} {
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status ?? 'RUNNING',
    datasetId: job.datasetId,
    links: jobLinks(job.jobId),
  };
}
