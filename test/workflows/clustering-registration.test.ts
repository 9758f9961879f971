import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ClusteringJobInput, JobStage } from '../../common/jobs';
import { clusteringWorkflow, stageQuery } from '../../workflows/clustering';
import { activityEvents } from '../support/activity-history';
import {
  ActivityRecorder,
  anyRoute,
  clusteringSummaryFor,
  mockActivities,
  registeredFor,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

/** A promise and the function that settles it: a mock waits on it so the test can look at the workflow meanwhile. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('clustering workflow: compute, then register a model version only when asked', function () {
  let temporal: TestTemporal;
  let queue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    queue = uniqueQueue('clustering');
    recorder = new ActivityRecorder();
  });

  const input = (extra: Partial<ClusteringJobInput> = {}): ClusteringJobInput => ({
    tenantId: 'tenant-a',
    datasetId: 'ds-2',
    algorithm: 'kmeans',
    params: { k: 2, seed: 7 },
    columns: ['x', 'y'],
    ...extra,
  });
  const start = (job: ClusteringJobInput) =>
    temporal.env.client.workflow.start(clusteringWorkflow, {
      args: [job],
      taskQueue: queue,
      workflowId: `clustering-${randomUUID()}`,
    });

  it('without `register`: the summary is the result, nothing is registered, the stage ends completed', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const job = input();
    const { result, stage } = await worker.runUntil(async () => {
      const handle = await start(job);
      return { result: await handle.result(), stage: await handle.query(stageQuery) };
    });
    expect(result).to.deep.equal(clusteringSummaryFor(job, queue));
    expect(recorder.calls).to.deep.equal([{ activity: 'runClustering', taskQueue: queue, attempt: 1, input: job }]);
    expect(stage).to.equal('completed');
  });

  it('with `register`: registers the summary under the name, returns the version, stages clustering → registering → completed', async () => {
    const computing = gate();
    const registering = gate();
    const stages: JobStage[] = [];
    const mocks = mockActivities(recorder);
    const worker = await workflowWorker(temporal, queue, {
      ...mocks,
      async runClustering(job: ClusteringJobInput) {
        await computing.opened;
        return mocks.runClustering(job);
      },
      async registerClusteringModel(req: Parameters<typeof mocks.registerClusteringModel>[0]) {
        await registering.opened;
        return mocks.registerClusteringModel(req);
      },
    });
    const job = input({ register: { name: 'shop-segments' } });
    const result = await worker.runUntil(async () => {
      const handle = await start(job);
      stages.push(await handle.query(stageQuery));
      computing.open();
      // The stage moves on when the compute's result reaches the workflow: ask until it has.
      while ((await handle.query(stageQuery)) === 'clustering') await new Promise((r) => setTimeout(r, 50));
      stages.push(await handle.query(stageQuery));
      registering.open();
      const result = await handle.result();
      stages.push(await handle.query(stageQuery));
      return result;
    });
    expect(stages).to.deep.equal(['clustering', 'registering', 'completed']);
    const summary = clusteringSummaryFor(job, queue);
    expect(result).to.deep.equal({ ...summary, registered: registeredFor('shop-segments') });
    expect(recorder.calls).to.deep.equal([
      { activity: 'runClustering', taskQueue: queue, attempt: 1, input: job },
      {
        activity: 'registerClusteringModel',
        taskQueue: queue,
        attempt: 1,
        input: { tenantId: 'tenant-a', modelName: 'shop-segments', summary, params: { k: 2, seed: 7 } },
      },
    ]);
  });

  it('with `register` after a fallback: registers the summary as computed, the result carries both fellBackToCpu and the version', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const gpuQueue = uniqueQueue('gpu');
    const job = input({ register: { name: 'fallback-model' }, route: anyRoute(gpuQueue, queue, 1) });
    const { handle, result } = await worker.runUntil(async () => {
      const handle = await start(job);
      return { handle, result: await handle.result() };
    });
    const summary = clusteringSummaryFor(job, queue);
    expect(result).to.deep.equal({ ...summary, fellBackToCpu: true, registered: registeredFor('fallback-model') });
    // The registered summary is the activity's own (no fellBackToCpu): that flag describes the job, not the model.
    expect(recorder.calls.map((c) => [c.activity, c.taskQueue, c.input])).to.deep.equal([
      ['runClustering', queue, job],
      [
        'registerClusteringModel',
        queue,
        { tenantId: 'tenant-a', modelName: 'fallback-model', summary, params: job.params },
      ],
    ]);
    // Registration stays on the workflow's queue, without a bound.
    expect(await activityEvents(handle)).to.deep.equal([
      `scheduled runClustering@${gpuQueue} scheduleToStart=1s`,
      'timed out SCHEDULE_TO_START',
      `scheduled runClustering@${queue} scheduleToStart=0s`,
      'completed',
      `scheduled registerClusteringModel@${queue} scheduleToStart=0s`,
      'completed',
    ]);
  });
});
