import { unpackHeader } from '../training/binary';
import { MODEL_MAGIC } from '../training/predict';
import type { Preprocessor } from '../training/preprocess';
import type { ClusteringModelArtifact } from './predictor';

/**
 * The input columns of a model version, in order, read from its artifact without loading it: a trained MLP's
 * preprocessor features (the artifact's header), a clustering model's `columns`. Throws (TrainingFormatError, a JSON
 * SyntaxError, or an Error) for bytes that are neither.
 */
export function modelInputColumns(flavor: string, content: Buffer): string[] {
  if (flavor.startsWith('mlp-')) {
    const header = unpackHeader(content, MODEL_MAGIC, 'trained model');
    return [...(header.preprocessor as Preprocessor).features];
  }
  const model = JSON.parse(content.toString('utf8')) as ClusteringModelArtifact;
  if (!Array.isArray(model.columns)) throw new Error(`the ${flavor} model artifact names no columns`);
  return [...model.columns];
}

/** Bytes before a trained model's JSON header: the magic and the header's length (ml/training/binary.ts). */
export const MODEL_PREFIX_BYTES = 8;

/** The JSON header's length from a trained model's first MODEL_PREFIX_BYTES bytes (0 when they are not one). */
export function modelHeaderLength(prefix: Buffer): number {
  return prefix.length >= MODEL_PREFIX_BYTES && prefix.toString('ascii', 0, 4) === MODEL_MAGIC
    ? prefix.readUInt32LE(4)
    : 0;
}
