import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { ClusteringResultDocument } from '../../activities/clustering';
import type { ClusteringJobResult } from '../../common/jobs';
import { UnprocessableError } from '../../common/errors';
import { numericMatrix } from '../../datasets/encode';
import { getArtifactContent } from '../../db/artifacts';
import { loadDatasetTable } from '../../db/datasets';
import { pca, projectPoint } from '../../ml/projection/pca';
import type { JobService } from './jobs';
import { seedFromString, stratifiedSample } from './projection-sample';

/** Most points a projection returns (a sample of the rows, stratified by cluster, past it). */
export const MAX_PROJECTION_POINTS = 5_000;

/** GET /api/v1/jobs/:jobId/projection: the clustered points in two dimensions, for a scatter plot. */
export interface ClusteringProjection {
  jobId: string;
  algorithm: string;
  /** Rows clustered, and those returned (every row up to the limit, else a sample of them). */
  n: number;
  d: number;
  sampled: number;
  /**
   * `all`: every row; `per-cluster`: a seeded random sample (the same for the same job), each cluster in proportion
   * to its size and every non-empty one present (projection-sample.ts).
   */
  sampling: 'all' | 'per-cluster';
  /** `columns`: the two (or one) clustered columns as they are; `pca`: their first two principal components. */
  method: 'columns' | 'pca';
  axes: Array<{ label: string; varianceRatio?: number }>;
  /** Columnar: point i is (x[i], y[i]) with cluster label[i]; -1 is noise. y is 0 for one-column data. */
  points: { x: number[]; y: number[]; label: number[] };
  /** One per cluster: the algorithm's centroids (or mixture means) projected, else the mean of its sampled points. */
  centroids: Array<{ cluster: number; x: number; y: number }>;
  centroidSource: 'model' | 'cluster-means';
}

/** Projections of completed jobs never change: a few are kept, keyed by job and limit. */
const cache = new LRUCache<string, ClusteringProjection>({ max: 32 });

/** Six significant digits: a plot needs no more, and the answer halves. */
const round = (v: number) => Number(v.toPrecision(6));

/** The model's own cluster centres (k-means centroids, a mixture's means), when the result has them (k × d). */
function modelCentres(document: ClusteringResultDocument, d: number): number[][] | undefined {
  const candidate = document.extras.centroids ?? document.extras.means;
  if (!Array.isArray(candidate) || candidate.length === 0) return undefined;
  const rows = candidate as unknown[];
  return rows.every((r) => Array.isArray(r) && r.length === d && r.every((v) => typeof v === 'number'))
    ? (rows as number[][])
    : undefined;
}

/**
 * The points of a completed clustering job in two dimensions, coloured by its labels: the clustered columns as they
 * are when there are at most two, else their first two principal components (ml/projection/pca.ts, computed on the
 * returned sample). At most `limit` ≤ MAX_PROJECTION_POINTS points: past it, a random sample of the rows stratified by
 * cluster label and seeded by the job id (projection-sample.ts), so every cluster shows and a reload shows the same.
 * ConflictError while the job runs or when it did not complete (JobService.completedResult); UnprocessableError for a
 * job that is not a clustering job.
 */
export async function clusteringProjection(
  deps: { pool: Pool; jobs: JobService },
  tenantId: string,
  jobId: string,
  limit: number,
): Promise<ClusteringProjection> {
  // Keyed by tenant too: another tenant's request must miss and reach completedResult's tenant check (a 404).
  const key = `${tenantId}\n${jobId}\n${limit}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const { kind, result } = await deps.jobs.completedResult(tenantId, jobId, 0);
  const summary = result as Partial<ClusteringJobResult> | null;
  if (!(kind === 'clustering' || (kind === undefined && typeof summary?.resultArtifactId === 'string')))
    throw new UnprocessableError(
      `job ${jobId} is a ${kind ?? 'non-clustering'} job; only clustering jobs have points to plot`,
      'jobId',
    );
  const content = await getArtifactContent(deps.pool, tenantId, summary!.resultArtifactId!);
  if (!content) throw new Error(`job ${jobId}: result artifact ${summary!.resultArtifactId} is missing`);
  const document = JSON.parse(content.toString('utf8')) as ClusteringResultDocument;
  const loaded = await loadDatasetTable(deps.pool, tenantId, document.datasetId);
  if (!loaded) throw new Error(`job ${jobId}: dataset ${document.datasetId} is missing`);
  const matrix = numericMatrix(loaded.table, document.columns);
  const { n, d } = matrix;
  const rows = stratifiedSample(document.labels, limit, seedFromString(jobId));
  const m = rows.length;
  const sample = new Float64Array(m * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) sample[i * d + j] = matrix.values[r * d + j];
  });
  const labels = rows.map((r) => document.labels[r]);

  const method = d > 2 ? 'pca' : 'columns';
  const model = method === 'pca' ? pca(sample, m, d, 2) : undefined;
  const to2d = (p: ArrayLike<number>): [number, number] =>
    model ? (projectPoint(p, model) as [number, number]) : [p[0], d > 1 ? p[1] : 0];
  const x: number[] = new Array<number>(m);
  const y: number[] = new Array<number>(m);
  for (let i = 0; i < m; i++) {
    const [px, py] = to2d(sample.subarray(i * d, i * d + d));
    x[i] = round(px);
    y[i] = round(py);
  }

  const centres = modelCentres(document, d);
  let centroids: ClusteringProjection['centroids'];
  if (centres) {
    centroids = centres.map((c, cluster) => {
      const [cx, cy] = to2d(c);
      return { cluster, x: round(cx), y: round(cy) };
    });
  } else {
    // Mean of each cluster's sampled points in the plot's coordinates (the projection is linear: the same point).
    const sums = new Map<number, { x: number; y: number; count: number }>();
    labels.forEach((label, i) => {
      if (label < 0) return;
      const s = sums.get(label) ?? { x: 0, y: 0, count: 0 };
      s.x += x[i];
      s.y += y[i];
      s.count++;
      sums.set(label, s);
    });
    centroids = [...sums.entries()]
      .sort(([a], [b]) => a - b)
      .map(([cluster, s]) => ({ cluster, x: round(s.x / s.count), y: round(s.y / s.count) }));
  }

  const projection: ClusteringProjection = {
    jobId,
    algorithm: document.algorithm,
    n,
    d,
    sampled: m,
    sampling: m < n ? 'per-cluster' : 'all',
    method,
    axes: model
      ? model.varianceRatio.map((ratio, i) => ({ label: `PC${i + 1}`, varianceRatio: round(ratio) }))
      : [{ label: document.columns[0] }, { label: document.columns[1] ?? '(none)' }],
    points: { x, y, label: labels },
    centroids,
    centroidSource: centres ? 'model' : 'cluster-means',
  };
  cache.set(key, projection);
  return projection;
}
