import { UnprocessableError } from '../../common/errors';
import { assertFiniteResult, NonFiniteResultError } from '../finite-guard';
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

/**
 * A prediction that would hold NaN or ±Infinity (the model's weights are not finite, or the input drives it out of
 * floating-point range): an error instead of a response with `null` in it. A 422 where the API maps it.
 */
export class NonFinitePredictionError extends UnprocessableError {
  constructor(flavor: string, detail: string) {
    super(
      `the ${flavor} model cannot give a finite prediction: ${detail}. Nothing is returned rather than NaN ` +
        '(a model whose training diverged, or inputs far outside the range it was fitted on)',
    );
    this.name = 'NonFinitePredictionError';
  }
}

/**
 * Builds the predictor for a model version's flavor from its artifact bytes. Every prediction it returns is checked:
 * a non-finite number rejects with NonFinitePredictionError, as does loading an MLP whose weights are not finite.
 */
export async function loadPredictor(flavor: string, content: Buffer): Promise<Predictor> {
  return guarded(await unguardedPredictor(flavor, content));
}

/** The predictor with the finite guard on its output. */
function guarded(predictor: Predictor): Predictor {
  return {
    ...predictor,
    predict: async (points, n) => {
      const out = await predictor.predict(points, n);
      try {
        assertFiniteResult('prediction', out);
      } catch (err) {
        if (err instanceof NonFiniteResultError)
          throw new NonFinitePredictionError(predictor.flavor, `${err.path} is ${err.value}`);
        throw err;
      }
      return out;
    },
  };
}

async function unguardedPredictor(flavor: string, content: Buffer): Promise<Predictor> {
  if (flavor.startsWith('mlp-')) {
    const trained = await loadTrainedModel(content);
    const weights = trained.model.getWeights();
    for (let i = 0; i < weights.length; i++) {
      const values = weights[i].dataSync();
      if (values.some((v) => !Number.isFinite(v))) {
        trained.dispose();
        throw new NonFinitePredictionError(flavor, `its weights (array ${i} of ${weights.length}) are not finite`);
      }
    }
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
