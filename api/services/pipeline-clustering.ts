import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import type { ClusteringJobInput } from '../../common/jobs';
import type { Table } from '../../datasets/table';
import { estimateClusteringMemoryMb } from '../../gpu/memory-estimate';
import { ALGORITHMS, isAlgorithmName } from '../schemas/clustering';
import type { fullPipelineRequest } from '../schemas/pipelines';
import { parseWith } from '../schemas/validate';
import { ComputePlacement, placeCompute } from './compute-placement';
import type { SubmitDeps } from './submit-job';

type ClusteringBody = NonNullable<z.infer<typeof fullPipelineRequest>['clustering']>;

/** The clustering job a full pipeline runs for its candidate (its datasetId is the pipeline's), and where it runs. */
export interface PipelineClustering {
  job: Omit<ClusteringJobInput, 'datasetId'> & { columns: string[] };
  placement: ComputePlacement;
}

/**
 * Checks a full pipeline's `clustering` body (a POST /api/v1/clustering body) against the pipeline and its dataset, as
 * POST /api/v1/clustering checks its own, each error a ValidationError naming `clustering.<field>`: a known algorithm
 * that can assign new points (the candidate and the champion label the holdout rows), its params, the pipeline's own
 * dataset (no inline `data` nor series `dataset`; `datasetId` and `register.name`, if given, equal to the pipeline's:
 * a pipeline naming its dataset by series, `pipeline.datasetId` absent, takes no `datasetId`), numeric `columns`
 * (default: every column but `labelsColumn`), initial centroids of the right shape, and k at most the rows it trains
 * on (`trainRows`). Returns the job (no `register`: the pipeline registers) and its placement.
 */
export async function checkClusteringCandidate(
  deps: SubmitDeps,
  tenantId: string,
  body: ClusteringBody,
  pipeline: { datasetId?: string; modelName: string; table: Table; trainRows: number },
): Promise<PipelineClustering> {
  const field = (name: string) => `clustering.${name}`;
  if (!isAlgorithmName(body.algorithm))
    throw new ValidationError(
      `${field('algorithm')}: unknown algorithm ${JSON.stringify(body.algorithm)}; available: ${Object.keys(ALGORITHMS).join(', ')}`,
      field('algorithm'),
      'unknown_algorithm',
    );
  const spec = ALGORITHMS[body.algorithm];
  if (!spec.assignsNewPoints) {
    const assigning = Object.entries(ALGORITHMS)
      .filter(([, a]) => a.assignsNewPoints)
      .map(([name]) => name);
    throw new ValidationError(
      `${field('algorithm')}: ${body.algorithm} cannot assign new points, so its model cannot label the holdout; ` +
        `pipelines take ${assigning.join(', ')}`,
      field('algorithm'),
    );
  }
  const params = parseWith(spec.params, body.params, field('params'));
  if (body.data !== undefined)
    throw new ValidationError(
      `${field('data')}: a pipeline clusters its own datasetId; upload the rows as a dataset`,
      field('data'),
    );
  if (body.dataset !== undefined)
    throw new ValidationError(
      `${field('dataset')}: the pipeline fits the candidate on its own dataset; leave it out`,
      field('dataset'),
    );
  if (body.datasetId !== undefined && body.datasetId !== pipeline.datasetId)
    throw new ValidationError(
      `${field('datasetId')}: must be the pipeline datasetId (or left out)`,
      field('datasetId'),
    );
  if (body.register !== undefined && body.register.name !== pipeline.modelName)
    throw new ValidationError(
      `${field('register.name')}: must be the pipeline model.name (or left out): the pipeline registers the candidate`,
      field('register.name'),
    );
  const { table } = pipeline;
  if (body.labelsColumn !== undefined && !table.columns.some((c) => c.name === body.labelsColumn))
    throw new ValidationError(
      `${field('labelsColumn')}: the dataset has no column ${JSON.stringify(body.labelsColumn)}`,
      field('labelsColumn'),
    );
  const columns = body.columns ?? table.columns.map((c) => c.name).filter((name) => name !== body.labelsColumn);
  if (columns.length === 0)
    throw new ValidationError(`${field('columns')}: no columns left to cluster on`, field('columns'));
  for (const [i, column] of columns.entries()) {
    const where = body.columns ? field(`columns[${i}]`) : field('columns');
    const type = table.columns.find((c) => c.name === column)?.type;
    if (type === undefined)
      throw new ValidationError(`${where}: the dataset has no column ${JSON.stringify(column)}`, where);
    if (type !== 'number')
      throw new ValidationError(
        `${where}: column ${JSON.stringify(column)} holds text; clustering needs numeric columns (choose them with "columns")`,
        where,
      );
  }
  if (Array.isArray(params.init)) {
    const init = params.init as number[][];
    if (init.length !== params.k)
      throw new ValidationError(
        `${field('params.init')}: ${init.length} centroids but params.k is ${String(params.k)}`,
        field('params.init'),
      );
    const bad = init.findIndex((row) => row.length !== columns.length);
    if (bad >= 0)
      throw new ValidationError(
        `${field(`params.init[${bad}]`)}: must have one number per column (${columns.length})`,
        field(`params.init[${bad}]`),
      );
  }
  if (typeof params.k === 'number' && params.k > pipeline.trainRows)
    throw new ValidationError(
      `${field('params.k')}: ${params.k} clusters but the candidate trains on ${pipeline.trainRows} rows`,
      field('params.k'),
    );
  const algorithm = body.algorithm;
  const placement = await placeCompute(deps, body.resources, () =>
    estimateClusteringMemoryMb(algorithm, { n: pipeline.trainRows, d: columns.length, params }),
  );
  return {
    job: {
      tenantId,
      algorithm,
      params,
      columns,
      ...(body.labelsColumn !== undefined ? { labelsColumn: body.labelsColumn } : {}),
      ...(placement.route ? { route: placement.route } : {}),
      gpuMemoryMb: placement.gpuMemoryMb,
    },
    placement,
  };
}
