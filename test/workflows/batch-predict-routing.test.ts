import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { BatchPredictJobInput } from '../../common/jobs';
import { batchPredictWorkflow } from '../../workflows';
import { activityEvents } from '../support/activity-history';
import {
  activityWorker,
  ActivityRecorder,
  anyRoute,
  batchPredictResultFor,
  mockActivities,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

describe('batch predict workflow: predict on the routed queue, or on the CPU queue after the bound', function () {
  let temporal: TestTemporal;
  let cpuQueue: string;
  let gpuQueue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    cpuQueue = uniqueQueue('predict');
    gpuQueue = uniqueQueue('gpu');
    recorder = new ActivityRecorder();
  });

  const input = (route?: BatchPredictJobInput['route']): BatchPredictJobInput => ({
    tenantId: 'tenant-p',
    modelName: 'segments',
    version: 3,
    flavor: 'kmeans',
    artifactId: 'artifact-9',
    datasetId: 'ds-p',
    ...(route ? { route } : {}),
  });
  const run = async (job: BatchPredictJobInput) => {
    const handle = await temporal.env.client.workflow.start(batchPredictWorkflow, {
      args: [job],
      taskQueue: cpuQueue,
      workflowId: `predict-${randomUUID()}`,
    });
    return { handle, result: await handle.result() };
  };

  it('without a route: predicts on its own queue and returns the activity result as is', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = input();
    const { result } = await worker.runUntil(run(job));
    expect(result).to.deep.equal(batchPredictResultFor(job, cpuQueue));
    expect(recorder.calls).to.deep.equal([{ activity: 'predictDataset', taskQueue: cpuQueue, attempt: 1, input: job }]);
  });

  it('`any` with a GPU worker: predicts on the GPU queue, no fallback flag', async () => {
    const cpu = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const { predictDataset } = mockActivities(recorder);
    const gpu = await activityWorker(temporal, gpuQueue, { predictDataset });
    const job = input(anyRoute(gpuQueue, cpuQueue, 30));
    const { result } = await cpu.runUntil(gpu.runUntil(run(job)));
    expect(result).to.deep.equal(batchPredictResultFor(job, gpuQueue));
    expect(result).to.not.have.property('fellBackToCpu');
    expect(recorder.calls).to.deep.equal([{ activity: 'predictDataset', taskQueue: gpuQueue, attempt: 1, input: job }]);
  });

  it('`any` with no GPU worker: predicts on the CPU queue after the bound, and the result says it fell back', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = input(anyRoute(gpuQueue, cpuQueue, 1));
    const { handle, result } = await worker.runUntil(run(job));
    expect(result).to.deep.equal({ ...batchPredictResultFor(job, cpuQueue), fellBackToCpu: true });
    expect(recorder.calls).to.deep.equal([{ activity: 'predictDataset', taskQueue: cpuQueue, attempt: 1, input: job }]);
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled predictDataset@${gpuQueue} scheduleToStart=1s`,
      'timed out SCHEDULE_TO_START',
      `scheduled predictDataset@${cpuQueue} scheduleToStart=0s`,
      'completed',
    ]);
  });
});
