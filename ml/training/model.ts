/**
 * The network for a TrainingSpec: the hidden dense layers (each optionally followed by dropout) and an output layer,
 * softmax over the classes (also for two classes) or one linear unit for regression, compiled with categorical
 * cross-entropy or mean squared error.
 *
 * Initial weights are a pure function of the seed: every kernel has a seeded initialiser (He normal for relu/elu,
 * LeCun normal for selu, Glorot uniform otherwise) and biases start at zero. Dropout masks are NOT seeded: tfjs's
 * Dropout with a fixed seed would draw the same mask on every batch, so dropout uses tf's global RNG, and training
 * with dropout > 0 is not bit-reproducible (nor exactly resume-equivalent). Without dropout it is both.
 */
import * as tf from '@tensorflow/tfjs';
import { Activation, OptimizerName, TrainingSpec } from './spec';

function kernelInitializer(activation: Activation, seed: number): ReturnType<typeof tf.initializers.glorotUniform> {
  switch (activation) {
    case 'relu':
    case 'elu':
      return tf.initializers.heNormal({ seed });
    case 'selu':
      return tf.initializers.leCunNormal({ seed });
    default:
      return tf.initializers.glorotUniform({ seed });
  }
}

/** A fresh optimizer of the given kind; the caller owns it (model.dispose() does not dispose it). */
export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
  }
}

/** Builds the (uncompiled) layers; used by buildModel and, through the saved architecture, by predict. */
export function buildNetwork(spec: TrainingSpec, inputDim: number, outputDim: number, seed: number): tf.Sequential {
  const model = tf.sequential();
  // Derive each layer's seed from the run's seed; kept below 2^31 since tfjs passes seeds on to seedrandom as strings.
  const layerSeed = (i: number): number => ((Math.trunc(seed) >>> 0) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 1;
  spec.layers.forEach((layer, i) => {
    model.add(
      tf.layers.dense({
        units: layer.units,
        activation: layer.activation,
        kernelInitializer: kernelInitializer(layer.activation, layerSeed(i)),
        biasInitializer: 'zeros',
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
      }),
    );
    if (layer.dropout !== undefined && layer.dropout > 0) model.add(tf.layers.dropout({ rate: layer.dropout }));
  });
  model.add(
    tf.layers.dense({
      units: outputDim,
      activation: spec.task === 'classification' ? 'softmax' : 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: layerSeed(spec.layers.length) }),
      biasInitializer: 'zeros',
      ...(spec.layers.length === 0 ? { inputShape: [inputDim] } : {}),
    }),
  );
  return model;
}

export interface BuiltModel {
  model: tf.Sequential;
  /** Owned by the caller: dispose it together with the model (disposeModel does both). */
  optimizer: tf.Optimizer;
}

/**
 * The compiled model for `spec` with `inputDim` features and `outputDim` outputs (the number of classes, or 1).
 * Metrics: accuracy for classification, mean absolute error for regression (on the model's scale).
 */
export function buildModel(
  spec: TrainingSpec,
  inputDim: number,
  outputDim: number,
  seed: number,
  optimizer: OptimizerName = 'adam',
  learningRate = 0.001,
): BuiltModel {
  const model = buildNetwork(spec, inputDim, outputDim, seed);
  const opt = makeOptimizer(optimizer, learningRate);
  model.compile({
    optimizer: opt,
    loss: spec.task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError',
    metrics: spec.task === 'classification' ? ['accuracy'] : ['mae'],
  });
  return { model, optimizer: opt };
}

/** Releases the model's weights and the optimizer's slots. */
export function disposeModel(built: BuiltModel): void {
  built.model.dispose();
  built.optimizer.dispose();
}
