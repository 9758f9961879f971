import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../ml/backend';
import { Random } from '../../ml/random';
import { buildNetwork } from '../../ml/training/model';
import { saveTrainedModel } from '../../ml/training/predict';
import type { Preprocessor } from '../../ml/training/preprocess';
import type { TrainingSpec } from '../../ml/training/spec';

/** A model artifact of every flavor online predict serves, as a version's artifact bytes. */
export interface ServingModel {
  flavor: string;
  content: Buffer;
  /** Input columns. */
  d: number;
}

/**
 * An MLP artifact without training: seeded initial weights (buildNetwork), a standardising preprocessor, and for
 * `weightScale` ≠ 1 every weight multiplied by it (1e10: a finite model whose output overflows float32 for inputs of
 * 1e12).
 */
export async function mlpArtifact(
  task: 'classification' | 'regression',
  d: number,
  seed: number,
  weightScale = 1,
): Promise<Buffer> {
  await initComputeBackend();
  const spec: TrainingSpec = {
    task,
    layers: [
      { units: 32, activation: 'relu' },
      { units: 16, activation: 'relu' },
    ],
  };
  const classes = ['alpha', 'beta', 'gamma'];
  const model = buildNetwork(spec, d, task === 'classification' ? classes.length : 1, seed);
  try {
    if (weightScale !== 1) {
      const scaled = model.getWeights().map((w) => tf.mul(w, weightScale));
      model.setWeights(scaled);
      tf.dispose(scaled);
    }
    const preprocessor: Preprocessor = {
      version: 1,
      task,
      features: Array.from({ length: d }, (_, j) => `x${j}`),
      target: 'y',
      featureMean: Array.from({ length: d }, (_, j) => j * 0.25),
      featureStd: Array.from({ length: d }, (_, j) => 1 + j * 0.5),
      ...(task === 'classification' ? { classes } : { targetMean: 3, targetStd: 2 }),
    };
    return await saveTrainedModel(model, preprocessor, spec);
  } finally {
    model.dispose();
  }
}

/** One model of each flavor online predict serves, on `d` columns (x0..x{d-1}), seeded. */
export async function servingModels(d: number, seed: number): Promise<ServingModel[]> {
  const rng = new Random(seed);
  const columns = Array.from({ length: d }, (_, j) => `x${j}`);
  const vec = () => Array.from({ length: d }, () => (rng.nextFloat() - 0.5) * 8);
  const json = (model: unknown) => Buffer.from(JSON.stringify(model));
  return [
    { flavor: 'mlp-classification', content: await mlpArtifact('classification', d, seed), d },
    { flavor: 'mlp-regression', content: await mlpArtifact('regression', d, seed + 1), d },
    { flavor: 'kmeans', content: json({ flavor: 'kmeans', columns, centroids: [vec(), vec(), vec(), vec()] }), d },
    {
      flavor: 'som',
      content: json({ flavor: 'som', columns, rows: 2, cols: 3, codebook: [0, 1].map(() => [0, 1, 2].map(vec)) }),
      d,
    },
    {
      flavor: 'gmm',
      content: json({
        flavor: 'gmm',
        columns,
        covarianceType: 'diag',
        weights: [0.5, 0.3, 0.2],
        means: [vec(), vec(), vec()],
        covariances: [0, 1, 2].map(() => Array.from({ length: d }, () => 0.5 + rng.nextFloat() * 2)),
      }),
      d,
    },
  ];
}

/** n random rows of d values in [-6, 6), row-major float32 (whole hundredths, so JSON round-trips them exactly). */
export function randomRows(rng: Random, n: number, d: number): Float32Array {
  return Float32Array.from({ length: n * d }, () => Math.round((rng.nextFloat() - 0.5) * 1200) / 100);
}
