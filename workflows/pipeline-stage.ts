import { setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { PipelineStage } from '../common/pipelines';
import { KilnStage, pipelineStageQuery } from '../common/messages/pipeline';

/**
 * A pipeline's stage, kept where every observer can see it: the `stage` query (a worker answers), the memo (GET
 * /api/v1/pipelines/:id reads it without a worker, with the ids and counts of the stages done so far) and the
 * KilnStage search attribute (the Temporal UI and GET /api/v1/jobs filter on it).
 */
export class StageTracker {
  private current: PipelineStage;

  constructor(first: PipelineStage) {
    this.current = first;
    setHandler(pipelineStageQuery, () => this.current);
    this.publish({});
  }

  get stage(): PipelineStage {
    return this.current;
  }

  /** Enters `stage`, recording `facts` (ids, counts, metric numbers: small) in the memo with it. */
  enter(stage: PipelineStage, facts: Record<string, unknown> = {}): void {
    this.current = stage;
    this.publish(facts);
  }

  /** Adds facts to the memo without changing stage. */
  note(facts: Record<string, unknown>): void {
    upsertMemo(facts);
  }

  private publish(facts: Record<string, unknown>): void {
    upsertMemo({ stage: this.current, ...facts });
    upsertSearchAttributes([{ key: KilnStage, value: this.current }]);
  }
}
