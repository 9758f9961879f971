import { z } from 'zod';
import {
  apiKeyView,
  createApiKeyRequest,
  createdApiKeyView,
  rotateApiKeyRequest,
  rotatedApiKeyView,
  updateApiKeyRequest,
} from './schemas/api-keys';
import { createdTenantView, createTenantRequest, tenantView, updateTenantRequest } from './schemas/tenants';
import type { AccessDeclaration } from './auth/access';
import { RATE_LIMIT_HEADERS, SECURITY_SCHEMES, withSecurity } from './openapi-security';
import { EPOCH_SERIES_KEYS } from '../common/epoch-metrics';
import { JOB_EVENT_TYPES } from '../common/job-events';
import { DatasetLimits } from '../datasets/limits';
import { EVENT_PAGE } from './services/job-event-hub';
import { DCGM_CSV_COLUMNS } from '../gpu/dcgm-csv';
import { MAX_METRIC_FILTER } from './routes/gpus';
import { MAX_DEVICES_PER_UPLOAD } from './services/ingest-telemetry';
import { clusteringRequest, jobAccepted } from './schemas/clustering';
import { errorBody, MODEL_NAME_PATTERN } from './schemas/common';
import { batchPredictRequest, predictRequest } from './schemas/predict';
import { seedClusterRequest } from './schemas/seed';
import { MAX_SUBJECT_LENGTH, putMemberRequest } from './schemas/members';
import { tenantId, tenantLimitsChange, tenantLimitsView } from './schemas/tenant-limits';
import { sessionRequest, whoamiResponse } from './schemas/session';
import { MAX_PROJECTION_POINTS } from './services/clustering-projection';
import { trainingRequest } from './schemas/training';
import { decisionRequest, fullPipelineRequest, validationPipelineRequest } from './schemas/pipelines';
import {
  ALIAS_PATTERN,
  createModelRequest,
  MODEL_LIMITS,
  setAliasRequest,
  updateModelRequest,
  updateVersionRequest,
} from './schemas/models';
import { ALGORITHMS } from './schemas/clustering';
import {
  backfillRequest,
  createScheduleRequest,
  OVERLAP_POLICIES,
  pauseRequest,
  previewRequest,
  SCHEDULE_ACTION_KINDS,
  SCHEDULE_DEFAULTS,
  SCHEDULE_ID_PATTERN,
  triggerRequest,
  updateScheduleRequest,
} from './schemas/schedules';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

/** The answer to a telemetry upload (api/routes/gpus.ts ingestView). */
const telemetryUploadSchema = {
  type: 'object',
  required: ['rows', 'inserted', 'alreadyPresent', 'startTime', 'endTime', 'devices', 'devicesCreated'],
  properties: {
    rows: { type: 'integer', description: 'data rows (samples) in the upload' },
    inserted: { type: 'integer', description: 'samples this upload stored' },
    alreadyPresent: {
      type: 'integer',
      description:
        'samples stored already (an earlier upload, or repeated within this one); rows = inserted + alreadyPresent',
    },
    startTime: { type: 'string', format: 'date-time' },
    endTime: { type: 'string', format: 'date-time' },
    devices: { type: 'array', items: { type: 'string' }, description: 'device UUIDs the upload names' },
    devicesCreated: { type: 'array', items: { type: 'string' }, description: 'those it created (source dcgm)' },
    links: { type: 'object', properties: { telemetry: { type: 'array', items: { type: 'string' } } } },
  },
};

/** A body that takes its dataset as `datasetId` or `dataset` (a series version), or `data` where inline rows go: exactly one. */
const oneDataset = (body: Record<string, unknown>, more: string[] = []) => ({
  ...body,
  oneOf: ['datasetId', 'dataset', ...more].map((key) => ({ required: [key] })),
});

const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(code),
      { description: 'Error', content: { 'application/json': { schema: schema(errorBody) } } },
    ]),
  );

const modelNameParam = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: MODEL_NAME_PATTERN.source },
};
const versionPathParam = {
  name: 'version',
  in: 'path',
  required: true,
  schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
};
const pipelineIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: {
    type: 'string',
    pattern: '^pipeline-(validation|full)-[0-9a-f-]{36}(-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$',
  },
  description: "A scheduled run's id ends in its scheduled time",
};
const scheduleIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: SCHEDULE_ID_PATTERN.source },
};
const scheduleView = {
  description:
    "The schedule: action {kind, model?, request as given}, spec as written, policy {overlap, catchupWindow, pauseOnFailure}, paused, note, remainingRuns (null: no limit), timezone, nextFireTimes [{utc, local}] (Temporal's next 10, jitter included; none while paused), counts {runs, skippedByOverlap, missedCatchupWindow}, running job ids, recentRuns [{jobId, scheduledTime (the run's nominal second, as its job id), startedAt, status, links}] newest first, createdAt, updatedAt, links",
};
const memberSubjectParam = {
  name: 'subject',
  in: 'path',
  required: true,
  description:
    "`<iss>|<sub>` of the member's SSO tokens, percent-encoded (`https%3A%2F%2Fidp.example.com%2F%7Cuser-1`)",
  schema: { type: 'string', maxLength: MAX_SUBJECT_LENGTH },
};
const memberView = {
  description: '{subject, role, createdBy (the principal who last set it), createdAt, links: {self}}',
};
const idPathParam = (description: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
const jobIdParam = {
  name: 'jobId',
  in: 'path',
  required: true,
  description: "`<kind>-<uuid>`, as a job start answered; a schedule's run adds `-<scheduled time>` (RFC 3339, UTC)",
  schema: {
    type: 'string',
    pattern:
      '^[a-z]+(?:-[a-z]+)*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$',
  },
};
/** One job event as the stream and the JSON pages carry it (common/job-events.ts). */
const jobEventSchema = {
  type: 'object',
  required: ['seq', 'jobId', 'type', 'at', 'data'],
  properties: {
    seq: { type: 'integer', minimum: 1, description: 'From 1 per job, without gaps' },
    jobId: { type: 'string' },
    type: { type: 'string', enum: [...JOB_EVENT_TYPES] },
    at: { type: 'string', format: 'date-time' },
    data: { type: 'object' },
  },
};
const seriesKeysParam = {
  name: 'keys',
  in: 'query',
  schema: { type: 'string' },
  description: `Comma-separated series (default: every one recorded): ${EPOCH_SERIES_KEYS.join(', ')}`,
};
/** The header that makes a job start idempotent (api/services/idempotency.ts). */
const idempotencyKeyParam = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the start idempotent: every request with the same key (per tenant and route) names the same job while ' +
    'Temporal keeps it (it runs, then the namespace retention period). A repeat answers 200 with the same job and ' +
    '`Idempotent-Replayed: true`; the same key with a different body (or path) is 409 `idempotency_key_reused`.',
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
};
const aliasPathParam = {
  name: 'alias',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: ALIAS_PATTERN.source },
  description: '`latest` and `v<number>` are reserved (GET of `latest` resolves to the highest version)',
};

