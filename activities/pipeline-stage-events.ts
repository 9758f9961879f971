import { Context } from '@temporalio/activity';
import type { PipelineStage } from '../common/pipelines';
import type { ActivityDeps } from './deps';
import { jobEventWriter } from './job-events';

/** A pipeline entering a stage (workflows/pipeline-stage.ts), with the few facts its event carries. */
export interface RecordStageInput {
  stage: PipelineStage;
  /** The stage it left (absent for the first). */
  previous?: PipelineStage;
  /** Ids and outcomes only: the child job's id (training), the approval deadline, the final status. */
  facts?: Record<string, unknown>;
}

export function createPipelineStageEventActivities({ pool }: Pick<ActivityDeps, 'pool'>) {
  return {
    /**
     * Appends `stage` {stage, state: running} (the `completed` stage: state `completed`, with the pipeline's status)
     * to the pipeline's event log, once per stage (keyed by it). Waiting for a reviewer is a status too: `status`
     * {status: awaiting-approval} on entering it, {status: running} on leaving it.
     */
    async recordPipelineStage(input: RecordStageInput): Promise<void> {
      const events = jobEventWriter(pool, Context.current());
      if (input.previous === 'awaiting-approval')
        await events.append('status', { status: 'running' }, 'status:running:after-approval');
      const state = input.stage === 'completed' ? 'completed' : 'running';
      await events.append('stage', { stage: input.stage, state, ...input.facts }, `stage:${input.stage}`);
      if (input.stage === 'awaiting-approval')
        await events.append('status', { status: 'awaiting-approval' }, 'status:awaiting-approval');
    },
  };
}
