import { z } from 'zod';
import { ALL_METRICS } from '../../ml/evaluation/metrics';
import { MIN_HOLDOUT_ROWS, MIN_TRAINING_ROWS } from '../../ml/evaluation/holdout';
import { DEFAULT_SEVERITIES, VALIDATION_DEFAULTS } from '../../ml/validation/options';
import { clusteringRequest } from './clustering';
import { jobPriority, modelName, uuid } from './common';
import { datasetRef } from './dataset-ref';
import { ALIAS_PATTERN } from './models';
import { trainingRequest } from './training';
import { storableText } from './storable-text';

/** Most quantiles `checks.profileQuantiles` may list: every percentile and the median twice over. */
const MAX_PROFILE_QUANTILES = 101;

const severity = z.enum(['error', 'warn']);

/**
 * Overrides of the data checks' thresholds and severities (ml/validation/options.ts ValidationOptions): one optional
 * field per option, a number (`profileQuantiles`: numbers; `severities`: an object of check names), every other key
 * refused by name (`checks.nope`, `checks.__proto__`). Ranges and relations (minRows ≤ maxRows, ...) are checked by
 * the service with ml/validation's own resolveOptions.
 */
const checks = z
  .strictObject(
    Object.fromEntries(
      Object.keys(VALIDATION_DEFAULTS).map((key) => {
        if (key === 'severities')
          return [
            key,
            z
              .strictObject(
                Object.fromEntries(Object.keys(DEFAULT_SEVERITIES).map((name) => [name, severity.optional()])),
              )
              .optional()
              .meta({ description: 'Check name → "error" (blocks) or "warn"' }),
          ];
        if (key === 'profileQuantiles')
          return [key, z.array(z.number().min(0).max(1)).max(MAX_PROFILE_QUANTILES).optional()];
        return [key, z.number().optional()];
      }),
    ),
  )
  .meta({ description: 'Overrides of the data-validation thresholds and severities (ValidationOptions fields)' });

/**
 * A pipeline's Temporal priority: `high`/`normal`/`low` as every job takes, or (as pipelines took first, still
 * accepted) a priority key 1 (first) to 5 (last); absent = `normal` (key 3). services/job-priority.ts maps the words.
 */
const priority = z
  .union([
    jobPriority,
    z.number().int().min(1).max(5).meta({ description: 'Temporal priority key: 1 (first) to 5 (last)' }),
  ])
  .meta({
    description:
      '`high`, `normal` or `low` (as for other jobs; default `normal`), or a Temporal priority key 1 (first) to 5 ' +
      '(last): high = 1, normal = 3, low = 5',
  });

/** POST /api/v1/pipelines/validation */
export const validationPipelineRequest = z.strictObject({
  datasetId: uuid.optional().meta({ description: 'The dataset; or give `dataset` (exactly one of them)' }),
  dataset: datasetRef.optional(),
  referenceDatasetId: uuid.optional().meta({ description: 'Expected schema, ranges, levels and the drift baseline' }),
  target: storableText()
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
      .meta({
        description: `One of ${ALL_METRICS.join(', ')} (the ones the candidate's task produces), each at most once`,
      }),
    threshold: z
      .number()
      .optional()
      .meta({
        description:
          "Absolute bound: ≥ (greater is better) or ≤; within the metric's range (accuracy, precision, recall, f1 in " +
          '[0, 1], r2 ≤ 1, silhouette in [−1, 1], losses, errors and indices ≥ 0)',
      }),
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

/** A seed of the holdout split: an integer in 0..2^32 − 1. */
const SEED_MESSAGE = 'must be an integer in 0..4294967295';

/**
 * The holdout: `{datasetId}` (a stored dataset) or `{fraction, seed}` (a seeded split of the pipeline's dataset), one
 * object with per-field checks, so an error names the sub-field and why (`holdout.fraction: must be a number ...`)
 * instead of a union's "Invalid input".
 */
const holdout = z
  .strictObject({
    datasetId: uuid.optional().meta({
      description: `A stored dataset with the model's columns, at least ${MIN_HOLDOUT_ROWS} rows; not the pipeline's own datasetId`,
    }),
    fraction: z
      .number({ error: 'must be a number between 0 and 1 (exclusive)' })
      .gt(0, 'must be a number between 0 and 1 (exclusive)')
      .lt(1, 'must be a number between 0 and 1 (exclusive)')
      .optional()
      .meta({
        description:
          `Share of the dataset's rows held out: floor(rows × fraction) must be at least ${MIN_HOLDOUT_ROWS} and leave ` +
          `at least ${MIN_TRAINING_ROWS} rows to train on`,
      }),
    seed: z
      .number({ error: SEED_MESSAGE })
      .int(SEED_MESSAGE)
      .min(0, SEED_MESSAGE)
      .max(2 ** 32 - 1, SEED_MESSAGE)
      .optional()
      .meta({ description: 'Seed of the split (required with fraction)' }),
  })
  .superRefine((h, ctx) => {
    if (h.datasetId !== undefined && (h.fraction !== undefined || h.seed !== undefined)) {
      const extra = h.fraction !== undefined ? 'fraction' : 'seed';
      ctx.addIssue({
        code: 'custom',
        path: [extra],
        message: 'not allowed with holdout.datasetId: give either datasetId or fraction and seed',
      });
    } else if (h.datasetId === undefined && h.fraction === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: h.seed !== undefined ? ['fraction'] : [],
        message:
          h.seed !== undefined
            ? 'required with holdout.seed'
            : 'give datasetId (a stored dataset) or fraction and seed (a seeded split of the dataset)',
      });
    } else if (h.fraction !== undefined && h.seed === undefined) {
      ctx.addIssue({ code: 'custom', path: ['seed'], message: 'required with holdout.fraction' });
    }
  })
  .meta({ description: 'Exactly one of {datasetId} and {fraction, seed}' });

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
  holdout,
  referenceDatasetId: uuid.optional(),
  checks: checks.optional(),
  // The pipeline's own `priority` covers its training; the embedded body has none of its own.
  training: trainingRequest
    .omit({ priority: true })
    .extend({
      datasetId: uuid.optional().meta({ description: 'Defaults to the pipeline datasetId (must match it if given)' }),
      dataset: datasetRef.optional().meta({ description: 'Not accepted here: the pipeline trains on its own dataset' }),
      model: z.strictObject({ name: modelName }).optional().meta({ description: 'Defaults to the pipeline model' }),
    })
    .optional()
    .meta({ description: 'An MLP candidate: a POST /api/v1/training body (exactly one of training and clustering)' }),
  clustering: clusteringRequest
    .omit({ priority: true })
    .extend({
      datasetId: uuid.optional().meta({ description: 'Defaults to the pipeline datasetId (must match it if given)' }),
      dataset: datasetRef.optional().meta({ description: 'Not accepted here: the pipeline fits on its own dataset' }),
      register: z
        .strictObject({ name: modelName })
        .optional()
        .meta({ description: 'Defaults to the pipeline model (must match it if given): the pipeline registers' }),
    })
    .optional()
    .meta({
      description:
        'A clustering candidate: a POST /api/v1/clustering body on the pipeline dataset, of an algorithm that assigns ' +
        'new points (kmeans, minibatch-kmeans, som, gmm); gated on the quality of its labelling of the holdout ' +
        '(silhouette, daviesBouldin, calinskiHarabasz, inertia). Exactly one of training and clustering',
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
        .regex(DURATION_PATTERN, 'must be a duration from 1s to 30d such as "24h", "30m", "2s"')
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
  comment: storableText().max(2000).optional(),
});
