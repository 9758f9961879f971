import type { Pool } from 'pg';
import type { DatasetRef } from '../../common/dataset-ref';
import { NotFoundError, ValidationError } from '../../common/errors';
import { resolveSeriesVersion } from '../../db/dataset-series';
import { DatasetMeta, getDataset } from '../../db/datasets';

/** The dataset a request names, as its submit service validates against it. */
export interface RequestDataset {
  /** The dataset itself, or for a series reference the version it names now (what the request is checked against). */
  meta: DatasetMeta;
  /** The series reference, when the request gave one: the run resolves it again when it starts. */
  ref?: DatasetRef;
}

/**
 * The dataset of `tenantId` a request takes `datasetId` or `dataset` (exactly one; ValidationError otherwise). A series
 * reference is resolved as of now (a schedule's runs resolve it again at their own scheduled times): NotFoundError
 * naming `dataset.name` or `dataset.version` when it names nothing yet; an unknown id is a NotFoundError naming
 * `datasetId`.
 */
export async function requestDataset(
  pool: Pool,
  tenantId: string,
  request: { datasetId?: string; dataset?: DatasetRef },
): Promise<RequestDataset> {
  if ((request.datasetId === undefined) === (request.dataset === undefined)) {
    throw new ValidationError(
      'give exactly one of datasetId (a stored dataset) or dataset (a version of a named series)',
      request.dataset ? 'dataset' : 'datasetId',
    );
  }
  if (request.datasetId !== undefined) {
    const meta = await getDataset(pool, tenantId, request.datasetId);
    if (!meta) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
    return { meta };
  }
  const ref = request.dataset!;
  const version = await resolveSeriesVersion(pool, tenantId, ref.name, ref.version, new Date());
  if (!version) {
    if (typeof ref.version === 'number')
      throw new NotFoundError(`version ${ref.version} of dataset series`, ref.name, 'dataset.version');
    throw new NotFoundError(
      typeof ref.version === 'object' ? `a version at ${ref.version.asOf} of dataset series` : 'dataset series',
      ref.name,
      typeof ref.version === 'object' ? 'dataset.version' : 'dataset.name',
    );
  }
  return { meta: version.dataset, ref };
}

/** The workflow input's dataset: `{datasetId}`, or `{dataset}` for a series reference (resolved when the run starts). */
export function datasetInput(rd: RequestDataset): { datasetId: string } | { dataset: DatasetRef } {
  return rd.ref ? { dataset: rd.ref } : { datasetId: rd.meta.id };
}

/** The memo's `dataset`: the stored dataset, or the reference until the run records what it resolved. */
export function datasetMemo(rd: RequestDataset, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return rd.ref
    ? { name: rd.ref.name, version: rd.ref.version }
    : { id: rd.meta.id, name: rd.meta.name, rows: rd.meta.rows, ...extra };
}
