import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { KilnStage } from './messages/pipeline';
import { KilnDatasetId, TemporalScheduledById, TemporalScheduledStartTime } from './messages/search-attributes';

/**
 * Custom search attributes Kiln sets on every job so operators can filter in the Temporal UI
 * (e.g. `KilnKind = "clustering" AND KilnAlgorithm = "kmeans"`). The dev server registers them at start.
 */
export const KilnKind = defineSearchAttributeKey('KilnKind', SearchAttributeType.KEYWORD);
export const KilnAlgorithm = defineSearchAttributeKey('KilnAlgorithm', SearchAttributeType.KEYWORD);
export const KilnTenant = defineSearchAttributeKey('KilnTenant', SearchAttributeType.KEYWORD);
export const KilnModelName = defineSearchAttributeKey('KilnModelName', SearchAttributeType.KEYWORD);

/** A pipeline's stage and a job's dataset (common/messages/*, where workflows can reach them). */
export { KilnDatasetId, KilnStage };

/** What Temporal sets on every workflow a schedule starts (the schedule's id, the run's scheduled time). */
export { TemporalScheduledById, TemporalScheduledStartTime };

export const KILN_SEARCH_ATTRIBUTES = [KilnKind, KilnAlgorithm, KilnDatasetId, KilnTenant, KilnModelName, KilnStage];

/** `--search-attribute` arguments for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return KILN_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
