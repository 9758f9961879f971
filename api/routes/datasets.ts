import Router from '@koa/router';
import { z } from 'zod';
import { NotFoundError, UnsupportedMediaTypeError } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { parseCsv } from '../../datasets/parse-csv';
import { parseJsonBody } from '../../datasets/parse-json';
import { parseNdjson } from '../../datasets/parse-ndjson';
import { Table } from '../../datasets/table';
import { createDataset, DatasetMeta, getDataset, listDatasets } from '../../db/datasets';
import { createSeriesVersion, DatasetVersion, listSeriesVersions } from '../../db/dataset-series';
import { ApiDeps } from '../context';
import { parseWith } from '../schemas/validate';
import { datasetSummary } from '../services/dataset-summary';
import { principalOf, requires } from '../auth/access';
import { storableText } from '../schemas/storable-text';

/** A dataset (series) name in a query: 1-200 characters Postgres can store (no NUL, no lone surrogate). */
export const datasetName = storableText().min(1).max(200);
const uploadQuery = z.object({ name: datasetName.optional() });
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  name: datasetName.optional(),
});

export function datasetView(d: DatasetMeta) {
  return {
    id: d.id,
    name: d.name,
    rows: d.rows,
    columns: d.columns,
    sha256: d.sha256,
    columnSpecs: d.columnSpecs,
    sourceFormat: d.sourceFormat,
    sizeBytes: d.sizeBytes,
    createdAt: d.createdAt,
    links: { self: `/api/v1/datasets/${d.id}` },
  };
}

/** One version of a named series: its number, when it was added, and the dataset it points at. */
export function datasetVersionView(v: DatasetVersion) {
  return { name: v.name, version: v.version, createdAt: v.createdAt, dataset: datasetView(v.dataset) };
}

export function datasetsRouter(deps: ApiDeps): Router {
  const router = new Router();

  // JSON, CSV or NDJSON; CSV and NDJSON are parsed as they stream in, and every limit stops the upload the moment it
  // is passed. A table already stored (same canonical content) is returned with 200 instead of stored twice. A named
  // upload also becomes the newest version of its name (`series`), unless it already is the newest.
  router.post('/datasets', requires('editor'), async (ctx) => {
    const query = parseWith(uploadQuery, ctx.query, 'query');
    let table: Table;
    let name = query.name;
    let format: 'json' | 'csv' | 'ndjson';
    if (ctx.is('application/json')) {
      const parsed = await parseJsonBody(ctx.req, deps.limits);
      table = parsed.table;
      name = parsed.name ?? name;
      format = 'json';
    } else if (ctx.is('text/csv')) {
      table = await parseCsv(ctx.req, deps.limits);
      format = 'csv';
    } else if (ctx.is('application/x-ndjson', 'application/ndjson', 'application/jsonl')) {
      table = await parseNdjson(ctx.req, deps.limits);
      format = 'ndjson';
    } else {
      throw new UnsupportedMediaTypeError(
        `expected Content-Type application/json, text/csv or application/x-ndjson, got ${ctx.get('content-type') || 'none'}`,
      );
    }
    if (name === undefined) {
      const { dataset, created } = await createDataset(deps.pool, {
        tenantId: principalOf(ctx).tenantId,
        name: `dataset-${new Date().toISOString()}`,
        sourceFormat: format,
        table,
      });
      ctx.status = created ? 201 : 200;
      ctx.set('Location', `/api/v1/datasets/${dataset.id}`);
      ctx.body = { ...datasetView(dataset), created };
      return;
    }
    const stored = await createSeriesVersion(deps.pool, {
      tenantId: principalOf(ctx).tenantId,
      name,
      sourceFormat: format,
      table,
    });
    ctx.status = stored.created ? 201 : 200;
    ctx.set('Location', `/api/v1/datasets/${stored.dataset.id}`);
    ctx.body = {
      ...datasetView(stored.dataset),
      created: stored.created,
      series: { name, version: stored.version, added: stored.added, createdAt: stored.versionCreatedAt },
    };
  });

  // `?name=`: the versions of that series, newest first; otherwise recent datasets.
  router.get('/datasets', requires('viewer'), async (ctx) => {
    const { limit, name } = parseWith(listQuery, ctx.query, 'query');
    if (name !== undefined) {
      const versions = await listSeriesVersions(deps.pool, principalOf(ctx).tenantId, name, limit);
      ctx.body = { name, versions: versions.map(datasetVersionView) };
      return;
    }
    ctx.body = { datasets: (await listDatasets(deps.pool, principalOf(ctx).tenantId, limit)).map(datasetView) };
  });

  router.get('/datasets/:id', requires('viewer'), async (ctx) => {
    const { id } = ctx.params;
    const dataset = isUuid(id) ? await getDataset(deps.pool, principalOf(ctx).tenantId, id) : undefined;
    if (!dataset) throw new NotFoundError('dataset', id, 'id');
    ctx.body = datasetView(dataset);
  });

  // Per-column statistics and histograms, computed from the stored table once per dataset (services/dataset-summary.ts).
  router.get('/datasets/:id/summary', requires('viewer'), async (ctx) => {
    ctx.body = {
      ...(await datasetSummary(deps.pool, principalOf(ctx).tenantId, ctx.params.id)),
      links: { dataset: `/api/v1/datasets/${ctx.params.id}` },
    };
  });

  return router;
}
