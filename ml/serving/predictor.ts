import { GmmModel, predictGmm } from '../clustering/gmm/gmm';
import { predictNearestCentroid, predictSomCells, SomModelLike } from '../clustering/predict';
import { loadTrainedModel, predictTrained } from '../training/predict';

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

/**
 * A registered model ready to predict, whatever produced it: online predict (API) and batch predict (activity) both
 * load one from the version's artifact bytes. `columns` are the inputs, in order.
 */
export interface Predictor {
  flavor: string;
  columns: string[];
  predict(points: Float32Array, n: number): Promise<Record<string, unknown>>;
  dispose(): void;
}

export class UnsupportedFlavorError extends Error {
  constructor(readonly flavor: string) {
    super(`models of flavor ${flavor} cannot predict`);
    this.name = 'UnsupportedFlavorError';
  }
}

/** Builds the predictor for a model version's flavor from its artifact bytes. */
export async function loadPredictor(flavor: string, content: Buffer): Promise<Predictor> {
  if (flavor.startsWith('mlp-')) {
    const trained = await loadTrainedModel(content);
    return {
      flavor,
      columns: trained.features,
      predict: async (points) => ({ ...(await predictTrained(trained, points)) }),
      dispose: () => trained.dispose(),
    };
  }
  const model = JSON.parse(content.toString('utf8')) as ClusteringModelArtifact;
  const d = model.columns.length;
  const clustering = (predict: (points: Float32Array, n: number) => Record<string, unknown>): Predictor => ({
    flavor,
    columns: model.columns,
    predict: async (points, n) => predict(points, n),
    dispose: () => undefined,
  });
  switch (model.flavor) {
    case 'kmeans':
    case 'minibatch-kmeans':
      return clustering((points, n) => ({
        labels: Array.from(predictNearestCentroid(model.centroids!, points, n, d)),
      }));
    case 'som':
      return clustering((points, n) => {
        const { labels, cells } = predictSomCells(model as unknown as SomModelLike, points, n, d);
        return { labels: Array.from(labels), cells };
      });
    case 'gmm':
      return clustering((points, n) => {
        const { labels, probabilities } = predictGmm(model as unknown as GmmModel, points, n, d);
        return { labels: Array.from(labels), probabilities };
      });
    default:
      throw new UnsupportedFlavorError(model.flavor);
  }
}
