import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../common/errors';
import { ClusteringJobInput } from '../../common/jobs';
import { TASK_QUEUES } from '../../common/task-queues';
import { DEFAULT_TENANT } from '../../common/tenant';
import { tableFromRows } from '../../datasets/parse-json';
import { createDataset, DatasetMeta, getDataset } from '../../db/datasets';
import { ApiDeps } from '../context';
import { ALGORITHMS, clusteringRequest, isAlgorithmName } from '../schemas/clustering';
import { parseWith } from '../schemas/validate';

export type ClusteringRequest = z.infer<typeof clusteringRequest>;

export interface SubmittedJob {
  jobId: string;
  datasetId: string;
  taskQueue: string;
}

/**
 * Validates a clustering request against its algorithm and its dataset, stores inline data as a dataset, and starts
 * the workflow with the dataset's id (never the data). Shared by /api/v1/clustering and the seed-compatible alias.
 */
export async function submitClustering(deps: ApiDeps, body: unknown): Promise<SubmittedJob> {
  const request = parseWith(clusteringRequest, body);
  if (!isAlgorithmName(request.algorithm)) {
    throw new ValidationError(
      `unknown algorithm ${JSON.stringify(request.algorithm)}; available: ${Object.keys(ALGORITHMS).join(', ')}`,
      'algorithm',
      'unknown_algorithm',
    );
  }
  const params = parseWith(ALGORITHMS[request.algorithm].params, request.params, 'params');
  if ((request.datasetId === undefined) === (request.data === undefined)) {
    throw new ValidationError('give exactly one of datasetId (a stored dataset) or data (inline rows)', request.data ? 'data' : 'datasetId');
  }

  const dataset = await resolveDataset(deps, request);
  const columns = request.columns ?? dataset.columnSpecs.map((c) => c.name);
  for (const [i, column] of columns.entries()) {
    const spec = dataset.columnSpecs.find((c) => c.name === column);
    if (!spec) throw new ValidationError(`dataset ${dataset.id} has no column ${JSON.stringify(column)}`, `columns[${i}]`);
    if (spec.type !== 'number') {
      throw new ValidationError(
        `column ${JSON.stringify(column)} holds text; clustering needs numeric columns (choose them with "columns")`,
        request.columns ? `columns[${i}]` : request.data ? 'data' : 'columns',
      );
    }
  }
  if (params.k > dataset.rows) {
    throw new ValidationError(`params.k is ${params.k} but the dataset has only ${dataset.rows} rows`, 'params.k');
  }

  const accelerator = request.resources?.accelerator ?? 'any';
  // Until GPU pools exist (issue: GPU-tagged worker pools) `any` runs on CPU; an explicit `gpu` waits for a GPU worker.
  const taskQueue = accelerator === 'gpu' ? TASK_QUEUES.gpu : TASK_QUEUES.cpu;
  const jobId = `clustering-${randomUUID()}`;
  const input: ClusteringJobInput = {
    tenantId: DEFAULT_TENANT,
    datasetId: dataset.id,
    algorithm: request.algorithm,
    params,
    ...(request.columns ? { columns: request.columns } : {}),
    ...(request.register ? { register: request.register } : {}),
  };
  await deps.jobs.startClustering(jobId, input, taskQueue, {
    kind: 'clustering',
    algorithm: request.algorithm,
    params,
    dataset: { id: dataset.id, name: dataset.name, rows: dataset.rows, columns: columns.length },
    resources: { accelerator, ...(request.resources ?? {}) },
    ...(request.register ? { register: request.register.name } : {}),
  });
  deps.metrics.jobsStarted.inc({ kind: 'clustering', algorithm: request.algorithm });
  return { jobId, datasetId: dataset.id, taskQueue };
}

async function resolveDataset(deps: ApiDeps, request: ClusteringRequest): Promise<DatasetMeta> {
  if (request.datasetId) {
    const dataset = await getDataset(deps.pool, DEFAULT_TENANT, request.datasetId);
    if (!dataset) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
    return dataset;
  }
  const table = tableFromRows(request.data, deps.limits, 'data');
  const { dataset } = await createDataset(deps.pool, {
    tenantId: DEFAULT_TENANT,
    name: `inline-${new Date().toISOString()}`,
    sourceFormat: 'json',
    table,
  });
  return dataset;
}
