import { z } from 'zod';
import { storableText } from './storable-text';

/** Longest dataset (series) name, as uploads accept it. */
export const DATASET_NAME_MAX = 200;

/**
 * `"dataset": {name, version}`, accepted wherever a request takes a `datasetId` (exactly one of the two): a named
 * series' version, resolved by the run when it starts (common/dataset-ref.ts).
 */
export const datasetRef = z
  .strictObject({
    name: storableText()
      .min(1)
      .max(DATASET_NAME_MAX)
      .meta({ description: 'The name the versions were uploaded under' }),
    version: z
      .union(
        [
          z.literal('latest'),
          z
            .number()
            .int()
            .min(1)
            .max(2 ** 31 - 1),
          z.strictObject({
            asOf: z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601 instant with a zone or Z' }),
          }),
        ],
        {
          error: 'must be "latest", a version number (1, 2, ...) or {"asOf": "<ISO-8601 instant>"}',
        },
      )
      .default('latest')
      .meta({
        description:
          "`latest` (default): the newest version uploaded by the end of the run's scheduled second (its start when " +
          'not scheduled); a version number; or `{asOf}`: the newest uploaded at or before that instant',
      }),
  })
  .meta({ description: 'A version of a named dataset series instead of a datasetId; resolved when the run starts' });
