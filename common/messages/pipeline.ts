import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { DecisionOutcome, DecisionRequest, PipelineStage } from '../pipelines';

// Messages of the validation pipelines, in a shared module (like common/messages/training.ts) so the workflow and the
// API use one definition.

/**
 * A reviewer's decision on a pipeline waiting for approval. An Update, not a signal: the validator refuses it (and
 * the API answers 409) unless the run is waiting, and the caller receives the outcome (registered version, promotion).
 */
export const decisionUpdate = defineUpdate<DecisionOutcome, [DecisionRequest]>('decision');

/** The stage a pipeline is in (also in its memo and the KilnStage search attribute). */
export const pipelineStageQuery = defineQuery<PipelineStage>('stage');

/**
 * Search attribute a pipeline updates at each stage, so the Temporal UI and GET /api/v1/jobs can find runs by stage
 * (`KilnStage = "awaiting-approval"`). Declared here as a plain key because workflows may import only this module;
 * common/search-attributes.ts registers it with the others.
 */
export const KilnStage: Extract<SearchAttributeUpdatePair, { key: { type: 'KEYWORD' } }>['key'] = {
  name: 'KilnStage',
  type: 'KEYWORD',
};
