import type { SearchAttributeUpdatePair } from '@temporalio/common';

// Search attribute keys that workflow code reads or sets, declared as plain keys because workflows may import only
// common/messages/*; common/search-attributes.ts registers Kiln's own with the others.

type KeywordKey = Extract<SearchAttributeUpdatePair, { key: { type: 'KEYWORD' } }>['key'];
type DatetimeKey = Extract<SearchAttributeUpdatePair, { key: { type: 'DATETIME' } }>['key'];

/** The dataset a job reads; a run that names its dataset by series sets it once it has resolved it. */
export const KilnDatasetId: KeywordKey = { name: 'KilnDatasetId', type: 'KEYWORD' };

/** Set by Temporal on every workflow a schedule starts: the schedule's id. */
export const TemporalScheduledById: KeywordKey = { name: 'TemporalScheduledById', type: 'KEYWORD' };

/** Set by Temporal on every workflow a schedule starts: its scheduled (logical) time, before jitter. */
export const TemporalScheduledStartTime: DatetimeKey = { name: 'TemporalScheduledStartTime', type: 'DATETIME' };
