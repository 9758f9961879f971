import { z } from 'zod';
import { ACTIVATIONS, OPTIMIZERS, TRAINING_LIMITS } from '../../ml/training/spec';
import { jobPriority, modelName, resources, uuid } from './common';
import { datasetRef } from './dataset-ref';
import { storableText } from './storable-text';

const L = TRAINING_LIMITS;

/** POST /api/v1/training: shape and ranges here; what depends on the dataset (columns, classes) is checked against it. */
export const trainingRequest = z.strictObject({
  datasetId: uuid.optional().meta({ description: 'The dataset; or give `dataset` (exactly one of them)' }),
  dataset: datasetRef.optional(),
  target: storableText().min(1).meta({ description: 'Column to predict' }),
  features: z
    .array(storableText().min(1))
    .min(1)
    .max(L.maxFeatures)
    .optional()
    .meta({ description: 'Input columns (default: every number column but the target)' }),
  model: z.strictObject({ name: modelName }),
  spec: z.strictObject({
    task: z.enum(['classification', 'regression']),
    layers: z
      .array(
        z.strictObject({
          units: z.number().int().min(1).max(L.maxUnits),
          activation: z.enum(ACTIVATIONS as unknown as [string, ...string[]]),
          dropout: z.number().min(0).lt(1).optional(),
        }),
      )
      .min(1)
      .max(L.maxLayers)
      .meta({ description: 'Hidden layers; the output layer (softmax or one linear unit) is added' }),
  }),
  training: z.strictObject({
    epochs: z.number().int().min(1).max(L.maxEpochs),
    batchSize: z.number().int().min(1).max(L.maxBatchSize),
    learningRate: z.number().gt(0).max(L.maxLearningRate),
    optimizer: z.enum(OPTIMIZERS as unknown as [string, ...string[]]).optional(),
    validationSplit: z.number().min(0).max(L.maxValidationSplit).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    checkpointEvery: z.number().int().min(1).max(L.maxEpochs).optional(),
    earlyStopping: z
      .strictObject({ patience: z.number().int().min(1).max(L.maxPatience), minDelta: z.number().min(0) })
      .optional(),
  }),
  resources: resources.optional(),
  priority: jobPriority.optional(),
});
