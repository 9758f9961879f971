import { z } from 'zod';
import { DatasetLimits } from '../datasets/limits';
import { clusteringRequest, jobAccepted } from './schemas/clustering';
import { errorBody, MODEL_NAME_PATTERN } from './schemas/common';
import { batchPredictRequest, predictRequest } from './schemas/predict';
import { seedClusterRequest } from './schemas/seed';
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

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

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
  schema: { type: 'string', pattern: '^pipeline-(validation|full)-[0-9a-f-]{36}$' },
};
const aliasPathParam = {
  name: 'alias',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: ALIAS_PATTERN.source },
  description: '`latest` and `v<number>` are reserved (GET of `latest` resolves to the highest version)',
};

/** The OpenAPI 3.1 document, generated from the zod schemas the API validates with, so the two cannot drift. */
export function openApiDocument(limits: DatasetLimits) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kiln API',
      version: '1',
      description:
        `Durable ML jobs on Temporal. Limits: body ${limits.maxBodyBytes} bytes, ${limits.maxRows} rows, ` +
        `${limits.maxColumns} columns, ${limits.maxCells} cells per dataset.`,
    },
    paths: {
      '/api/v1/datasets': {
        post: {
          summary: 'Upload a dataset (JSON, CSV or NDJSON); identical content returns the stored dataset',
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
            ...errors(400, 413, 415),
          },
        },
        get: { summary: 'Recent datasets', responses: { '200': { description: 'OK' } } },
      },
      '/api/v1/datasets/{id}': {
        get: { summary: 'Dataset metadata', responses: { '200': { description: 'OK' }, ...errors(404) } },
      },
      '/api/v1/clustering': {
        post: {
          summary: 'Start a clustering job',
          requestBody: { content: { 'application/json': { schema: schema(clusteringRequest) } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: schema(jobAccepted) } } },
            ...errors(400, 404, 413, 415, 422),
          },
        },
      },
      '/api/v1/training': {
        post: {
          summary: 'Start a durable training job (checkpoints, resume after a crash, one registered version)',
          requestBody: { content: { 'application/json': { schema: schema(trainingRequest) } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: schema(jobAccepted) } } },
            ...errors(400, 404, 413, 415, 422),
          },
        },
      },
      '/api/v1/pipelines/validation': {
        post: {
          summary:
            'Start a validation pipeline: data checks (schema, missing, non-finite, constant, duplicates, ranges, levels, target, drift against referenceDatasetId) stored as a report; kind `pipeline` in GET /api/v1/jobs',
          requestBody: { content: { 'application/json': { schema: schema(validationPipelineRequest) } } },
          responses: { '202': { description: 'Started: {pipelineId, links}' }, ...errors(400, 404, 413, 415) },
        },
      },
      '/api/v1/pipelines/full': {
        post: {
          summary:
            'Start a full pipeline: validate → train (child job: `training` an MLP, or `clustering` a clustering model) → evaluate candidate and alias holder on one holdout (holdout metrics, or quality metrics of each clustering of the holdout rows) → gate → approval (optional) → register (READY or FAILED_VALIDATION) → promote (previous holder kept as previous-<alias>); 422 when the alias holder cannot be compared with the candidate',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  ...schema(fullPipelineRequest),
                  oneOf: [{ required: ['training'] }, { required: ['clustering'] }],
                },
              },
            },
          },
          responses: { '202': { description: 'Started: {pipelineId, links}' }, ...errors(400, 404, 413, 415, 422) },
        },
      },
      '/api/v1/pipelines/{id}': {
        parameters: [pipelineIdParam],
        get: {
          summary:
            'Status (RUNNING, AWAITING_APPROVAL, PASSED, FAILED_VALIDATION, GATE_FAILED, REJECTED, PROMOTED, FAILED, CANCELED), stage, counts, metrics, gate, decision, registered version, promotion, links',
          responses: { '200': { description: 'OK' }, ...errors(404) },
        },
      },
      '/api/v1/pipelines/{id}/report': {
        parameters: [pipelineIdParam],
        get: {
          summary:
            'The data-validation report ({checks, summary, profile, drift}) and, past evaluation, the evaluation table with the gate verdict; 409 before the report exists',
          responses: { '200': { description: 'OK' }, ...errors(404, 409) },
        },
      },
      '/api/v1/pipelines/{id}/decision': {
        parameters: [pipelineIdParam],
        post: {
          summary:
            "Approve or reject a pipeline waiting for approval (a Temporal Update): answers with the outcome (registered version, promotion; status FAILED with the failure's message and type when registering or promoting failed). The same decision sent again answers the recorded outcome, also after the run ended; 409 for another decision or a run not waiting; 503 (dependency_unavailable) when the run's worker does not accept it within 10 s",
          requestBody: { content: { 'application/json': { schema: schema(decisionRequest) } } },
          responses: { '200': { description: 'Decided' }, ...errors(400, 404, 409, 413, 415, 503) },
        },
      },
      '/api/v1/jobs/{jobId}/stop': {
        post: {
          summary: 'Training: finish after the current epoch and register',
          responses: { '202': { description: 'Requested' }, ...errors(404, 409) },
        },
      },
      '/api/v1/models/{name}/predict': {
        post: {
          summary: 'Online prediction with a registered model',
          requestBody: { content: { 'application/json': { schema: schema(predictRequest) } } },
          responses: { '200': { description: 'OK' }, ...errors(400, 404, 413, 415) },
        },
      },
      '/api/v1/models/{name}/batch-predict': {
        post: {
          summary: 'Batch prediction over a stored dataset (a job)',
          requestBody: { content: { 'application/json': { schema: schema(batchPredictRequest) } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: schema(jobAccepted) } } },
            ...errors(400, 404, 413, 415, 422),
          },
        },
      },
      '/api/v1/jobs': {
        get: {
          summary:
            'Recent jobs (filter: kind clustering|training|batch-predict|pipeline, status incl. AWAITING_APPROVAL, limit)',
          responses: { '200': { description: 'OK' }, ...errors(400) },
        },
      },
      '/api/v1/jobs/{jobId}': {
        get: {
          summary: 'Status, progress, summary or error',
          responses: { '200': { description: 'OK' }, ...errors(404) },
        },
      },
      '/api/v1/jobs/{jobId}/result': {
        get: {
          summary: 'Full result (wait up to ?wait= seconds)',
          responses: { '200': { description: 'OK' }, ...errors(404, 409) },
        },
      },
      '/api/v1/jobs/{jobId}/cancel': {
        post: {
          summary: 'Request cancellation',
          responses: { '202': { description: 'Requested' }, ...errors(404, 409) },
        },
      },
      '/api/v1/models': {
        get: {
          summary: 'Registered models, most recently changed first',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: MODEL_LIMITS.maxListLimit, default: 50 },
            },
          ],
          responses: { '200': { description: 'OK' }, ...errors(400) },
        },
        post: {
          summary: 'Register a model name with description and tags',
          requestBody: { content: { 'application/json': { schema: schema(createModelRequest) } } },
          responses: { '201': { description: 'Created' }, ...errors(400, 409, 413, 415) },
        },
      },
      '/api/v1/models/{name}': {
        parameters: [modelNameParam],
        get: {
          summary: 'A model with its latest version number and aliases',
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
        patch: {
          summary: 'Change the description and/or merge tags (null removes a tag); audited',
          requestBody: { content: { 'application/json': { schema: schema(updateModelRequest) } } },
          responses: { '200': { description: 'Updated model' }, ...errors(400, 404, 413, 415) },
        },
        delete: {
          summary:
            'Delete the model, its versions and aliases (artifacts stay: content addressed, maybe shared); audited',
          responses: { '204': { description: 'Deleted' }, ...errors(400, 404) },
        },
      },
      '/api/v1/models/{name}/versions': {
        parameters: [modelNameParam],
        get: {
          summary: 'Versions of a registered model, with aliases and artifact links',
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
      },
      '/api/v1/models/{name}/versions/{version}': {
        parameters: [modelNameParam, versionPathParam],
        get: {
          summary: 'One model version with params, metrics, lineage, aliases and artifact',
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
        patch: {
          summary: "Change a version's description, tags (merged) and/or status; audited",
          requestBody: { content: { 'application/json': { schema: schema(updateVersionRequest) } } },
          responses: { '200': { description: 'Updated version' }, ...errors(400, 404, 413, 415) },
        },
      },
      '/api/v1/models/{name}/aliases/{alias}': {
        parameters: [modelNameParam, aliasPathParam],
        get: {
          summary: 'The version the alias points at (`latest`: the highest version)',
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
        put: {
          summary: 'Create or move the alias atomically; answers {alias, version, previousVersion?}; audited',
          requestBody: { content: { 'application/json': { schema: schema(setAliasRequest) } } },
          responses: { '200': { description: 'Set' }, ...errors(400, 404, 413, 415) },
        },
        delete: {
          summary: 'Remove the alias; audited',
          responses: { '204': { description: 'Deleted' }, ...errors(400, 404) },
        },
      },
      '/api/v1/models/{name}/events': {
        parameters: [modelNameParam],
        get: {
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
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
      },
      '/api/v1/artifacts/{id}': {
        get: { summary: 'Artifact bytes', responses: { '200': { description: 'OK' }, ...errors(404) } },
      },
      '/api/v1/gpus': {
        get: {
          summary: 'GPU devices (discovered or declared) with pool, worker, host, state and latest sample',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/v1/gpus/{id}/telemetry': {
        get: {
          summary:
            'Samples of one device with start_time ≤ recordedAt ≤ end_time, oldest first (at most 10,000; `truncated` says when more exist)',
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
          ],
          responses: { '200': { description: 'OK' }, ...errors(400, 404) },
        },
      },
      '/api/v1/resources/status': {
        get: {
          summary:
            'Worker pools: task queues, workers, devices, slots used/free, jobs running and waiting for GPU memory, memory budget/reserved, from the latest samples',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/gpu/status': {
        get: {
          summary:
            'Seed-compatible GPU summary: {gpus: [{id, name, memoryUsedMb, memoryTotalMb, memoryBudgetMb, memoryReservedMb, jobsWaiting, utilizationPct, state}], available}',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/v1/algorithms': {
        get: {
          summary: 'Algorithms with parameter schemas, defaults and limits',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/api/v1/openapi.json': {
        get: { summary: 'This document (OpenAPI 3.1)', responses: { '200': { description: 'OK' } } },
      },
      '/api/cluster/{algorithm}': {
        post: {
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
            ...errors(400, 409, 413, 415, 422),
          },
        },
      },
      '/api/algorithms': {
        get: {
          summary: 'Seed-compatible alias of GET /api/v1/algorithms',
          responses: { '200': { description: 'OK' } },
        },
      },
      '/health': { get: { summary: 'Alive', responses: { '200': { description: 'OK' } } } },
      '/ready': {
        get: {
          summary: 'Postgres and Temporal reachable',
          responses: { '200': { description: 'OK' }, '503': { description: 'Degraded' } },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'OK' } } } },
    },
    components: {
      schemas: Object.fromEntries(Object.entries(ALGORITHMS).map(([name, a]) => [`${name}Params`, schema(a.params)])),
    },
  };
}
