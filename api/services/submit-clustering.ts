import { z } from 'zod';
import { UnprocessableError, ValidationError } from '../../common/errors';
import type { ByDatasetRef } from '../../common/dataset-ref';
import { ClusteringInitRef, ClusteringJobInput, ClusteringParams } from '../../common/jobs';
import { tableFromRows } from '../../datasets/parse-json';
import { DatasetLimits } from '../../datasets/limits';
import { Table } from '../../datasets/table';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { estimateClusteringMemoryMb } from '../../gpu/memory-estimate';
import { ALGORITHMS, clusteringRequest, isAlgorithmName } from '../schemas/clustering';
import { parseWith } from '../schemas/validate';
import { placeCompute } from './compute-placement';
import { datasetInput, datasetMemo, RequestDataset, requestDataset } from './request-dataset';
import { ServerTiming, timed } from './server-timing';
import { PreparedJob, startPreparedJob, SubmitDeps, SubmitOptions, SubmittedJob } from './submit-job';
import { priorityKeyOf } from './job-priority';

export type ClusteringRequest = z.infer<typeof clusteringRequest>;

/** Clustering also stores inline `data` as a dataset, under the dataset limits. */
export interface ClusteringDeps extends SubmitDeps {
  limits: DatasetLimits;
  /** Inputs up to this many points × columns compute as a local activity (KILN_LOCAL_COMPUTE_MAX_CELLS; 0: never). */
  localComputeMaxCells: number;
}

/**
 * Whether a job's compute runs as a local activity in its workflow's task (ClusteringJobInput.runLocally): only on the
 * CPU pool that runs the workflow (no route to a GPU queue), only for a dataset known now (by id, not a series
 * reference that a later version may grow), and only up to `maxCells` points × columns, where the compute takes
 * milliseconds and a dispatch of its own would cost more than the work. Larger jobs keep the activity path, with its
 * heartbeats and progress.
 */
export function runsLocally(
  placement: { route?: unknown },
  byReference: boolean,
  cells: number,
  maxCells: number,
): boolean {
  return !placement.route && !byReference && cells <= maxCells;
}

/** Options of a clustering submission: inline rows already read into a table as the body streamed in. */
export interface ClusteringSubmitOptions extends SubmitOptions {
  /** The body's `data`, parsed by parseJsonEnvelope (the body passed then has no `data` field). */
  table?: Table;
}

/**
 * Stores k-means centroids given as `init` (k × d numbers: they grow with the data) as an artifact and returns the
 * params with a ClusteringInitRef in their place, so that neither the workflow input nor the memo carries them.
 */
async function storeInit(deps: SubmitDeps, tenantId: string, params: ClusteringParams): Promise<ClusteringParams> {
  if (!Array.isArray(params.init)) return params;
  const init = params.init as number[][];
  const artifact = await putArtifact(deps.pool, {
    tenantId,
    kind: 'clustering-init',
    mediaType: 'application/json',
    content: Buffer.from(JSON.stringify(init)),
  });
  const ref: ClusteringInitRef = { artifactId: artifact.id, k: init.length, d: init[0]?.length ?? 0 };
  return { ...params, init: ref };
}

/**
 * Starts a clustering job for `tenantId` from a POST /api/v1/clustering body (the submit-job.ts shape). Shared by /api/v1/clustering
 * and the seed-compatible alias. With `options.idempotency`, the job id comes from the Idempotency-Key (a replay finds
 * the key's job).
 */
export async function submitClustering(
  deps: ClusteringDeps,
  tenantId: string,
  body: unknown,
  options: ClusteringSubmitOptions = {},
): Promise<SubmittedJob> {
  const prepared = await timed(options.timing, 'prepare', () =>
    prepareClustering(deps, tenantId, body, {
      ...(options.table ? { table: options.table } : {}),
      ...(options.timing ? { timing: options.timing } : {}),
    }),
  );
  return startPreparedJob(deps, prepared, options);
}

/**
 * Validates a POST /api/v1/clustering body against its algorithm and its dataset (a stored one, a series version, or
 * inline data, which is stored as a dataset unless `inlineData` is false) and builds the workflow start with the
 * dataset's id or series reference (never the data). ValidationError naming the field, NotFoundError for the dataset,
 * PayloadTooLargeError for inline data past the limits, UnprocessableError for more points than the algorithm takes or
 * more GPU memory than any online device has. k-means `init` centroids are stored as an artifact (the job carries its
 * id). With `options.table`, the inline rows were read as the body streamed in (parseJsonEnvelope) and `body` has no
 * `data`; `options.timing` records the dataset's store or lookup as `dataset`.
 */
