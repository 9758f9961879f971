import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { ClusteringJobInput, TrainingJobInput } from '../../common/jobs';
import { clusteringWorkflow, trainingWorkflow } from '../../workflows';
import { activityEvents } from '../support/activity-history';
import { expectRejects } from '../support/expect-rejects';
import {
  ActivityRecorder,
  mockActivities,
  trainingInput,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// An explicit `gpu` route has no fallback: with no GPU worker the compute waits on the GPU queue for as long as it takes.
// Cancelling such a job must end it CANCELED at once, without the compute ever running anywhere.
describe('a job waiting for a GPU queue: no fallback without `any`, and cancellation ends it CANCELED', function () {
  let temporal: TestTemporal;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });

  /** Starts `workflow` routed to a GPU queue nobody polls, waits past any 1 s bound, cancels it, checks the ending. */
  async function cancelWhileWaiting(
    start: (cpuQueue: string, gpuQueue: string) => Promise<{ workflowId: string }>,
    computeActivity: string,
  ): Promise<void> {
    const cpuQueue = uniqueQueue('cpu');
    const gpuQueue = uniqueQueue('gpu');
    const recorder = new ActivityRecorder();
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const handle = await worker.runUntil(async () => {
      const { workflowId } = await start(cpuQueue, gpuQueue);
      const handle = temporal.env.client.workflow.getHandle(workflowId);
      // Longer than an `any` bound in these tests: a `gpu` route must not fall back on its own.
      await sleep(1500);
      const waiting = await handle.describe();
      expect(waiting.status.name).to.equal('RUNNING');
      expect(waiting.raw.pendingActivities?.map((a) => [a.activityType?.name, a.attempt])).to.deep.equal([
        [computeActivity, 1],
      ]);
      await handle.cancel();
      await expectRejects(handle.result(), (err) => {
        expect(err).to.be.instanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      });
      return handle;
    });
    expect((await handle.describe()).status.name).to.equal('CANCELLED');
    expect(recorder.calls, 'nothing ran: not the compute, not a registration').to.deep.equal([]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled ${computeActivity}@${gpuQueue} scheduleToStart=0s`,
      'cancel requested',
      'canceled',
    ]);
  }

  it('clustering on an explicit `gpu` route with no GPU worker waits, then cancels cleanly', async () => {
    await cancelWhileWaiting(
      (cpuQueue, gpuQueue) =>
        temporal.env.client.workflow.start(clusteringWorkflow, {
          args: [
            {
              tenantId: 'tenant-c',
              datasetId: 'ds-c',
              algorithm: 'kmeans',
              params: { k: 2 },
              register: { name: 'never-registered' },
              route: { taskQueue: gpuQueue },
            } satisfies ClusteringJobInput,
          ],
          taskQueue: cpuQueue,
          workflowId: `gpu-wait-${randomUUID()}`,
        }),
      'runClustering',
    );
  });

  it('training on an explicit `gpu` route with no GPU worker waits, then cancels without registering', async () => {
    await cancelWhileWaiting(
      (cpuQueue, gpuQueue) =>
        temporal.env.client.workflow.start(trainingWorkflow, {
          args: [trainingInput({ route: { taskQueue: gpuQueue } }) satisfies TrainingJobInput],
          taskQueue: cpuQueue,
          workflowId: `gpu-wait-${randomUUID()}`,
        }),
      'trainModel',
    );
  });
});
