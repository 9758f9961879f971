import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { TrainingJobInput, TrainingSummary } from '../../common/jobs';
import { stopRequestedQuery, stopSignal } from '../../common/messages/training';
import { trainingWorkflow } from '../../workflows';
import {
  ActivityRecorder,
  mockActivities,
  registeredFor,
  trainingInput,
  trainingSummaryFor,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('training workflow: a stop request reaches the training activity, which registers what it has', function () {
  let temporal: TestTemporal;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });

  it('stopRequested is false until the stop signal, then true; the activity that asks it stops and the model registers', async () => {
    const queue = uniqueQueue('training-stop');
    const recorder = new ActivityRecorder();
    let epochsBeforeStop = 0;
    const mocks = mockActivities(recorder, {
      // Like the real trainModel: an "epoch" at a time, asking the workflow's stopRequested query after each one.
      // Bounded, so a stop that never arrives ends in a result the test rejects instead of a hang.
      async trainModel(job: TrainingJobInput): Promise<TrainingSummary> {
        const { taskQueue } = recorder.record('trainModel', job);
        const ctx = Context.current();
        const execution = ctx.info.workflowExecution;
        if (!execution) throw new Error('trainModel runs only inside a workflow');
        const handle = ctx.client.workflow.getHandle(execution.workflowId, execution.runId);
        for (let epoch = 1; epoch <= 200; epoch++) {
          ctx.heartbeat({ epoch });
          if (await handle.query(stopRequestedQuery)) {
            epochsBeforeStop = epoch - 1;
            return { ...trainingSummaryFor(job, taskQueue), epochsRun: epochsBeforeStop, stoppedBy: 'stop-request' };
          }
          await sleep(50);
        }
        return trainingSummaryFor(job, taskQueue);
      },
    });
    const worker = await workflowWorker(temporal, queue, mocks);
    const job = trainingInput({ training: { epochs: 1000, batchSize: 8, learningRate: 0.05 } });
    const { before, after, result } = await worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(trainingWorkflow, {
        args: [job],
        taskQueue: queue,
        workflowId: `training-stop-${randomUUID()}`,
      });
      // Let it train a few epochs first, so the stop arrives mid-training.
      while (recorder.calls.length === 0) await sleep(20);
      await sleep(300);
      const before = await handle.query(stopRequestedQuery);
      await handle.signal(stopSignal);
      const result = await handle.result();
      return { before, after: await handle.query(stopRequestedQuery), result };
    });
    expect(before, 'stopRequested before the signal').to.equal(false);
    expect(after, 'stopRequested after the signal').to.equal(true);
    expect(epochsBeforeStop).to.be.within(1, 199);
    const summary = { ...trainingSummaryFor(job, queue), epochsRun: epochsBeforeStop, stoppedBy: 'stop-request' };
    expect(result).to.deep.equal({ ...summary, registered: registeredFor('churn-mlp') });
    // A stopped job still registers exactly one version, of the stopped model.
    expect(recorder.calls.map((c) => [c.activity, c.input])).to.deep.equal([
      ['trainModel', job],
      ['registerTrainedModel', { tenantId: 'tenant-t', modelName: 'churn-mlp', input: job, summary }],
    ]);
  });
});
