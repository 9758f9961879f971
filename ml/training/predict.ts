/**
 * Trained-model artifacts (binary.ts layout, magic 'KLNM': { preprocessor, spec, architecture = model.toJSON() } plus
 * the weights) and prediction on raw feature values with the saved preprocessing applied.
 */
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../backend';
import { TrainingFormatError, pack, unpack } from './binary';
import { Preprocessor, decodeTargets, transform } from './preprocess';
import { TrainingSpec } from './spec';

export const MODEL_MAGIC = 'KLNM';
export const MODEL_VERSION = 1;
const PREDICT_BATCH_ROWS = 8192;

export interface TrainedModel {
  model: tf.LayersModel;
  preprocessor: Preprocessor;
  spec: TrainingSpec;
  /** Feature columns, in the order predictTrained expects them. */
  features: string[];
  dispose(): void;
}

export type Prediction =
  | { task: 'classification'; labels: string[]; probabilities: number[][]; classes: string[] }
  | { task: 'regression'; values: number[] };

/** The artifact Buffer for a trained model (weights are read, not disposed). */
export async function saveTrainedModel(
  model: tf.LayersModel,
  preprocessor: Preprocessor,
  spec: TrainingSpec,
): Promise<Buffer> {
  const live = model.getWeights();
  const arrays = [];
  for (let i = 0; i < live.length; i++) {
    arrays.push({
      name: `${i}/${model.weights[i].originalName}`,
      shape: live[i].shape.slice(),
      values: Float32Array.from(await live[i].data()),
    });
  }
  const architecture = model.toJSON(null, false);
  return pack(MODEL_MAGIC, { v: MODEL_VERSION, preprocessor, spec, architecture }, arrays);
}

/** Restores an artifact for prediction; call dispose() on the result when done. */
export async function loadTrainedModel(buf: Buffer): Promise<TrainedModel> {
  const { header, arrays } = unpack(buf, MODEL_MAGIC, 'trained model');
  if (header.v !== MODEL_VERSION) throw new TrainingFormatError(`unsupported model version ${String(header.v)}`);
  await initComputeBackend();
  const preprocessor = header.preprocessor as Preprocessor;
  const model = await tf.models.modelFromJSON({
    modelTopology: header.architecture as tf.io.ModelJSON['modelTopology'],
  });
  const values = arrays.map((a) => tf.tensor(a.values, a.shape, 'float32'));
  try {
    if (model.weights.length !== values.length)
      throw new TrainingFormatError('model weights do not match the architecture');
    model.setWeights(values);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    tf.dispose(values);
  }
  return {
    model,
    preprocessor,
    spec: header.spec as TrainingSpec,
    features: preprocessor.features,
    dispose: () => model.dispose(),
  };
}

/** Raw model outputs (n × outputs, row-major) for already-standardised rows, computed in bounded batches. */
export async function modelOutputs(
  model: tf.LayersModel,
  x: Float32Array,
  n: number,
  d: number,
): Promise<{ values: Float32Array; width: number }> {
  const width = (model.outputs[0].shape[1] as number) ?? 1;
  const values = new Float32Array(n * width);
  for (let start = 0; start < n; start += PREDICT_BATCH_ROWS) {
    const rows = Math.min(PREDICT_BATCH_ROWS, n - start);
    const xs = tf.tensor2d(x.subarray(start * d, (start + rows) * d), [rows, d]);
    try {
      const out = model.predict(xs) as tf.Tensor;
      try {
        values.set(await out.data(), start * width);
      } finally {
        out.dispose();
      }
    } finally {
      xs.dispose();
    }
  }
  return { values, width };
}

/**
 * Predicts from raw feature values in `trained.features` order: a row-major Float32Array (n × features) or rows of
 * numbers. Classification: the most probable class per row (ties → the first class) and every class's probability.
 */
export async function predictTrained(trained: TrainedModel, rows: Float32Array | number[][]): Promise<Prediction> {
  await initComputeBackend();
  const p = trained.preprocessor;
  const d = p.features.length;
  const x = transform(p, rows);
  const n = x.length / d;
  const { values, width } = await modelOutputs(trained.model, x, n, d);
  if (p.task === 'regression') return { task: 'regression', values: decodeTargets(p, values) };
  const classes = p.classes ?? [];
  const probabilities: number[][] = [];
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(values.subarray(i * width, (i + 1) * width));
    probabilities.push(row);
    labels.push(classes[argmax(row)]);
  }
  return { task: 'classification', labels, probabilities, classes };
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}
