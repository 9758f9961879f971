import { proxyActivities, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ACTIVITY_RETRY } from './retry-policies';
import type { createDatasetRefActivities } from '../activities/dataset-ref';
import type { ByDatasetRef, DatasetRef, ResolvedDataset } from '../common/dataset-ref';
import { KilnDatasetId, TemporalScheduledStartTime } from '../common/messages/search-attributes';

// A database read: short, retried on anything but a missing version (the activity says so).
const { resolveDatasetRef } = proxyActivities<ReturnType<typeof createDatasetRefActivities>>({
  startToCloseTimeout: '1 minute',
  retry: ACTIVITY_RETRY,
});

/**
 * The instant `latest` means for this run. A run a schedule started: the end of its scheduled (logical) second, from
 * Temporal's TemporalScheduledStartTime (also set on backfills and triggers). Temporal keeps whole seconds there, a
 * trigger's being the second it came in, so an upload a moment before a trigger in the same second still counts.
 * Any other run: the time its workflow started.
 */
function runAsOf(): Date {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(TemporalScheduledStartTime);
  // Older servers attach it without a type: read the untyped form.
  const untyped = info.searchAttributes?.[TemporalScheduledStartTime.name]?.[0];
  const scheduled = typed ?? (untyped instanceof Date || typeof untyped === 'string' ? new Date(untyped) : undefined);
  return scheduled ? new Date(Math.floor(scheduled.getTime() / 1000) * 1000 + 999) : info.startTime;
}

/**
 * Resolves the run's dataset reference in a first activity (see activities/dataset-ref.ts), then records the answer
 * where observers look: the KilnDatasetId search attribute and the memo's `dataset`.
 */
export async function resolveRunDataset(tenantId: string, ref: DatasetRef): Promise<ResolvedDataset> {
  const resolved = await resolveDatasetRef({ tenantId, ref, asOf: runAsOf().toISOString() });
  upsertSearchAttributes([{ key: KilnDatasetId, value: resolved.datasetId }]);
  upsertMemo({
    dataset: {
      id: resolved.datasetId,
      name: resolved.name,
      version: resolved.version,
      rows: resolved.rows,
      sha256: resolved.sha256,
    },
  });
  return resolved;
}

/**
 * The job input with its dataset by id: as given when it has one (every input before series: no command, so their
 * histories replay), else with the reference resolved, which is returned as `dataset` for the result.
 */
export async function bindDataset<T extends { tenantId: string; datasetId: string }>(
  input: T | ByDatasetRef<T>,
): Promise<{ job: T; dataset?: ResolvedDataset }> {
  if (input.datasetId !== undefined) return { job: input as T };
  const { dataset: ref, ...rest } = input as ByDatasetRef<T>;
  const dataset = await resolveRunDataset(input.tenantId, ref);
  return { job: { ...rest, datasetId: dataset.datasetId } as unknown as T, dataset };
}
