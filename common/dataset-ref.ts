/**
 * A dataset named by its series instead of its id (db/dataset-series.ts), as jobs and schedules carry it. It crosses
 * the workflow boundary unresolved: a run resolves it when it starts, so every run of a schedule reads the data that
 * was current at its own scheduled time.
 */

/**
 * Which version of the series: `latest` (the newest uploaded by the end of the run's scheduled second, or by its start
 * when it was not scheduled), a version number, or the version current at an ISO-8601 instant.
 */
export type DatasetVersionSelector = 'latest' | number | { asOf: string };

/** A series and which of its versions. */
export interface DatasetRef {
  /** The series: the name datasets were uploaded under. */
  name: string;
  version: DatasetVersionSelector;
}

/** What a run resolved its DatasetRef to; recorded in its result and memo. */
export interface ResolvedDataset {
  name: string;
  version: number;
  datasetId: string;
  sha256: string;
  rows: number;
  /** When this version was uploaded (ISO-8601). */
  createdAt: string;
  /**
   * The instant the reference was resolved against (ISO-8601): the `asOf` asked for, else the run's (the end of its
   * scheduled second, or its start): for a version number too, which names its version whatever the instant. Absent
   * only from results recorded before pinned versions recorded it.
   */
  asOf?: string;
}

/** Error type of a run whose DatasetRef names no version (the run fails; a schedule keeps going). */
export const DATASET_NOT_FOUND = 'DatasetNotFound';

/**
 * A job input that names its dataset by series instead of by id: the workflow resolves `dataset` when it starts and
 * runs the id form from then on. Inputs of this form exist only since series did; every older history has `datasetId`.
 */
export type ByDatasetRef<T extends { datasetId: string }> = Omit<T, 'datasetId'> & {
  datasetId?: undefined;
  dataset: DatasetRef;
};
