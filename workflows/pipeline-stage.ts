import { patched, proxyActivities, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { createPipelineStageEventActivities } from '../activities/pipeline-stage-events';
import type { PipelineStage } from '../common/pipelines';
import { KilnStage, pipelineStageQuery } from '../common/messages/pipeline';
import { ACTIVITY_RETRY } from './retry-policies';

/** Runs started before stage events existed replay without them (their histories have no such activity). */
export const STAGE_EVENTS_PATCH = 'kiln-stage-events';

const { recordPipelineStage } = proxyActivities<ReturnType<typeof createPipelineStageEventActivities>>({
  startToCloseTimeout: '1 minute',
  retry: ACTIVITY_RETRY,
});

/** The facts a stage's event carries: ids and outcomes, never data (they ride in history as the activity's input). */
const EVENT_FACTS = ['trainingJobId', 'clusteringJobId', 'status', 'approval'] as const;

/**
 * A pipeline's stage, kept where every observer can see it: the `stage` query (a worker answers), the memo (GET
 * /api/v1/pipelines/:id reads it without a worker, with the ids and counts of the stages done so far), the
 * KilnStage search attribute (the Temporal UI and GET /api/v1/jobs filter on it) and the job's event log (a `stage`
 * event per stage, appended by an activity: workflows do no I/O).
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

  /** Appends the first stage's event (the constructor cannot wait for an activity); call once, after the handlers. */
  async started(): Promise<void> {
    await this.record(this.current, undefined, {});
  }

  /**
   * Enters `stage`: appends its event, then records `facts` (ids, counts, metric numbers: small) in the memo with it.
   * The event goes first so that what observers see changes in the same workflow task as what follows it: the
   * `completed` memo with the run's close, `awaiting-approval` with the wait (no window in which the memo says a
   * stage the run has not reached).
   */
  async enter(stage: PipelineStage, facts: Record<string, unknown> = {}): Promise<void> {
    await this.record(stage, this.current, facts);
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

  private async record(
    stage: PipelineStage,
    previous: PipelineStage | undefined,
    facts: Record<string, unknown>,
  ): Promise<void> {
    if (!patched(STAGE_EVENTS_PATCH)) return;
    const picked = Object.fromEntries(EVENT_FACTS.filter((k) => facts[k] !== undefined).map((k) => [k, facts[k]]));
    await recordPipelineStage({
      stage,
      ...(previous ? { previous } : {}),
      ...(Object.keys(picked).length > 0 ? { facts: picked } : {}),
    });
  }
}
