import type { Pool } from 'pg';
import { EPOCH_SERIES_KEYS, EpochSeriesKey } from '../../common/epoch-metrics';
import { ValidationError } from '../../common/errors';
import { hasJobEvents, listEpochProgress } from '../../db/job-events';
import { getVersionDetail } from '../../db/models';
import { versionTrainingSource } from '../../db/registry';

/** One point of a per-epoch series: the epoch (from 1) and the value recorded at its end. */
export interface SeriesPoint {
  epoch: number;
  value: number;
}

/** Per-epoch series by key (`loss`, `valLoss`, `accuracy`...), each in epoch order. */
export type EpochSeries = Partial<Record<EpochSeriesKey, SeriesPoint[]>>;

/**
 * The `keys` query parameter (`loss,valLoss`): undefined when absent (every series the job has); a ValidationError
 * (400, field `query.keys`) naming an unknown key and listing the known ones.
 */
export function parseSeriesKeys(raw: unknown): EpochSeriesKey[] | undefined {
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw.join(',') : String(raw);
  const keys = text.split(',').map((k) => k.trim());
  for (const key of keys) {
    if (!(EPOCH_SERIES_KEYS as readonly string[]).includes(key)) {
      throw new ValidationError(
        `unknown series ${JSON.stringify(key)} in keys; known: ${EPOCH_SERIES_KEYS.join(', ')}`,
        'query.keys',
      );
    }
  }
  return [...new Set(keys)] as EpochSeriesKey[];
}

function valueOf(record: Record<string, unknown>, key: EpochSeriesKey): number | undefined {
  const value =
    key === 'loss' || key === 'valLoss' ? record[key] : (record.metrics as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Series from per-epoch records (a training job's `progress` events, or a version's stored history: both
 * `{epoch, loss, valLoss?, metrics: {accuracy...}}`), one point per epoch, first record of an epoch wins. `keys`
 * absent: every known series with at least one point; given: each of them, empty where the job has none.
 */
export function seriesOf(records: ReadonlyArray<Record<string, unknown>>, keys?: EpochSeriesKey[]): EpochSeries {
  const wanted = keys ?? [...EPOCH_SERIES_KEYS];
  const series: EpochSeries = {};
  const seen = new Set<number>();
  for (const key of wanted) series[key] = [];
  for (const record of records) {
    const epoch = record.epoch;
    if (typeof epoch !== 'number' || seen.has(epoch)) continue;
    seen.add(epoch);
    for (const key of wanted) {
      const value = valueOf(record, key);
      if (value !== undefined) series[key]!.push({ epoch, value });
    }
  }
  if (!keys) for (const key of wanted) if (series[key]!.length === 0) delete series[key];
  for (const key of wanted) series[key]?.sort((a, b) => a.epoch - b.epoch);
  return series;
}

/** A job's per-epoch series, from its event log. */
export async function jobSeries(pool: Pool, jobId: string, keys?: EpochSeriesKey[]): Promise<EpochSeries> {
  return seriesOf(await listEpochProgress(pool, jobId), keys);
}

/** Whether the job has an event log (cheaper than asking Temporal whether it exists). */
export function jobHasEvents(pool: Pool, jobId: string): Promise<boolean> {
  return hasJobEvents(pool, jobId);
}

/**
 * A model version's per-epoch series: from the event log of the training job it names (`training_job_id`), or, for a
 * version whose job left no events (trained before the log existed), from the history stored with its metrics.
 * NotFoundError naming `name` or `version`.
 */
export async function versionSeries(
  pool: Pool,
  tenantId: string,
  name: string,
  version: number,
  keys?: EpochSeriesKey[],
): Promise<{
  modelName: string;
  version: number;
  jobId: string | null;
  source: 'events' | 'history';
  series: EpochSeries;
}> {
  const detail = await getVersionDetail(pool, tenantId, name, version);
  const source = await versionTrainingSource(pool, tenantId, detail.id);
  const jobId = source?.trainingJobId ?? null;
  if (jobId) {
    const records = await listEpochProgress(pool, jobId);
    if (records.length > 0)
      return { modelName: name, version, jobId, source: 'events', series: seriesOf(records, keys) };
  }
  const history = Array.isArray(source?.history) ? (source.history as Array<Record<string, unknown>>) : [];
  return { modelName: name, version, jobId, source: 'history', series: seriesOf(history, keys) };
}