/**
 * The answers of a job start: 202 started, 200 an Idempotency-Key's job already started (same body), and the errors;
 * every start may be a 429 `tenant_job_limit` (the tenant runs as many jobs as it may; Retry-After).
 */
const startResponses = (body: Record<string, unknown>, ...codes: number[]) => ({
  '202': { description: 'Started', ...body },
  '200': { description: 'Replayed: the Idempotency-Key names a job an earlier request started', ...body },
  ...errors(...codes),
  '429': {
    description: 'The tenant runs as many jobs as it may (`tenant_job_limit`); Retry-After says when to try again',
    content: { 'application/json': { schema: schema(errorBody) } },
  },
});

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the API validates with, so the two cannot drift. `access`:
 * the routes' requires() declarations by `METHOD /path` (api/auth/route-access.ts accessByRoute over apiRouters), from
 * which each operation states the role it needs (`x-kiln-role`); without it the document names no roles.
 */
export function openApiDocument(limits: DatasetLimits, access?: ReadonlyMap<string, AccessDeclaration>) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kiln API',
      version: '1',
      description:
        `Durable ML jobs on Temporal. Limits: body ${limits.maxBodyBytes} bytes, ${limits.maxRows} rows, ` +
        `${limits.maxColumns} columns, ${limits.maxCells} cells per dataset.`,
    },
    paths: withSecurity(access, {
      '/api/v1/datasets': {
        post: {
          operationId: 'uploadDataset',
          summary:
            'Upload a dataset (JSON, CSV or NDJSON); identical content returns the stored dataset. A named upload (?name= or JSON name) becomes the newest version of that name: `series: {name, version, added, createdAt}` (added false when it already is the newest)',
          parameters: [{ name: 'name', in: 'query', schema: { type: 'string', maxLength: 200 } }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['data'],
                  properties: {
                    name: { type: 'string', maxLength: 200 },
                    data: {
                      type: 'array',
                      items: { oneOf: [{ type: 'array', items: { type: ['number', 'string'] } }, { type: 'object' }] },
                    },
                  },
                },
              },
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          responses: {
            '201': { description: 'Stored' },
            '200': { description: 'Already stored' },
            ...errors(400, 403, 413, 415, 503),
          },
        },
        get: {
          operationId: 'listDatasets',
          summary:
            'Recent datasets, or with ?name= the versions of that named series, newest first ({name, versions: [{name, version, createdAt, dataset}]})',
          parameters: [
            { name: 'name', in: 'query', schema: { type: 'string', maxLength: 200 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 503) },
        },
      },
      '/api/v1/datasets/{id}': {
        parameters: [idPathParam('Dataset id (a UUID)')],
        get: {
          operationId: 'getDataset',
          summary: 'Dataset metadata',
          responses: { '200': { description: 'OK' }, ...errors(404, 503) },
        },
      },
      '/api/v1/datasets/{id}/summary': {
        parameters: [idPathParam('Dataset id (a UUID)')],
        get: {
          operationId: 'getDatasetSummary',
          summary:
            'Per-column statistics: count, missing, distinct; for numbers mean, std, min, max, quantiles (5, 25, 50, 75, 95 %) and a 20-bin histogram {edges, counts}; for text the 20 most frequent levels and otherLevels',
          responses: { '200': { description: 'OK' }, ...errors(404, 503) },
        },
      },
      '/api/v1/clustering': {
        post: {
          operationId: 'startClustering',
          summary:
            'Start a clustering job; the body streams through the dataset parser, so inline `data` meets the dataset limits as it arrives',
          parameters: [idempotencyKeyParam],
          requestBody: { content: { 'application/json': { schema: oneDataset(schema(clusteringRequest), ['data']) } } },
          responses: startResponses(
            { content: { 'application/json': { schema: schema(jobAccepted) } } },
            400,
            403,
            404,
            409,
            413,
            415,
            422,
            503,
          ),
        },
      },
      '/api/v1/training': {
        post: {
          operationId: 'startTraining',
          summary: 'Start a durable training job (checkpoints, resume after a crash, one registered version)',
          parameters: [idempotencyKeyParam],
          requestBody: { content: { 'application/json': { schema: oneDataset(schema(trainingRequest)) } } },
          responses: startResponses(
            { content: { 'application/json': { schema: schema(jobAccepted) } } },
            400,
            403,
            404,
            409,
            413,
            415,
            422,
            503,
          ),
        },
      },
      '/api/v1/pipelines/validation': {
        post: {
          operationId: 'startValidationPipeline',
          parameters: [idempotencyKeyParam],
          summary:
            'Start a validation pipeline: data checks (schema, missing, non-finite, constant, duplicates, ranges, levels, target, drift against referenceDatasetId) stored as a report; kind `pipeline` in GET /api/v1/jobs',
          requestBody: { content: { 'application/json': { schema: oneDataset(schema(validationPipelineRequest)) } } },
          responses: startResponses({}, 400, 403, 404, 409, 413, 415, 503),
        },
      },
      '/api/v1/pipelines/full': {
        post: {
          operationId: 'startFullPipeline',
          parameters: [idempotencyKeyParam],
          summary:
            'Start a full pipeline: validate → train (child job: `training` an MLP, or `clustering` a clustering model) → evaluate candidate and alias holder on one holdout (holdout metrics, or quality metrics of each clustering of the holdout rows) → gate → approval (optional) → register (READY or FAILED_VALIDATION) → promote (previous holder kept as previous-<alias>); 422 when the alias holder cannot be compared with the candidate',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  ...schema(fullPipelineRequest),
                  // Two independent choices: the dataset (by id or by series) and the candidate (MLP or clustering).
                  allOf: [
                    { oneOf: [{ required: ['datasetId'] }, { required: ['dataset'] }] },
                    { oneOf: [{ required: ['training'] }, { required: ['clustering'] }] },
                  ],
                },
              },
            },
          },
          responses: startResponses({}, 400, 403, 404, 409, 413, 415, 422, 503),
        },
      },
      '/api/v1/pipelines/{id}': {
        parameters: [pipelineIdParam],
        get: {
          operationId: 'getPipeline',
          summary:
            'Status (RUNNING, AWAITING_APPROVAL, PASSED, FAILED_VALIDATION, GATE_FAILED, REJECTED, PROMOTED, FAILED, CANCELED), stage, counts, metrics, gate, decision, registered version, promotion, links',
          responses: { '200': { description: 'OK' }, ...errors(404, 503) },
        },
      },
      '/api/v1/pipelines/{id}/report': {
        parameters: [pipelineIdParam],
        get: {
          operationId: 'getPipelineReport',
          summary:
            'The data-validation report ({checks, summary, profile, drift}) and, past evaluation, the evaluation table with the gate verdict; 409 before the report exists',
          responses: { '200': { description: 'OK' }, ...errors(404, 409, 503) },
        },
      },
      '/api/v1/pipelines/{id}/decision': {
        parameters: [pipelineIdParam],
        post: {
          operationId: 'decidePipeline',
          summary:
            "Approve or reject a pipeline waiting for approval (a Temporal Update): answers with the outcome (registered version, promotion; status FAILED with the failure's message and type when registering or promoting failed). The same decision sent again answers the recorded outcome, also after the run ended; 409 for another decision or a run not waiting; 503 (dependency_unavailable) when the run's worker does not accept it within 10 s",
          requestBody: { content: { 'application/json': { schema: schema(decisionRequest) } } },
          responses: { '200': { description: 'Decided' }, ...errors(400, 403, 404, 409, 413, 415, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/stop': {
        parameters: [jobIdParam],
        post: {
          operationId: 'stopJob',
          summary: 'Training: finish after the current epoch and register',
          responses: { '202': { description: 'Requested' }, ...errors(403, 404, 409, 503) },
        },
      },
      '/api/v1/models/{name}/predict': {
        parameters: [modelNameParam],
        post: {
          operationId: 'predict',
          summary:
            'Online prediction with a registered model; an object row key that is not a model column is a 400 unless ignoreExtraColumns',
          requestBody: { content: { 'application/json': { schema: schema(predictRequest) } } },
          responses: { '200': { description: 'OK' }, ...errors(400, 403, 404, 413, 415, 422, 503) },
        },
      },
      '/api/v1/models/{name}/batch-predict': {
        parameters: [modelNameParam],
        post: {
          operationId: 'startBatchPredict',
          summary:
            "Batch prediction over a stored dataset (a job); 400 `dataset_columns_mismatch` when the dataset lacks the model's number columns",
          parameters: [idempotencyKeyParam],
          requestBody: { content: { 'application/json': { schema: oneDataset(schema(batchPredictRequest)) } } },
          responses: startResponses(
            { content: { 'application/json': { schema: schema(jobAccepted) } } },
            400,
            403,
            404,
            409,
            413,
            415,
            422,
            503,
          ),
        },
      },
      '/api/v1/jobs': {
        get: {
          operationId: 'listJobs',
          summary:
            "Recent jobs (filter: kind clustering|training|batch-predict|pipeline, status incl. AWAITING_APPROVAL, scheduleId, limit); each with its algorithm or modelName where it has one; a schedule's runs carry scheduleId and scheduledTime",
          parameters: [
            {
              name: 'kind',
              in: 'query',
              schema: { type: 'string', enum: ['clustering', 'training', 'batch-predict', 'pipeline'] },
            },
            {
              name: 'status',
              in: 'query',
              schema: {
                type: 'string',
                enum: ['RUNNING', 'AWAITING_APPROVAL', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT'],
              },
            },
            { name: 'scheduleId', in: 'query', schema: { type: 'string', pattern: SCHEDULE_ID_PATTERN.source } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 503) },
        },
      },
      '/api/v1/schedules': {
        post: {
          operationId: 'createSchedule',
          summary: `Create a recurring job on a Temporal Schedule: action.kind ${SCHEDULE_ACTION_KINDS.join('|')} with that route's body as action.request (validated as the route does; batch-predict names action.model), spec (cron, intervals, calendars; timezone required with cron or calendars), policy (overlap ${OVERLAP_POLICIES.join('|')}, default ${SCHEDULE_DEFAULTS.overlap}; catchupWindow 10s-365d, default ${SCHEDULE_DEFAULTS.catchupWindow}; pauseOnFailure), paused, note, remainingRuns. Every run is an ordinary job`,
          requestBody: { content: { 'application/json': { schema: schema(createScheduleRequest) } } },
          responses: {
            '201': {
              description: `${scheduleView.description}; warnings [{kind: never-fires | fixed-offset-zone, message}] when the spec never fires or its zone is a fixed offset`,
            },
            ...errors(400, 403, 404, 409, 413, 415, 422, 503),
          },
        },
        get: {
          operationId: 'listSchedules',
          summary:
            "Kiln's schedules (eventually consistent), a page at a time: [{scheduleId, kind, model?, paused, note, nextFireTimes [{utc, local}] (Temporal's next 5; none while paused), lastRun?, links}], nextPageToken (for the same filters only; any other token is a 400 naming query.pageToken)",
          parameters: [
            { name: 'kind', in: 'query', schema: { type: 'string', enum: [...SCHEDULE_ACTION_KINDS] } },
            { name: 'paused', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'pageToken', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 503) },
        },
      },
      '/api/v1/schedules/preview': {
        post: {
          operationId: 'previewSchedule',
          summary:
            'The next `count` fire times of a spec after `from` (default now), as Temporal computes them (through a temporary paused schedule that never runs and is deleted at once), in UTC and in its zone, and warnings: a fixed-offset zone, a spec that never fires, and one per DST change that skips or repeats local times a cron or calendar names (the interval, the named local times in it counted with examples, what Temporal runs there), at most 10 (warningsOmitted counts the rest)',
          requestBody: { content: { 'application/json': { schema: schema(previewRequest) } } },
          responses: {
            '200': {
              description:
                '{timezone, from, fireTimes: [{utc, local}], warnings: [{kind: gap | repeat, localTime, localInterval: {start, end}, changeAt, named: {count, examples}, passes?, runs?: {firstPass, secondPass, examples}, moved?: {count, examples}, message} | {kind: never-fires | fixed-offset-zone, message}], warningsOmitted?}',
            },
            ...errors(400, 403, 503),
          },
        },
      },
      '/api/v1/schedules/{id}': {
        parameters: [scheduleIdParam],
        get: {
          operationId: 'getSchedule',
          summary: 'A schedule with its next fire times, recent runs and counts',
          responses: { '200': scheduleView, ...errors(404, 503) },
        },
        patch: {
          operationId: 'updateSchedule',
          summary:
            'Change any part (what is given replaces what was; policy field by field; remainingRuns null lifts the limit); the run history and counts stay; concurrent changes all land (409 schedule_busy if it keeps losing to them)',
          requestBody: { content: { 'application/json': { schema: schema(updateScheduleRequest) } } },
          responses: {
            '200': { description: `${scheduleView.description}; warnings as create's` },
            ...errors(400, 403, 404, 409, 413, 415, 422, 503),
          },
        },
        delete: {
          operationId: 'deleteSchedule',
          summary: 'Delete the schedule from Temporal; runs already started go on',
          responses: { '204': { description: 'Deleted' }, ...errors(403, 404, 503) },
        },
      },
      '/api/v1/schedules/{id}/pause': {
        parameters: [scheduleIdParam],
        post: {
          operationId: 'pauseSchedule',
          summary:
            'Pause, with an optional note (none or empty: "Paused through the Kiln API"; fire times while paused are not made up later)',
          requestBody: { content: { 'application/json': { schema: schema(pauseRequest) } } },
          responses: { '200': scheduleView, ...errors(400, 403, 404, 415, 503) },
        },
      },
      '/api/v1/schedules/{id}/unpause': {
        parameters: [scheduleIdParam],
        post: {
          operationId: 'unpauseSchedule',
          summary: 'Unpause, with an optional note (none or empty: "Unpaused through the Kiln API")',
          requestBody: { content: { 'application/json': { schema: schema(pauseRequest) } } },
          responses: { '200': scheduleView, ...errors(400, 403, 404, 415, 503) },
        },
      },
      '/api/v1/schedules/{id}/trigger': {
        parameters: [scheduleIdParam],
        post: {
          operationId: 'triggerSchedule',
          summary:
            'One run now (overlap default allow-all; it runs even while paused or past endAt, as Temporal triggers do); ' +
            'answers {scheduleId, overlap, jobId, scheduledTime (whole second, as the job id), links}; 409 ' +
            'trigger_collision (Retry-After: 1) when its run cannot be told from a scheduled run in the same second or ' +
            'Temporal dropped it, 409 trigger_queue_full (Retry-After: 1) when 10 triggers of the schedule already wait, ' +
            '429 tenant_job_limit (Retry-After) when the tenant runs as many jobs as it may',
          requestBody: { content: { 'application/json': { schema: schema(triggerRequest) } } },
          responses: { '202': { description: 'Triggered' }, ...errors(400, 403, 404, 409, 415, 429, 503) },
        },
      },
      '/api/v1/schedules/{id}/backfill': {
        parameters: [scheduleIdParam],
        post: {
          operationId: 'backfillSchedule',
          summary:
            'Runs for every fire time in [start, end] (inclusive; end not in the future) as if that time passed now, each with its fire time as scheduled time (overlap default buffer-all; at most 1000 runs); answers {runs, scheduledTimes}; 429 tenant_job_limit (Retry-After) when the tenant has fewer free places than the runs it may start at once (all with allow-all, else one)',
          requestBody: { content: { 'application/json': { schema: schema(backfillRequest) } } },
          responses: { '202': { description: 'Backfill started' }, ...errors(400, 403, 404, 415, 429, 503) },
        },
      },
      '/api/v1/schedules/{id}/events': {
        parameters: [scheduleIdParam],
        get: {
          operationId: 'listScheduleEvents',
          summary:
            'Audit trail of the schedule, oldest first: {id, action (create, update, pause, unpause, trigger, backfill, delete), actor (the principal id), details, createdAt}; outlives a deleted schedule',
          parameters: [
            {
              name: 'after',
              in: 'query',
              schema: { type: 'integer', minimum: 0, default: 0 },
              description: 'Only events with a larger id',
            },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: MODEL_LIMITS.maxEventsLimit, default: 100 },
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/jobs/{jobId}': {
        parameters: [jobIdParam],
        get: {
          operationId: 'getJob',
          summary:
            'Status, progress (a training job lists every attempt, those without a heartbeat too), summary or error; links (temporalUi when KILN_TEMPORAL_UI_URL is known)',
          responses: { '200': { description: 'OK' }, ...errors(404, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/result': {
        parameters: [jobIdParam],
        get: {
          operationId: 'getJobResult',
          summary: 'Full result (wait up to ?wait= seconds)',
          parameters: [{ name: 'wait', in: 'query', schema: { type: 'number', minimum: 0, maximum: 60, default: 0 } }],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 409, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/projection': {
        parameters: [jobIdParam],
        get: {
          operationId: 'getJobProjection',
          summary:
            "A completed clustering job's points in 2-D for a scatter plot: the columns when d ≤ 2, else the first two principal components; {n, d, sampled, sampling (all | per-cluster), method, axes, points {x, y, label}, centroids, centroidSource}",
          parameters: [
            {
              name: 'limit',
              in: 'query',
              description:
                'Most points returned: past it, a seeded random sample of the rows (the same for the same job), stratified by cluster so that every cluster shows in proportion',
              schema: { type: 'integer', minimum: 1, maximum: MAX_PROJECTION_POINTS, default: MAX_PROJECTION_POINTS },
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 409, 422, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/events': {
        parameters: [jobIdParam],
        get: {
          operationId: 'streamJobEvents',
          summary:
            "The job's event log (README: Live job events): `status`, `progress` (a training epoch: epoch, loss, valLoss, metrics), `stage`, `gate`, `schedule-run`, `warning`, `resumed`, then the terminal `end` ({status: completed | failed | cancelled | terminated | timed_out, error?}). As Server-Sent Events (default, `Accept: text/event-stream`): each message has `id: <seq>`, `event: <type>` and `data: {seq, jobId, type, at, data}`; replays after `Last-Event-ID` (or `?lastEventId=`), then streams live with keep-alive comments, and closes after `end`; its credentials are checked again every 5 s, and once they no longer authenticate it sends `event: unauthorized` (`data: {status: 401 | 403, code, message}`, no id) and closes. With `?after=` or `Accept: application/json`: one JSON page `{jobId, events, next, done}`",
          parameters: [
            {
              name: 'after',
              in: 'query',
              schema: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
              description: 'JSON form: the events with a larger seq (0: from the start); `next` of a page continues it',
            },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: EVENT_PAGE, default: EVENT_PAGE },
              description: 'JSON form: at most this many events',
            },
            {
              name: 'Last-Event-ID',
              in: 'header',
              schema: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
              description: 'Event stream: resume after this seq (an EventSource sends it when it reconnects)',
            },
            {
              name: 'lastEventId',
              in: 'query',
              schema: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' },
              description: 'Event stream: as Last-Event-ID, for clients that cannot set headers',
            },
          ],
          responses: {
            '200': {
              description:
                'An event stream, or a page: `done` is true once `next` has reached the `end` event (nothing more will come)',
              content: {
                'text/event-stream': { schema: { type: 'string' } },
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['jobId', 'events', 'next', 'done'],
                    properties: {
                      jobId: { type: 'string' },
                      events: { type: 'array', items: jobEventSchema },
                      next: { type: 'integer', minimum: 0 },
                      done: { type: 'boolean' },
                    },
                  },
                },
              },
            },
            ...errors(400, 404, 503),
          },
        },
      },
      '/api/v1/jobs/{jobId}/metrics': {
        parameters: [jobIdParam],
        get: {
          operationId: 'getJobMetrics',
          summary:
            "A training job's per-epoch series from its event log: `{jobId, series: {loss: [{epoch, value}], valLoss: [...]}}`",
          parameters: [seriesKeysParam],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/cancel': {
        parameters: [jobIdParam],
        post: {
          operationId: 'cancelJob',
          summary: 'Request cancellation',
          responses: { '202': { description: 'Requested' }, ...errors(403, 404, 409, 503) },
        },
      },
      '/api/v1/models': {
        get: {
          operationId: 'listModels',
          summary: 'Registered models, most recently changed first',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: MODEL_LIMITS.maxListLimit, default: 50 },
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 503) },
        },
        post: {
          operationId: 'createModel',
          summary: 'Register a model name with description and tags',
          requestBody: { content: { 'application/json': { schema: schema(createModelRequest) } } },
          responses: { '201': { description: 'Created' }, ...errors(400, 403, 409, 413, 415, 503) },
        },
      },
      '/api/v1/models/{name}': {
        parameters: [modelNameParam],
        get: {
          operationId: 'getModel',
          summary:
            'A model with its latest version number, aliases and protectedAliases (`champion` and those set on the model)',
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
        patch: {
          operationId: 'updateModel',
          summary:
            'Change the description, merge tags (null removes a tag) and/or replace protectedAliases (needs approver: 403 `protected_alias` otherwise); audited. An unknown key is a 400 naming it',
          requestBody: { content: { 'application/json': { schema: schema(updateModelRequest) } } },
          responses: { '200': { description: 'Updated model' }, ...errors(400, 403, 404, 413, 415, 503) },
        },
        delete: {
          operationId: 'deleteModel',
          summary:
            'Delete the model, its versions and aliases (artifacts stay: content addressed, maybe shared); audited',
          responses: { '204': { description: 'Deleted' }, ...errors(400, 403, 404, 503) },
        },
      },
      '/api/v1/models/{name}/versions': {
        parameters: [modelNameParam],
        get: {
          operationId: 'listModelVersions',
          summary: 'Versions of a registered model, with aliases and artifact links',
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/models/{name}/versions/{version}': {
        parameters: [modelNameParam, versionPathParam],
        get: {
          operationId: 'getModelVersion',
          summary: 'One model version with params, metrics, lineage, aliases and artifact',
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
        patch: {
          operationId: 'updateModelVersion',
          summary:
            "Change a version's description, tags (merged) and/or status; audited. An unknown key is a 400 naming it",
          requestBody: { content: { 'application/json': { schema: schema(updateVersionRequest) } } },
          responses: { '200': { description: 'Updated version' }, ...errors(400, 403, 404, 413, 415, 503) },
        },
      },
      '/api/v1/models/{name}/versions/{version}/metrics': {
        parameters: [modelNameParam, versionPathParam],
        get: {
          operationId: 'getModelVersionMetrics',
          summary:
            "The version's per-epoch training series, as GET /api/v1/jobs/{jobId}/metrics: `{modelName, version, jobId, source, series}`, from its training job's events (`source: events`) or, for a version trained before the event log, the history stored with it (`source: history`); empty for models without epochs",
          parameters: [seriesKeysParam],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/models/{name}/aliases/{alias}': {
        parameters: [modelNameParam, aliasPathParam],
        get: {
          operationId: 'getAlias',
          summary: 'The version the alias points at (`latest`: the highest version)',
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
        put: {
          operationId: 'setAlias',
          summary:
            'Create or move the alias atomically; answers {alias, version, previousVersion?}; audited. A protected alias (`champion`, protectedAliases) needs approver: 403 `protected_alias` otherwise',
          requestBody: { content: { 'application/json': { schema: schema(setAliasRequest) } } },
          responses: { '200': { description: 'Set' }, ...errors(400, 403, 404, 413, 415, 503) },
        },
        delete: {
          operationId: 'deleteAlias',
          summary: 'Remove the alias; audited. A protected alias needs approver (403 `protected_alias` otherwise)',
          responses: { '204': { description: 'Deleted' }, ...errors(400, 403, 404, 503) },
        },
      },
      '/api/v1/models/{name}/events': {
        parameters: [modelNameParam],
        get: {
          operationId: 'listModelEvents',
          summary:
            'Audit trail of the model name, oldest first (created, updated, version_registered, version_updated, alias_set, alias_deleted, deleted)',
          parameters: [
            {
              name: 'after',
              in: 'query',
              schema: { type: 'integer', minimum: 0, default: 0 },
              description: 'Only events with a larger id',
            },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: MODEL_LIMITS.maxEventsLimit, default: 100 },
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/artifacts/{id}': {
        parameters: [idPathParam('Artifact id (a UUID)')],
        get: {
          operationId: 'getArtifact',
          summary: 'Artifact bytes',
          responses: { '200': { description: 'OK' }, ...errors(404, 503) },
        },
      },
      '/api/v1/members': {
        get: {
          operationId: 'listMembers',
          summary:
            "SSO members of the caller's tenant (admin): {members: [{subject, role, createdBy, createdAt, links}]}, by subject. A token's subject `<iss>|<sub>` acts in the tenants it is a member of, with the membership's role; a member of several names one with the X-Kiln-Tenant header",
          responses: { '200': { description: 'OK' }, ...errors(401, 403, 503) },
        },
      },
      '/api/v1/members/{subject}': {
        parameters: [memberSubjectParam],
        put: {
          operationId: 'putMember',
          summary:
            "Make a token subject a member of the caller's tenant with a role, or change its role (admin). 409 last_tenant_admin for demoting the tenant's last admin member while no usable admin key without an expiry remains",
          requestBody: { content: { 'application/json': { schema: schema(putMemberRequest) } } },
          responses: {
            '200': { description: `Role changed: ${memberView.description}` },
            '201': { description: `Member added: ${memberView.description}` },
            ...errors(400, 401, 403, 409, 413, 415, 503),
          },
        },
        delete: {
          operationId: 'deleteMember',
          summary:
            "Remove a member from the caller's tenant (admin); its tokens no longer act in it. 409 last_tenant_admin for the tenant's last admin member while no usable admin key without an expiry remains",
          responses: { '204': { description: 'Removed' }, ...errors(401, 403, 404, 409, 503) },
        },
      },
      '/api/v1/gpus': {
        get: {
          operationId: 'listGpus',
          summary:
            'GPU devices (discovered or declared by workers, or known from uploaded DCGM telemetry: source `dcgm`, with pool, workerId and memoryTotalMb null, state offline, never routed to) with pool, worker, host, state and latest sample',
          responses: { '200': { description: 'OK' }, ...errors(503) },
        },
      },
      '/api/v1/gpus/telemetry': {
        post: {
          operationId: 'uploadGpuTelemetry',
          summary: 'Ingest GPU telemetry: a flattened DCGM exporter scrape as CSV, one metric sample per row',
          description:
            `Header (any order, each column once): \`${DCGM_CSV_COLUMNS.join(',')}\`. ` +
            'Streamed and checked row by row: a bad row is a 400 naming it (`row 17, column "value"`; the header is row 1): ' +
            'an empty or non-ISO timestamp (ISO-8601 with a zone, or epoch milliseconds, from 2000 on), a metric name that is not a Prometheus name, ' +
            "a gpu_id that is not a non-negative integer, an empty uuid, a value that is not a finite number or lies outside a known DCGM field's range " +
            '(GPU_UTIL 0–100 %, FB_USED ≥ 0 MiB, POWER_USAGE ≥ 0 W, GPU_TEMP in °C). Other metric names are stored as they are. ' +
            'Atomic: one transaction, so any error stores nothing. Idempotent: a sample (uuid, metric, timestamp) already stored is counted in ' +
            '`alreadyPresent` and kept as first stored. Devices not known yet are created from uuid, gpu_id, modelName and Hostname (source `dcgm`). ' +
            'Limits: KILN_MAX_TELEMETRY_BODY_BYTES (default 256 MiB) and KILN_MAX_TELEMETRY_ROWS (default 2,000,000), 413 at the first byte or row past them; ' +
            `rows of at most 64 KiB; at most ${MAX_DEVICES_PER_UPLOAD} devices per upload. 409 upload_conflict: a concurrent upload of the same samples in another order deadlocked with this one; nothing was stored, send it again.`,
          requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
          responses: {
            '201': {
              description: 'Stored (at least one new sample)',
              content: { 'application/json': { schema: telemetryUploadSchema } },
            },
            '200': {
              description: 'Every sample was stored already',
              content: { 'application/json': { schema: telemetryUploadSchema } },
            },
            ...errors(400, 403, 409, 413, 415, 503),
          },
        },
      },
      '/api/v1/gpus/{id}/telemetry': {
        get: {
          operationId: 'getGpuTelemetry',
          summary:
            "Samples of one device with start_time ≤ recordedAt ≤ end_time, oldest first: `samples` from Kiln's own worker (at most 10,000; `truncated` says when more exist) and `metricSamples` uploaded as DCGM telemetry ({metric, recordedAt, value}, by instant then metric name, at most 10,000; `metricSamplesTruncated`; `units` names each known metric's unit)",
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string', maxLength: 128 },
              description: 'Device UUID',
            },
            {
              name: 'start_time',
              in: 'query',
              schema: { type: 'string' },
              description: 'ISO-8601 with a zone, or epoch ms; default end_time − 1 h',
            },
            {
              name: 'end_time',
              in: 'query',
              schema: { type: 'string' },
              description: 'ISO-8601 with a zone, or epoch ms; default now; the window spans at most 7 days',
            },
            {
              name: 'metric',
              in: 'query',
              schema: { type: 'string' },
              description: `Only these uploaded metrics (comma-separated, or repeated; at most ${MAX_METRIC_FILTER}), e.g. DCGM_FI_DEV_GPU_UTIL,DCGM_FI_DEV_POWER_USAGE`,
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 503) },
        },
      },
      '/api/v1/resources/status': {
        get: {
          operationId: 'getResourceStatus',
          summary:
            'Worker pools: task queues, workers, devices, slots used/free, jobs running and waiting for GPU memory, memory budget/reserved, from the latest samples',
          responses: { '200': { description: 'OK' }, ...errors(503) },
        },
      },
      '/api/gpu/status': {
        get: {
          operationId: 'getSeedGpuStatus',
          summary:
            'Seed-compatible GPU summary: {gpus: [{id, name, memoryUsedMb, memoryTotalMb, memoryBudgetMb, memoryReservedMb, jobsWaiting, utilizationPct, state}], available}',
          responses: { '200': { description: 'OK' }, ...errors(503) },
        },
      },
      '/api/v1/algorithms': {
        get: {
          operationId: 'listAlgorithms',
          summary: 'Algorithms with parameter schemas, defaults and limits',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/v1/session': {
        post: {
          operationId: 'signIn',
          summary:
            "Sign a browser in: checks the API key (or SSO token) as every route does, opens a server-side session (12 hours, an SSO token's exp at the latest) and sets the HttpOnly, SameSite=Strict cookie `kiln_session` to its opaque id (Secure over https), which the API then accepts like `Authorization: Bearer` until the session expires, is signed out or its key is revoked (then 401 `session_expired` or `key_revoked`). Answers the caller as GET /api/v1/whoami; a bad key is 401 and sets no cookie",
          requestBody: { content: { 'application/json': { schema: schema(sessionRequest) } } },
          responses: {
            '200': {
              description: 'Signed in (Set-Cookie: kiln_session)',
              content: { 'application/json': { schema: schema(whoamiResponse) } },
            },
            ...errors(400, 401, 403, 413, 415, 429),
          },
        },
        delete: {
          operationId: 'signOut',
          summary:
            "Sign a browser out: ends the cookie's session (its id opens nothing any more) and clears the `kiln_session` cookie (204, signed in or not)",
          responses: { '204': { description: 'Signed out' }, ...errors(403) },
        },
      },
      '/api/v1/whoami': {
        get: {
          operationId: 'whoami',
          summary:
            'The caller (API key, SSO subject or session cookie): tenant, role, platform admin, and `can` (what the role allows, for a UI to show or hide controls). 401 without credentials',
          responses: {
            '200': { description: 'OK', content: { 'application/json': { schema: schema(whoamiResponse) } } },
            ...errors(401, 429),
          },
        },
      },
      '/api/v1/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document (OpenAPI 3.1)',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/cluster/{algorithm}': {
        post: {
          operationId: 'seedCluster',
          summary:
            "Seed-compatible clustering of inline rows: a durable job like POST /api/v1/clustering, answered with its full result when it completes within ?wait= seconds, else 202 with the job's links",
          parameters: [
            {
              name: 'algorithm',
              in: 'path',
              required: true,
              schema: { type: 'string', enum: Object.keys(ALGORITHMS) },
            },
            { name: 'wait', in: 'query', schema: { type: 'number', minimum: 0, maximum: 60, default: 30 } },
            idempotencyKeyParam,
          ],
          requestBody: { content: { 'application/json': { schema: schema(seedClusterRequest) } } },
          responses: {
            '200': { description: 'The completed result, as GET /api/v1/jobs/{jobId}/result' },
            '202': {
              description: 'Still running',
              content: {
                'application/json': {
                  schema: schema(
                    jobAccepted.pick({ jobId: true, kind: true, status: true, datasetId: true, links: true }),
                  ),
                },
              },
            },
            ...errors(400, 403, 409, 413, 415, 422, 503),
          },
        },
      },
      '/api/algorithms': {
        get: {
          operationId: 'listSeedAlgorithms',
          summary: 'Seed-compatible alias of GET /api/v1/algorithms',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/v1/tenants/{id}/limits': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: schema(tenantId) }],
        get: {
          operationId: 'getTenantLimits',
          summary:
            "A tenant's limits (platform admins): its rate-limit overrides by budget, each budget's effective size, and its running-jobs cap",
          responses: {
            '200': { description: 'OK', content: { 'application/json': { schema: schema(tenantLimitsView) } } },
            ...errors(400, 401, 403, 404, 429, 503),
          },
        },
        patch: {
          operationId: 'updateTenantLimits',
          summary:
            "Change a tenant's limits (platform admins): each budget given replaces its override (null: back to the default), maxRunningJobs likewise; API replicas apply a change within 5 s",
          requestBody: { content: { 'application/json': { schema: schema(tenantLimitsChange) } } },
          responses: {
            '200': {
              description: 'The limits after the change',
              content: { 'application/json': { schema: schema(tenantLimitsView) } },
            },
            ...errors(400, 401, 403, 404, 413, 415, 429, 503),
          },
        },
      },
      '/health': { get: { operationId: 'getHealth', summary: 'Alive', responses: { '200': { description: 'OK' } } } },
      '/ready': {
        get: {
          operationId: 'getReady',
          summary: 'Postgres and Temporal reachable',
          responses: { '200': { description: 'OK' }, '503': { description: 'Degraded' } },
        },
      },
      '/metrics': {
        get: { operationId: 'getMetrics', summary: 'Prometheus metrics', responses: { '200': { description: 'OK' } } },
      },
      '/api/v1/api-keys': {
        post: {
          operationId: 'createApiKey',
          summary: 'Create an API key of the caller’s tenant (admin); the answer’s `key` is shown this once',
          requestBody: { content: { 'application/json': { schema: schema(createApiKeyRequest) } } },
          responses: {
            '201': { description: 'Created', content: { 'application/json': { schema: schema(createdApiKeyView) } } },
            ...errors(400, 413, 415, 503),
          },
        },
        get: {
          operationId: 'listApiKeys',
          summary:
            'The API keys of the caller’s tenant (admin), oldest first, revoked and expired ones included, each with who revoked it; never a secret',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 1000 } },
          ],
          responses: {
            '200': {
              description: 'OK',
              content: {
                'application/json': { schema: schema(z.object({ apiKeys: z.array(apiKeyView) })) },
              },
            },
            ...errors(400, 503),
          },
        },
      },
      '/api/v1/api-keys/{keyId}': {
        parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }],
        delete: {
          operationId: 'revokeApiKey',
          summary:
            'Revoke a key of the caller’s tenant (admin; a platform-admin key: platform admin, never the last usable one, 409 last_platform_admin; never the tenant’s last usable admin key without an expiry unless an admin SSO member remains, 409 last_tenant_admin: create another admin key first); other replicas stop accepting it within seconds (README: Authentication)',
          responses: { '204': { description: 'Revoked' }, ...errors(400, 403, 404, 409, 503) },
        },
        patch: {
          operationId: 'updateApiKey',
          summary:
            'Change a key’s role or name (admin: any tenant role; a platform-admin key: platform admin, and it keeps role admin); this replica applies it at once, others within 5 s (README: Authentication). 409 for a revoked, expired or rotated key; 409 last_tenant_admin for taking the role admin from the tenant’s last usable admin key without an expiry while no admin SSO member remains (create another admin key first)',
          requestBody: { content: { 'application/json': { schema: schema(updateApiKeyRequest) } } },
          responses: {
            '200': {
              description: 'The key after the change',
              content: { 'application/json': { schema: schema(apiKeyView) } },
            },
            ...errors(400, 403, 404, 409, 413, 415, 503),
          },
        },
      },
      '/api/v1/api-keys/{keyId}/rotate': {
        parameters: [{ name: 'keyId', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          operationId: 'rotateApiKey',
          summary:
            'Rotate a key (same rules as revoking it): a new key (shown this once) with the same name, role, platform-admin flag and expiry; the old one is revoked at once or after graceSeconds (at most 86400) and names its successor (replacedBy). 409 for a revoked, expired or already rotated key (of two concurrent rotations, one), and for the last platform-admin key or tenant admin way in rotated with no grace (last_platform_admin, last_tenant_admin). The answer is never cached (Cache-Control: no-store)',
          requestBody: { required: false, content: { 'application/json': { schema: schema(rotateApiKeyRequest) } } },
          responses: {
            '201': {
              description: 'The new key, and the old one as it is now (previous)',
              content: { 'application/json': { schema: schema(rotatedApiKeyView) } },
            },
            ...errors(400, 403, 404, 409, 413, 415, 503),
          },
        },
      },
      '/api/v1/tenants': {
        post: {
          operationId: 'createTenant',
          summary: 'Create a tenant (platform admin), with its first admin key (shown this once)',
          requestBody: { content: { 'application/json': { schema: schema(createTenantRequest) } } },
          responses: {
            '201': { description: 'Created', content: { 'application/json': { schema: schema(createdTenantView) } } },
            ...errors(400, 409, 413, 415, 503),
          },
        },
        get: {
          operationId: 'listTenants',
          summary: 'Every tenant (platform admin)',
          responses: {
            '200': {
              description: 'OK',
              content: { 'application/json': { schema: schema(z.object({ tenants: z.array(tenantView) })) } },
            },
            ...errors(503),
          },
        },
      },
      '/api/v1/tenants/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: schema(tenantId) }],
        patch: {
          operationId: 'updateTenant',
          summary:
            'Disable or enable a tenant (platform admin): a disabled tenant’s keys, console sessions and SSO members are refused with 403 tenant_disabled on every route (other replicas within 5 s); its data and running jobs are left alone; its schedules are paused (schedulesPaused), and enabling unpauses those the disabling paused (schedulesUnpaused). 409 own_tenant for the caller’s own tenant, 409 last_platform_admin when no usable platform-admin key without an expiry would remain in an enabled tenant',
          requestBody: { content: { 'application/json': { schema: schema(updateTenantRequest) } } },
          responses: {
            '200': {
              description: 'The tenant after the change',
              content: { 'application/json': { schema: schema(tenantView) } },
            },
            ...errors(400, 404, 409, 413, 415, 503),
          },
        },
      },
    }),
    components: {
      securitySchemes: SECURITY_SCHEMES,
      headers: RATE_LIMIT_HEADERS,
      schemas: Object.fromEntries(Object.entries(ALGORITHMS).map(([name, a]) => [`${name}Params`, schema(a.params)])),
    },
  };
}
