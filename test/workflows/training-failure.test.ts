import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { INVALID_JOB_INPUT } from '../../activities/errors';
import type { TrainingJobInput } from '../../common/jobs';
import { trainingWorkflow } from '../../workflows';
import { expectRejects } from '../support/expect-rejects';
import {
  ActivityRecorder,
  mockActivities,
  trainingInput,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

/** Every link of an error's cause chain, as the fields a caller of the API gets to see. */
function causeChain(err: unknown): Array<Record<string, unknown>> {
  const chain: Array<Record<string, unknown>> = [];
  for (let e = err as Error | undefined; e; e = (e as { cause?: Error }).cause) {
    if (e instanceof WorkflowFailedError) {
      chain.push({ class: 'WorkflowFailedError', message: e.message, retryState: e.retryState });
    } else if (e instanceof ActivityFailure) {
      chain.push({
        class: 'ActivityFailure',
        message: e.message,
        activityType: e.activityType,
        activityId: e.activityId,
        retryState: e.retryState,
      });
    } else if (e instanceof ApplicationFailure) {
      chain.push({
        class: 'ApplicationFailure',
        message: e.message,
        type: e.type,
        nonRetryable: e.nonRetryable,
        details: e.details,
      });
    } else {
      chain.push({ class: e.constructor.name, message: e.message });
    }
  }
  return chain;
}

describe('training workflow: input the job cannot use fails it at once, with the cause intact', function () {
  let temporal: TestTemporal;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });

  it('a non-retryable InvalidJobInput from trainModel: no retry, no registration, WorkflowFailedError → ActivityFailure → ApplicationFailure', async () => {
    const queue = uniqueQueue('training-failure');
    const recorder = new ActivityRecorder();
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        async trainModel(job: TrainingJobInput) {
          recorder.record('trainModel', job);
          throw ApplicationFailure.nonRetryable(`dataset ${job.datasetId} does not exist`, INVALID_JOB_INPUT);
        },
      }),
    );
    const job = trainingInput({ datasetId: 'ds-missing' });
    await worker.runUntil(
      expectRejects(
        temporal.env.client.workflow.execute(trainingWorkflow, {
          args: [job],
          taskQueue: queue,
          workflowId: `training-failure-${randomUUID()}`,
        }),
        (err) => {
          expect(causeChain(err)).to.deep.equal([
            { class: 'WorkflowFailedError', message: 'Workflow execution failed', retryState: 'RETRY_POLICY_NOT_SET' },
            {
              class: 'ActivityFailure',
              message: 'Activity task failed',
              activityType: 'trainModel',
              activityId: '1',
              retryState: 'NON_RETRYABLE_FAILURE',
            },
            {
              class: 'ApplicationFailure',
              message: 'dataset ds-missing does not exist',
              type: 'InvalidJobInput',
              nonRetryable: true,
              details: [],
            },
          ]);
        },
      ),
    );
    // One attempt (the retry policy would allow 126, workflows/retry-policies.ts), and nothing registered.
    expect(recorder.calls).to.deep.equal([{ activity: 'trainModel', taskQueue: queue, attempt: 1, input: job }]);
  });
});