export async function prepareClustering(
  deps: ClusteringDeps,
  tenantId: string,
  body: unknown,
  options: { inlineData?: boolean; table?: Table; timing?: ServerTiming } = {},
): Promise<PreparedJob> {
  const request = parseWith(clusteringRequest, body);
  const inline = request.data !== undefined || options.table !== undefined;
  if (!isAlgorithmName(request.algorithm)) {
    throw new ValidationError(
      `unknown algorithm ${JSON.stringify(request.algorithm)}; available: ${Object.keys(ALGORITHMS).join(', ')}`,
      'algorithm',
      'unknown_algorithm',
    );
  }
  const spec = ALGORITHMS[request.algorithm];
  const params = parseWith(spec.params, request.params, 'params');
  if (request.register && !spec.assignsNewPoints) {
    throw new ValidationError(
      `${request.algorithm} results cannot assign new points, so they cannot be registered as a model`,
      'register',
    );
  }
  const given = [request.datasetId, request.dataset, inline ? true : undefined].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new ValidationError(
      'give exactly one of datasetId (a stored dataset), dataset (a version of a named series) or data (inline rows)',
      inline ? 'data' : request.dataset ? 'dataset' : 'datasetId',
    );
  }
  if (inline && options.inlineData === false) {
    throw new ValidationError(
      'inline data cannot be scheduled: upload it as a dataset series and give "dataset": {"name": ...}',
      'data',
    );
  }

  const source = await timed(options.timing, 'dataset', () => resolveDataset(deps, tenantId, request, options.table));
  const dataset = source.meta;
  const limit = spec.limit?.(params);
  if (limit && dataset.rows > limit.maxPoints) {
    throw new UnprocessableError(
      `${request.algorithm} accepts at most ${limit.maxPoints} points (${limit.why}); this dataset has ${dataset.rows}` +
        (limit.alternative ? `. For larger inputs use ${limit.alternative}` : ''),
      inline ? 'data' : 'datasetId',
      'too_many_points',
    );
  }
  if (request.labelsColumn && !dataset.columnSpecs.some((c) => c.name === request.labelsColumn)) {
    throw new ValidationError(
      `dataset ${dataset.id} has no column ${JSON.stringify(request.labelsColumn)}`,
      'labelsColumn',
    );
  }
  const columns =
    request.columns ?? dataset.columnSpecs.map((c) => c.name).filter((name) => name !== request.labelsColumn);
  if (columns.length === 0) throw new ValidationError('no columns left to cluster on besides labelsColumn', 'columns');
  const seen = new Set<string>();
  for (const [i, column] of columns.entries()) {
    // Each column once: a repeated name would only grow the job's input (the activity refuses it anyway).
    if (seen.has(column))
      throw new ValidationError(`columns names ${JSON.stringify(column)} more than once`, `columns[${i}]`);
    seen.add(column);
    const spec = dataset.columnSpecs.find((c) => c.name === column);
    if (!spec)
      throw new ValidationError(`dataset ${dataset.id} has no column ${JSON.stringify(column)}`, `columns[${i}]`);
    if (spec.type !== 'number') {
      throw new ValidationError(
        `column ${JSON.stringify(column)} holds text; clustering needs numeric columns (choose them with "columns")`,
        request.columns ? `columns[${i}]` : inline ? 'data' : 'columns',
      );
    }
  }
  if (Array.isArray(params.init)) {
    const init = params.init as number[][];
    if (init.length !== params.k)
      throw new ValidationError(`params.init has ${init.length} centroids but params.k is ${params.k}`, 'params.init');
    const bad = init.findIndex((row) => row.length !== columns.length);
    if (bad >= 0)
      throw new ValidationError(
        `params.init[${bad}] must have one number per column (${columns.length})`,
        `params.init[${bad}]`,
      );
  }
  if (typeof params.k === 'number' && params.k > dataset.rows) {
    throw new ValidationError(`params.k is ${params.k} but the dataset has only ${dataset.rows} rows`, 'params.k');
  }

  // Where it runs and the device memory it needs (requested, else estimated from its inputs), recorded with the job.
  const algorithm = request.algorithm;
  const placement = await placeCompute(deps, request.resources, () =>
    estimateClusteringMemoryMb(algorithm, { n: dataset.rows, d: columns.length, params }),
  );
  const stored = await storeInit(deps, tenantId, params);
  const input: ClusteringJobInput | ByDatasetRef<ClusteringJobInput> = {
    tenantId,
    ...datasetInput(source),
    algorithm: request.algorithm,
    params: stored,
    ...(request.columns ? { columns: request.columns } : {}),
    ...(request.labelsColumn ? { labelsColumn: request.labelsColumn } : {}),
    ...(request.register ? { register: request.register } : {}),
    ...(placement.route ? { route: placement.route } : {}),
    gpuMemoryMb: placement.gpuMemoryMb,
    ...(runsLocally(placement, source.ref !== undefined, dataset.rows * columns.length, deps.localComputeMaxCells)
      ? { runLocally: true }
      : {}),
  };
  return {
    kind: 'clustering',
    idPrefix: 'clustering',
    workflowType: 'clusteringWorkflow',
    input,
    taskQueue: placement.taskQueue,
    computeQueue: placement.computeQueue,
    memo: {
      kind: 'clustering',
      algorithm: request.algorithm,
      params: stored,
      dataset: datasetMemo(source, { columns: columns.length }),
      resources: placement.memo,
      ...(request.register ? { register: request.register.name } : {}),
    },
    attributes: {
      kind: 'clustering',
      tenantId,
      ...(source.ref ? {} : { datasetId: dataset.id }),
      algorithm: request.algorithm,
      ...(request.register ? { modelName: request.register.name } : {}),
    },
    datasetId: dataset.id,
    ...(source.ref ? { details: { dataset: source.ref } } : {}),
    metric: { kind: 'clustering', algorithm: request.algorithm },
    priorityKey: priorityKeyOf(request.priority),
  };
}

async function resolveDataset(
  deps: ClusteringDeps,
  tenantId: string,
  request: ClusteringRequest,
  streamed?: Table,
): Promise<RequestDataset> {
  if (request.data === undefined && streamed === undefined) return requestDataset(deps.pool, tenantId, request);
  const table = streamed ?? tableFromRows(request.data, deps.limits, 'data');
  const { dataset } = await createDataset(deps.pool, {
    tenantId,
    name: `inline-${new Date().toISOString()}`,
    sourceFormat: 'json',
    table,
  });
  return { meta: dataset };
}
