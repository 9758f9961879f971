import { ApplicationFailure } from '@temporalio/activity';
import { DATASET_NOT_FOUND, DatasetRef, ResolvedDataset } from '../common/dataset-ref';
import { resolveSeriesVersion } from '../db/dataset-series';
import type { ActivityDeps } from './deps';

/** What a run asks when it names its dataset by series: the reference and the instant `latest` means. */
export interface ResolveDatasetInput {
  tenantId: string;
  ref: DatasetRef;
  /** ISO-8601: the run's scheduled time, or its start when no schedule started it. */
  asOf: string;
}

/** The activity that turns a run's DatasetRef into the dataset it reads (db/dataset-series.ts). */
export function createDatasetRefActivities({ pool }: ActivityDeps) {
  return {
    /**
     * The version `ref` names as of `asOf` (a version number ignores it). A series with no such version fails the run
     * without retries (DatasetNotFound): an upload later does not change what the run should have read.
     */
    async resolveDatasetRef(input: ResolveDatasetInput): Promise<ResolvedDataset> {
      const { ref } = input;
      const found = await resolveSeriesVersion(pool, input.tenantId, ref.name, ref.version, new Date(input.asOf));
      if (!found) {
        const which =
          typeof ref.version === 'number'
            ? `version ${ref.version}`
            : `version uploaded at or before ${ref.version === 'latest' ? input.asOf : ref.version.asOf}`;
        throw ApplicationFailure.nonRetryable(
          `dataset series ${JSON.stringify(ref.name)} has no ${which}`,
          DATASET_NOT_FOUND,
        );
      }
      return {
        name: found.name,
        version: found.version,
        datasetId: found.dataset.id,
        sha256: found.dataset.sha256,
        rows: found.dataset.rows,
        createdAt: found.createdAt,
        // A pinned version records the run's resolution instant too, so every resolved dataset says when it was read.
        asOf: typeof ref.version === 'object' ? new Date(ref.version.asOf).toISOString() : input.asOf,
      };
    },
  };
}
