import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import { NotFoundError } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { loadDatasetTable } from '../../db/datasets';
import { readColumn } from '../../ml/validation/column-data';
import { FloatSorter } from '../../ml/validation/float-sort';
import { Histogram, histogramSorted } from '../../ml/validation/histogram';
import { ColumnProfile, profileColumn } from '../../ml/validation/profile';

/** Bins of a numeric column's histogram; levels listed for a text column (the rest are counted as `otherLevels`). */
export const SUMMARY_BINS = 20;
export const SUMMARY_TOP_LEVELS = 20;
const SUMMARY_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95];

/** One column's summary: its profile (ml/validation/profile.ts) and a histogram (numbers) or level counts (text). */
export type ColumnSummary = ColumnProfile & { histogram?: Histogram; otherLevels?: number };

/** GET /api/v1/datasets/:id/summary. */
export interface DatasetSummary {
  datasetId: string;
  name: string;
  rows: number;
  columns: ColumnSummary[];
}

/**
 * Summaries are computed from the stored table (bounded by the upload limits) once per dataset and kept: a dataset's
 * content never changes (content-addressed), so an entry never goes stale. A few entries: each holds only numbers per
 * column, the table itself is dropped after the computation.
 */
const cache = new LRUCache<string, DatasetSummary>({ max: 64 });

/**
 * Per-column summary statistics of a stored dataset: count, missing, distinct, mean, sample std, min, max and
 * quantiles (5, 25, 50, 75, 95 %) of number columns with a SUMMARY_BINS-bin equal-width histogram; the
 * SUMMARY_TOP_LEVELS most frequent levels of text columns. NotFoundError (field `id`) for an unknown dataset.
 */
export async function datasetSummary(pool: Pool, tenantId: string, id: string): Promise<DatasetSummary> {
  // Keyed by tenant too: another tenant asking for this id must reach the (tenant-filtered) query and its 404.
  const key = `${tenantId}/${id}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const loaded = isUuid(id) ? await loadDatasetTable(pool, tenantId, id) : undefined;
  if (!loaded) throw new NotFoundError('dataset', id, 'id');
  const { meta, table } = loaded;
  const sorter = new FloatSorter();
  const columns = table.columns.map((_, c): ColumnSummary => {
    const data = readColumn(table, c, sorter);
    const profile = profileColumn(data, SUMMARY_QUANTILES, SUMMARY_TOP_LEVELS);
    if (data.kind === 'number') return { ...profile, histogram: histogramSorted(data.sorted, SUMMARY_BINS) };
    const listed = profile.type === 'string' ? profile.levels.reduce((s, l) => s + l.count, 0) : 0;
    return { ...profile, otherLevels: profile.count - listed };
  });
  const summary: DatasetSummary = { datasetId: meta.id, name: meta.name, rows: meta.rows, columns };
  cache.set(key, summary);
  return summary;
}
