import { z } from 'zod';
import { jobPriority, resources, uuid } from './common';
import { datasetRef } from './dataset-ref';
import { aliasParam } from './models';

/** Documented limits of online prediction (README: Limits); its body limit is BodyLimits.maxPredictBodyBytes. */
export const PREDICT_LIMITS = { maxRows: 10_000, cachedModels: 32 } as const;

const versionNumber = z.number().int().min(1).max(2_147_483_647);
const versionOrAlias = {
  message: 'give version or alias, not both',
  path: ['alias'],
};

/** POST /api/v1/models/:name/predict: rows to predict, with the model version by number or alias (or the default). */
export const predictRequest = z
  .strictObject({
    inputs: z.array(z.unknown()).min(1).max(PREDICT_LIMITS.maxRows),
    version: versionNumber.optional(),
    alias: aliasParam.optional(),
    ignoreExtraColumns: z.boolean().default(false).meta({
      description:
        "Object rows may carry keys that are not the model's columns (ignored); by default such a key is a 400 naming it",
    }),
  })
  .refine((r) => r.version === undefined || r.alias === undefined, versionOrAlias);

/** POST /api/v1/models/:name/batch-predict: a stored dataset, where to run, and the model version. */
export const batchPredictRequest = z
  .strictObject({
    datasetId: uuid.optional().meta({ description: 'The dataset; or give `dataset` (exactly one of them)' }),
    dataset: datasetRef.optional(),
    resources: resources.optional(),
    version: versionNumber.optional(),
    alias: aliasParam.optional(),
    priority: jobPriority.optional(),
  })
  .refine((r) => r.version === undefined || r.alias === undefined, versionOrAlias);
