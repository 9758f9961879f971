import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { ClusteringJobInput } from '../../common/jobs';
import { clusteringWorkflow } from '../../workflows';
import { activityEvents } from '../support/activity-history';
import { expectRejects } from '../support/expect-rejects';
import {
  activityWorker,
  ActivityRecorder,
  anyRoute,
  clusteringSummaryFor,
  mockActivities,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

// compute-route.ts through the clustering workflow (the routing is shared; the other workflows' tests check that they
// use it). Mocked activities, no database; the `any` bound is 1 s, so the fallback waits for real, not skipped time.
describe('compute routing: GPU queue first, CPU fallback after the schedule-to-start bound', function () {
  let temporal: TestTemporal;
  let cpuQueue: string;
  let gpuQueue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    cpuQueue = uniqueQueue('cpu');
    gpuQueue = uniqueQueue('gpu');
    recorder = new ActivityRecorder();
  });

  const input = (route?: ClusteringJobInput['route']): ClusteringJobInput => ({
    tenantId: 'tenant-a',
    datasetId: 'ds-1',
    algorithm: 'kmeans',
    params: { k: 2 },
    ...(route ? { route } : {}),
  });
  const start = (job: ClusteringJobInput) =>
    temporal.env.client.workflow.start(clusteringWorkflow, {
      args: [job],
      taskQueue: cpuQueue,
      workflowId: `routing-${randomUUID()}`,
    });

  it('a job without a route (from before routing) computes on its own queue, with no bound', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = input();
    const { handle, result } = await worker.runUntil(async () => {
      const handle = await start(job);
      return { handle, result: await handle.result() };
    });
    expect(result).to.deep.equal(clusteringSummaryFor(job, cpuQueue));
    expect(recorder.calls).to.deep.equal([{ activity: 'runClustering', taskQueue: cpuQueue, attempt: 1, input: job }]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${cpuQueue} scheduleToStart=0s`,
      'completed',
    ]);
  });

  it('`any` with a GPU worker polling: the GPU worker computes within the bound, no fallback', async () => {
    const cpu = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const { runClustering } = mockActivities(recorder);
    const gpu = await activityWorker(temporal, gpuQueue, { runClustering });
    const job = input(anyRoute(gpuQueue, cpuQueue, 30));
    const { handle, result } = await cpu.runUntil(
      gpu.runUntil(async () => {
        const handle = await start(job);
        return { handle, result: await handle.result() };
      }),
    );
    expect(result).to.deep.equal(clusteringSummaryFor(job, gpuQueue));
    expect(result).to.not.have.property('fellBackToCpu');
    expect(recorder.where()).to.deep.equal([`runClustering@${gpuQueue}`]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${gpuQueue} scheduleToStart=30s`,
      'completed',
    ]);
  });

  it('`any` with no GPU worker: after afterSeconds the CPU queue computes, and the result says it fell back', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = input(anyRoute(gpuQueue, cpuQueue, 1));
    const started = Date.now();
    const { handle, result } = await worker.runUntil(async () => {
      const handle = await start(job);
      return { handle, result: await handle.result() };
    });
    expect(Date.now() - started, 'waited the bound first').to.be.at.least(1000);
    expect(result).to.deep.equal({ ...clusteringSummaryFor(job, cpuQueue), fellBackToCpu: true });
    // The compute ran once, on the fallback queue, with the job's input unchanged.
    expect(recorder.calls).to.deep.equal([{ activity: 'runClustering', taskQueue: cpuQueue, attempt: 1, input: job }]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${gpuQueue} scheduleToStart=1s`,
      'timed out SCHEDULE_TO_START',
      `scheduled runClustering@${cpuQueue} scheduleToStart=0s`,
      'completed',
    ]);
  });

  it('an explicit `gpu` route (no fallback) computes on the GPU queue with no schedule-to-start bound', async () => {
    const cpu = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const { runClustering } = mockActivities(recorder);
    const gpu = await activityWorker(temporal, gpuQueue, { runClustering });
    const job = input({ taskQueue: gpuQueue });
    const { handle, result } = await cpu.runUntil(
      gpu.runUntil(async () => {
        const handle = await start(job);
        return { handle, result: await handle.result() };
      }),
    );
    expect(result).to.deep.equal(clusteringSummaryFor(job, gpuQueue));
    expect(recorder.where()).to.deep.equal([`runClustering@${gpuQueue}`]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${gpuQueue} scheduleToStart=0s`,
      'completed',
    ]);
  });

  it('`any` where the GPU worker fails the compute: the failure stands, the CPU queue does not retry it', async () => {
    const cpu = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const gpu = await activityWorker(temporal, gpuQueue, {
      async runClustering(job: ClusteringJobInput) {
        recorder.record('runClustering', job);
        throw ApplicationFailure.nonRetryable('out of device memory', 'DeviceError');
      },
    });
    const job = input(anyRoute(gpuQueue, cpuQueue, 30));
    const handle = await cpu.runUntil(
      gpu.runUntil(async () => {
        const handle = await start(job);
        await expectRejects(handle.result(), (err) => {
          expect(err).to.be.instanceOf(WorkflowFailedError);
          const activity = (err as WorkflowFailedError).cause;
          expect(activity).to.be.instanceOf(ActivityFailure);
          expect((activity as ActivityFailure).cause).to.be.instanceOf(ApplicationFailure);
          expect((activity as ActivityFailure).cause).to.include({
            message: 'out of device memory',
            type: 'DeviceError',
          });
        });
        return handle;
      }),
    );
    expect(recorder.where()).to.deep.equal([`runClustering@${gpuQueue}`]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${gpuQueue} scheduleToStart=30s`,
      'failed',
    ]);
  });
});
