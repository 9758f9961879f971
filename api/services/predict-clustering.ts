import { ValidationError } from '../../common/errors';
import { GmmModel, predictGmm } from '../../ml/clustering/gmm';
import { predictNearestCentroid, predictSomCells, SomModelLike } from '../../ml/clustering/predict';

/** The model artifact a clustering job stores: the flavor, the columns it was fitted on, and what assigns points. */
export interface ClusteringModelArtifact {
  flavor: string;
  columns: string[];
  centroids?: number[][];
  rows?: number;
  cols?: number;
  codebook?: number[][][];
  [key: string]: unknown;
}

export const PREDICTABLE_CLUSTERING_FLAVORS = ['kmeans', 'minibatch-kmeans', 'som', 'gmm'] as const;

/** Rows × the model's columns as a row-major float32 matrix: array rows by position, object rows by column name. */
export function inputMatrix(inputs: unknown[], columns: string[]): Float32Array {
  const d = columns.length;
  const out = new Float32Array(inputs.length * d);
  inputs.forEach((row, i) => {
    const cells = Array.isArray(row)
      ? row
      : row !== null && typeof row === 'object'
        ? columns.map((c) => (row as Record<string, unknown>)[c])
        : undefined;
    if (!cells) throw new ValidationError('each input must be an array of numbers or an object keyed by column', `inputs[${i}]`);
    if (cells.length !== d) throw new ValidationError(`the model takes ${d} values per row (${columns.join(', ')}), got ${cells.length}`, `inputs[${i}]`);
    cells.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const where = Array.isArray(row) ? `inputs[${i}][${j}]` : `inputs[${i}].${columns[j]}`;
        throw new ValidationError(`expected a finite number, got ${JSON.stringify(v) ?? 'nothing'}`, where);
      }
      out[i * d + j] = v;
    });
  });
  return out;
}

/** Assigns points to clusters with a registered clustering model. */
export function predictClusters(model: ClusteringModelArtifact, points: Float32Array, n: number): Record<string, unknown> {
  const d = model.columns.length;
  switch (model.flavor) {
    case 'kmeans':
    case 'minibatch-kmeans':
      return { labels: Array.from(predictNearestCentroid(model.centroids!, points, n, d)) };
    case 'som': {
      const { labels, cells } = predictSomCells(model as unknown as SomModelLike, points, n, d);
      return { labels: Array.from(labels), cells };
    }
    case 'gmm': {
      const { labels, probabilities } = predictGmm(model as unknown as GmmModel, points, n, d);
      return { labels: Array.from(labels), probabilities };
    }
    default:
      throw new ValidationError(`models of flavor ${model.flavor} cannot predict`, 'name');
  }
}
