/**
 * Evaluation of a clustering model artifact (the JSON a clustering job stores: flavor, columns, centroids, codebook
 * or mixture) on a holdout table, for a pipeline that gates clustering models: the model assigns every holdout row
 * (ml/serving/predictor.ts, the path online predict takes), and the quality of that labelling of the holdout is
 * measured with ml/clustering/quality.ts: silhouette, Davies–Bouldin, Calinski–Harabasz and inertia (to the model's
 * centres for k-means, mini-batch k-means and SOM, whose labels are each row's closest centre; to the cluster means
 * for a mixture). Candidate and champion label the same rows, so their numbers compare like holdout metrics.
 */
import { DomainError } from '../../common/errors';
import { numericMatrix } from '../../datasets/encode';
import { Table } from '../../datasets/table';
import { clusteringQuality } from '../clustering/quality';
import { NonFiniteResultError } from '../finite-guard';
import { ClusteringModelArtifact, loadPredictor } from '../serving/predictor';
import { EvaluationError } from './evaluate';
import { TASK_METRICS } from './metrics';

/** Clustering flavors whose models can assign new rows, so a pipeline can evaluate them on a holdout. */
export const ASSIGNING_FLAVORS: readonly string[] = ['kmeans', 'minibatch-kmeans', 'som', 'gmm'];

export interface ClusteringEvaluation {
  task: 'clustering';
  rows: number;
  /** TASK_METRICS.clustering names → finite values; one undefined on this labelling (one cluster) is absent. */
  metrics: Record<string, number>;
  /** Clusters the holdout rows fell into, rows per cluster label, and whether the silhouette was sampled. */
  details: { clusters: number; clusterSizes: Record<string, number>; silhouetteSampled?: boolean };
}

/** The columns a clustering model artifact was fitted on (its `columns`), or EvaluationError. */
export function clusteringModelColumns(artifact: Buffer, who: string): string[] {
  return parseModel(artifact, who).columns;
}

function parseModel(artifact: Buffer, who: string): ClusteringModelArtifact {
  let model: ClusteringModelArtifact;
  try {
    model = JSON.parse(artifact.toString('utf8')) as ClusteringModelArtifact;
  } catch {
    throw new EvaluationError(`${who}: the model artifact is not a clustering model`);
  }
  if (!model || typeof model.flavor !== 'string' || !Array.isArray(model.columns))
    throw new EvaluationError(`${who}: the model artifact is not a clustering model`);
  if (!ASSIGNING_FLAVORS.includes(model.flavor))
    throw new EvaluationError(
      `${who} is a ${model.flavor} model, which cannot assign new rows; pipelines take ${ASSIGNING_FLAVORS.join(', ')}`,
    );
  return model;
}

/** The model's centres indexed by label, when its labels are each row's closest centre. */
function centresOf(model: ClusteringModelArtifact): number[][] | undefined {
  if ((model.flavor === 'kmeans' || model.flavor === 'minibatch-kmeans') && model.centroids) return model.centroids;
  if (model.flavor === 'som' && model.codebook) return model.codebook.flat();
  return undefined;
}

/**
 * Assigns every row of `holdout` with the clustering model in `artifact` and measures the labelling's quality. `who`
 * names the model in errors; `expected.columns`, when given, are the columns the candidate was fitted on (a champion on
 * other columns measures another space, so it cannot be compared). Throws EvaluationError when the artifact is not an
 * assigning clustering model, a column is missing, holds text or a non-finite value, or a metric is not finite.
 */
export async function evaluateClusteringModel(
  artifact: Buffer,
  holdout: Table,
  who: string,
  expected: { columns?: string[] } = {},
): Promise<ClusteringEvaluation> {
  const model = parseModel(artifact, who);
  if (expected.columns && JSON.stringify(expected.columns) !== JSON.stringify(model.columns))
    throw new EvaluationError(
      `${who} was fitted on columns ${JSON.stringify(model.columns)}; the candidate on ${JSON.stringify(expected.columns)}`,
    );
  let matrix: ReturnType<typeof numericMatrix>;
  try {
    matrix = numericMatrix(holdout, model.columns);
  } catch (err) {
    if (err instanceof DomainError) throw new EvaluationError(`${who}: holdout ${err.message}`);
    throw err;
  }
  const { values: points, n, d } = matrix;
  const predictor = await loadPredictor(model.flavor, artifact);
  try {
    let labels: Int32Array;
    try {
      labels = Int32Array.from((await predictor.predict(points, n)).labels as number[]);
    } catch (err) {
      if (err instanceof RangeError || err instanceof DomainError)
        throw new EvaluationError(`${who}: cannot assign the holdout rows: ${err.message}`);
      throw err;
    }
    const centres = centresOf(model);
    let quality: Awaited<ReturnType<typeof clusteringQuality>>;
    try {
      quality = await clusteringQuality(points, n, d, labels, centres ? { centres } : {});
    } catch (err) {
      if (err instanceof NonFiniteResultError || err instanceof RangeError)
        throw new EvaluationError(`${who}: ${err.message} on the holdout (${n} rows)`);
      throw err;
    }
    const metrics: Record<string, number> = {};
    for (const name of Object.keys(TASK_METRICS.clustering)) {
      const value = quality[name as keyof typeof quality];
      if (typeof value === 'number') metrics[name] = value;
    }
    const clusterSizes: Record<string, number> = {};
    for (const label of labels) clusterSizes[label] = (clusterSizes[label] ?? 0) + 1;
    return {
      task: 'clustering',
      rows: n,
      metrics,
      details: {
        clusters: Object.keys(clusterSizes).length,
        clusterSizes,
        ...(quality.silhouetteSampled !== undefined ? { silhouetteSampled: quality.silhouetteSampled } : {}),
      },
    };
  } finally {
    predictor.dispose();
  }
}
