import { z } from 'zod';
import { ALL_METRICS } from '../../ml/evaluation/metrics';
import { modelName, uuid } from './common';
import { datasetRef } from './dataset-ref';
import { ALIAS_PATTERN } from './models';
import { trainingRequest } from './training';

/** Overrides of the data checks' thresholds and severities (ml/validation/options.ts; checked against it by the service). */
const checks = z
  .record(z.string(), z.unknown())
  .meta({ description: 'Overrides of the data-validation thresholds and severities (ValidationOptions fields)' });

/** Temporal task priority: 1 runs first, 5 last; absent = 3. */
const priority = z.number().int().min(1).max(5).meta({ description: 'Temporal priority key: 1 (first) to 5 (last)' });

/** POST /api/v1/pipelines/validation */
export const validationPipelineRequest = z.strictObject({
  datasetId: uuid.optional().meta({ description: 'The dataset; or give `dataset` (exactly one of them)' }),
  dataset: datasetRef.optional(),
  referenceDatasetId: uuid.optional().meta({ description: 'Expected schema, ranges, levels and the drift baseline' }),
  target: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Target column: checked for presence, missing values, classes' }),
  checks: checks.optional(),
  priority: priority.optional(),
});

const threshold = z
  .strictObject({
    metric: z
      .string()
      .min(1)
      .meta({ description: `One of ${ALL_METRICS.join(', ')} (the ones the training task produces)` }),
    threshold: z.number().optional().meta({ description: 'Absolute bound: ≥ (greater is better) or ≤' }),
    minAbsoluteChange: z
      .number()
      .min(0)
      .optional()
      .meta({ description: 'Candidate must beat the champion by at least this much' }),
    minRelativeChange: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .meta({ description: "Candidate must beat the champion by at least this share of the champion's value" }),
    greaterIsBetter: z
      .boolean()
      .optional()
      .meta({ description: 'Default from the metric: true for scores, false for losses' }),
  })
  .refine((t) => t.threshold !== undefined || t.minAbsoluteChange !== undefined || t.minRelativeChange !== undefined, {
    message: 'give at least one of threshold, minAbsoluteChange, minRelativeChange',
  });

/** "24h", "30m", "2s", "500ms", "7d": what `approval.timeout` accepts. */
export const DURATION_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Longest approval wait: 30 days. */
export const MAX_APPROVAL_MS = 30 * 86_400_000;

/** A duration string in milliseconds, or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2]]) : undefined;
}

/** POST /api/v1/pipelines/full */
export const fullPipelineRequest = z.strictObject({
  model: z.strictObject({ name: modelName }),
  datasetId: uuid.optional().meta({ description: 'The dataset; or give `dataset` (exactly one of them)' }),
  dataset: datasetRef.optional(),
  holdout: z.union([
    z.strictObject({ datasetId: uuid }),
    z.strictObject({
      fraction: z.number().gt(0).lt(1),
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1),
    }),
  ]),
  referenceDatasetId: uuid.optional(),
  checks: checks.optional(),
  training: trainingRequest.extend({
    datasetId: uuid.optional().meta({ description: 'Defaults to the pipeline datasetId (must match it if given)' }),
    dataset: datasetRef.optional().meta({ description: 'Not accepted here: the pipeline trains on its own dataset' }),
    model: z.strictObject({ name: modelName }).optional().meta({ description: 'Defaults to the pipeline model' }),
  }),
  gate: z.strictObject({
    thresholds: z.array(threshold).min(1, 'a pipeline needs at least one threshold').max(50),
    noChampion: z.enum(['absolute-only', 'fail']),
  }),
  approval: z
    .strictObject({
      required: z.boolean(),
      timeout: z
        .string()
        .refine((t) => {
          const ms = durationMs(t);
          return ms !== undefined && ms >= 1000 && ms <= MAX_APPROVAL_MS;
        }, 'must be a duration from 1s to 30d such as "24h", "30m", "2s"')
        .default('24h'),
      onTimeout: z.enum(['reject', 'approve']).default('reject'),
    })
    .optional(),
  promote: z.strictObject({
    alias: z
      .string()
      .regex(ALIAS_PATTERN, 'must be lowercase letters, digits, "_" or "-", starting with a letter')
      .max(55, 'at most 55 characters (previous-<alias> must fit 64)')
      .refine((a) => !/^(latest|v[0-9]+)$/.test(a) && !a.startsWith('previous-'), 'is reserved'),
  }),
  priority: priority.optional(),
});

/** POST /api/v1/pipelines/:id/decision */
export const decisionRequest = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
});
