import { z } from 'zod';
import { DatasetLimits } from '../datasets/limits';
import { clusteringRequest, jobAccepted } from './schemas/clustering';
import { errorBody } from './schemas/common';
import { ALGORITHMS } from './schemas/clustering';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [String(code), { description: 'Error', content: { 'application/json': { schema: schema(errorBody) } } }]),
  );

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
                    data: { type: 'array', items: { oneOf: [{ type: 'array', items: { type: ['number', 'string'] } }, { type: 'object' }] } },
                  },
                },
              },
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          responses: { '201': { description: 'Stored' }, '200': { description: 'Already stored' }, ...errors(400, 413, 415) },
        },
        get: { summary: 'Recent datasets', responses: { '200': { description: 'OK' } } },
      },
      '/api/v1/datasets/{id}': { get: { summary: 'Dataset metadata', responses: { '200': { description: 'OK' }, ...errors(404) } } },
      '/api/v1/clustering': {
        post: {
          summary: 'Start a clustering job',
          requestBody: { content: { 'application/json': { schema: schema(clusteringRequest) } } },
          responses: {
            '202': { description: 'Started', content: { 'application/json': { schema: schema(jobAccepted) } } },
            ...errors(400, 404, 413, 415),
          },
        },
      },
      '/api/v1/jobs': { get: { summary: 'Recent jobs (filter: kind, status, limit)', responses: { '200': { description: 'OK' }, ...errors(400) } } },
      '/api/v1/jobs/{jobId}': { get: { summary: 'Status, progress, summary or error', responses: { '200': { description: 'OK' }, ...errors(404) } } },
      '/api/v1/jobs/{jobId}/result': {
        get: { summary: 'Full result (wait up to ?wait= seconds)', responses: { '200': { description: 'OK' }, ...errors(404, 409) } },
      },
      '/api/v1/jobs/{jobId}/cancel': { post: { summary: 'Request cancellation', responses: { '202': { description: 'Requested' }, ...errors(404, 409) } } },
      '/api/v1/models/{name}/versions': { get: { summary: 'Versions of a registered model', responses: { '200': { description: 'OK' }, ...errors(400, 404) } } },
      '/api/v1/models/{name}/versions/{version}': {
        get: { summary: 'One model version with params, metrics and lineage', responses: { '200': { description: 'OK' }, ...errors(400, 404) } },
      },
      '/api/v1/artifacts/{id}': { get: { summary: 'Artifact bytes', responses: { '200': { description: 'OK' }, ...errors(404) } } },
      '/api/v1/algorithms': { get: { summary: 'Algorithms with parameter schemas, defaults and limits', responses: { '200': { description: 'OK' } } } },
      '/health': { get: { summary: 'Alive', responses: { '200': { description: 'OK' } } } },
      '/ready': { get: { summary: 'Postgres and Temporal reachable', responses: { '200': { description: 'OK' }, '503': { description: 'Degraded' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'OK' } } } },
    },
    components: {
      schemas: Object.fromEntries(Object.entries(ALGORITHMS).map(([name, a]) => [`${name}Params`, schema(a.params)])),
    },
  };
}
