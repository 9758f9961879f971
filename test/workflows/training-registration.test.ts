import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { TrainingJobInput } from '../../common/jobs';
import { trainingWorkflow } from '../../workflows';
import { activityEvents } from '../support/activity-history';
import {
  activityWorker,
  ActivityRecorder,
  anyRoute,
  mockActivities,
  registeredFor,
  trainingInput,
  trainingSummaryFor,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

describe('training workflow: train wherever the route says, then register exactly one version', function () {
  let temporal: TestTemporal;
  let cpuQueue: string;
  let gpuQueue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    cpuQueue = uniqueQueue('training');
    gpuQueue = uniqueQueue('gpu');
    recorder = new ActivityRecorder();
  });

  const run = async (job: TrainingJobInput) => {
    const handle = await temporal.env.client.workflow.start(trainingWorkflow, {
      args: [job],
      taskQueue: cpuQueue,
      workflowId: `training-${randomUUID()}`,
    });
    return { handle, result: await handle.result() };
  };

  it('without a route: trains and registers on its own queue; the registration gets the input and the summary', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = trainingInput();
    const { result } = await worker.runUntil(run(job));
    const summary = trainingSummaryFor(job, cpuQueue);
    expect(result).to.deep.equal({ ...summary, registered: registeredFor('churn-mlp') });
    expect(recorder.calls).to.deep.equal([
      { activity: 'trainModel', taskQueue: cpuQueue, attempt: 1, input: job },
      {
        activity: 'registerTrainedModel',
        taskQueue: cpuQueue,
        attempt: 1,
        input: { tenantId: 'tenant-t', modelName: 'churn-mlp', input: job, summary },
      },
    ]);
  });

  it('`any` with a GPU worker: trains on the GPU queue, registers on the workflow queue, no fallback flag', async () => {
    const cpu = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const { trainModel } = mockActivities(recorder);
    const gpu = await activityWorker(temporal, gpuQueue, { trainModel });
    const job = trainingInput({ route: anyRoute(gpuQueue, cpuQueue, 30) });
    const { result } = await cpu.runUntil(gpu.runUntil(run(job)));
    const summary = trainingSummaryFor(job, gpuQueue);
    expect(result).to.deep.equal({ ...summary, registered: registeredFor('churn-mlp') });
    expect(result).to.not.have.property('fellBackToCpu');
    expect(recorder.where()).to.deep.equal([`trainModel@${gpuQueue}`, `registerTrainedModel@${cpuQueue}`]);
    expect(recorder.calls[1].input).to.deep.equal({
      tenantId: 'tenant-t',
      modelName: 'churn-mlp',
      input: job,
      summary,
    });
  });

  it('`any` with no GPU worker: trains on the CPU queue after the bound, registers, and the result says it fell back', async () => {
    const worker = await workflowWorker(temporal, cpuQueue, mockActivities(recorder));
    const job = trainingInput({ route: anyRoute(gpuQueue, cpuQueue, 1) });
    const { handle, result } = await worker.runUntil(run(job));
    const summary = trainingSummaryFor(job, cpuQueue);
    expect(result).to.deep.equal({ ...summary, fellBackToCpu: true, registered: registeredFor('churn-mlp') });
    expect(recorder.where()).to.deep.equal([`trainModel@${cpuQueue}`, `registerTrainedModel@${cpuQueue}`]);
    // What is registered is the summary as trained, without the job's fallback flag.
    expect(recorder.calls[1].input).to.deep.equal({
      tenantId: 'tenant-t',
      modelName: 'churn-mlp',
      input: job,
      summary,
    });
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled trainModel@${gpuQueue} scheduleToStart=1s`,
      'timed out SCHEDULE_TO_START',
      `scheduled trainModel@${cpuQueue} scheduleToStart=0s`,
      'completed',
      `scheduled registerTrainedModel@${cpuQueue} scheduleToStart=0s`,
      'completed',
    ]);
  });
});
