import { UnprocessableError } from '../../common/errors';
import { assertFiniteResult, NonFiniteResultError } from '../finite-guard';
import { GmmModel, predictGmm } from '../clustering/gmm/gmm';
import { predictNearestCentroid, predictSomCells, SomModelLike } from '../clustering/predict';
import { loadTrainedModel, predictTrained } from '../training/predict';
import { predictionRows } from './prediction-rows';

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
  /**
   * Keys of a prediction that hold one entry per input row, in row order (`labels`, `probabilities`, `values`,
   * `cells`); the other keys describe the model (`task`, `classes`) and are the same whatever the rows.
   */
  rowKeys: readonly string[];
  /** Predicts n rows (`points`: row-major n × columns.length). */
  predict(points: Float32Array, n: number): Promise<Record<string, unknown>>;
  /**
   * Predicts several parts' rows in one call (one tensor batch for an MLP) and answers each part with its own rows,
   * in order, as `predict` would have answered it alone. Each part's answer is checked on its own: a non-finite value
   * fails that part only (NonFinitePredictionError). Should the shared call itself throw, each part is predicted
   * alone, so that an error stays with the part that causes it. Never rejects.
   */
  predictEach(parts: readonly PredictPart[]): Promise<PartOutcome[]>;
  dispose(): void;
}

/** One caller's rows in a shared call: `points` row-major, n × the predictor's columns. */
export interface PredictPart {
  points: Float32Array;
  n: number;
}

/** What predictEach answers for one part: its prediction, or the error it alone got. */
export type PartOutcome = { ok: true; prediction: Record<string, unknown> } | { ok: false; error: unknown };

/** A predictor before guardPredictor: what each flavor provides (its predict unchecked). */
export type RawPredictor = Omit<Predictor, 'predictEach'>;

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
  return guardPredictor(await unguardedPredictor(flavor, content));
}

/** The prediction, or NonFinitePredictionError when a number in it is NaN or ±Infinity. */
function checkedPrediction(flavor: string, out: Record<string, unknown>): Record<string, unknown> {
  try {
    assertFiniteResult('prediction', out);
  } catch (err) {
    if (err instanceof NonFiniteResultError) throw new NonFinitePredictionError(flavor, `${err.path} is ${err.value}`);
    throw err;
  }
  return out;
}

/**
 * The predictor with the finite guard on every prediction it returns, and predictEach over its predict (loadPredictor
 * applies it to each flavor's raw predictor).
 */
export function guardPredictor(inner: RawPredictor): Predictor {
  const predict = async (points: Float32Array, n: number) =>
    checkedPrediction(inner.flavor, await inner.predict(points, n));
  const alone = async (part: PredictPart): Promise<PartOutcome> => {
    try {
      return { ok: true, prediction: await predict(part.points, part.n) };
    } catch (error) {
      return { ok: false, error };
    }
  };
  const predictEach = async (parts: readonly PredictPart[]): Promise<PartOutcome[]> => {
    if (parts.length === 1) return [await alone(parts[0])];
    const d = inner.columns.length;
    const total = parts.reduce((sum, part) => sum + part.n, 0);
    const points = new Float32Array(total * d);
    let offset = 0;
    for (const part of parts) {
      points.set(part.points.subarray(0, part.n * d), offset * d);
      offset += part.n;
    }
    let shared: Record<string, unknown>;
    try {
      shared = await inner.predict(points, total);
    } catch {
      // One part may be what makes the shared call fail: answer each alone, so the error stays with its cause.
      const outcomes: PartOutcome[] = [];
      for (const part of parts) outcomes.push(await alone(part));
      return outcomes;
    }
    let start = 0;
    return parts.map((part): PartOutcome => {
      try {
        return {
          ok: true,
          prediction: checkedPrediction(inner.flavor, predictionRows(shared, inner.rowKeys, start, part.n)),
        };
      } catch (error) {
        return { ok: false, error };
      } finally {
        start += part.n;
      }
    });
  };
  return { ...inner, predict, predictEach };
}

async function unguardedPredictor(flavor: string, content: Buffer): Promise<RawPredictor> {
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
      rowKeys: trained.preprocessor.task === 'regression' ? ['values'] : ['labels', 'probabilities'],
      predict: async (points) => ({ ...(await predictTrained(trained, points)) }),
      dispose: () => trained.dispose(),
    };
  }
  const model = JSON.parse(content.toString('utf8')) as ClusteringModelArtifact;
  const d = model.columns.length;
  const clustering = (
    rowKeys: readonly string[],
    predict: (points: Float32Array, n: number) => Record<string, unknown>,
  ): RawPredictor => ({
    flavor,
    columns: model.columns,
    rowKeys,
    predict: async (points, n) => predict(points, n),
    dispose: () => undefined,
  });
  switch (model.flavor) {
    case 'kmeans':
    case 'minibatch-kmeans':
      return clustering(['labels'], (points, n) => ({
        labels: Array.from(predictNearestCentroid(model.centroids!, points, n, d)),
      }));
    case 'som':
      return clustering(['labels', 'cells'], (points, n) => {
        const { labels, cells } = predictSomCells(model as unknown as SomModelLike, points, n, d);
        return { labels: Array.from(labels), cells };
      });
    case 'gmm':
      return clustering(['labels', 'probabilities'], (points, n) => {
        const { labels, probabilities } = predictGmm(model as unknown as GmmModel, points, n, d);
        return { labels: Array.from(labels), probabilities };
      });
    default:
      throw new UnsupportedFlavorError(model.flavor);
  }
}
