import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { ClusteringJobInput } from '../../common/jobs';
import { clusteringWorkflow, LOCAL_COMPUTE_PATCH } from '../../workflows/clustering';
import { activityEvents } from '../support/activity-history';
import {
  ActivityRecorder,
  clusteringSummaryFor,
  mockActivities,
  registeredFor,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

const { EventType } = temporal.api.enums.v1;

describe('clustering workflow: small jobs compute in a local activity', function () {
  let temporal: TestTemporal;
  let queue: string;
  let recorder: ActivityRecorder;
  /** Whether each runClustering call ran as a local activity, in call order. */
  let local: boolean[];

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    queue = uniqueQueue('clustering-local');
    recorder = new ActivityRecorder();
    local = [];
  });

  const input = (extra: Partial<ClusteringJobInput> = {}): ClusteringJobInput => ({
    tenantId: 'tenant-l',
    datasetId: 'ds-small',
    algorithm: 'kmeans',
    params: { k: 2, seed: 3 },
    runLocally: true,
    ...extra,
  });

  /** The mocks, with runClustering noting whether it ran locally and failing its first `failures` attempts. */
  const activities = (failures = 0) => {
    const mocks = mockActivities(recorder);
    return {
      ...mocks,
      async runClustering(job: ClusteringJobInput) {
        const { isLocal, attempt } = Context.current().info;
        local.push(isLocal);
        // A retryable failure, as a crash of the attempt would be.
        if (attempt <= failures) throw ApplicationFailure.retryable(`attempt ${attempt} lost`, 'AttemptLost');
        return mocks.runClustering(job);
      },
    };
  };

  const run = async (job: ClusteringJobInput, failures = 0) => {
    const worker = await workflowWorker(temporal, queue, activities(failures));
    return worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(clusteringWorkflow, {
        args: [job],
        taskQueue: queue,
        workflowId: `clustering-${randomUUID()}`,
      });
      const result = await handle.result();
      const history = await handle.fetchHistory();
      const markers = (history.events ?? [])
        .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED)
        .map((e) => e.markerRecordedEventAttributes?.markerName);
      return { result, activities: await activityEvents(handle), markers };
    });
  };

  it('runLocally: the same summary, computed in the workflow task: no activity scheduled, the patch and the result as markers', async () => {
    const job = input();
    const { result, activities: scheduled, markers } = await run(job);
    expect(result).to.deep.equal(clusteringSummaryFor(job, queue));
    expect(local).to.deep.equal([true]);
    expect(scheduled).to.deep.equal([]);
    expect(markers).to.deep.equal(['core_patch', 'core_local_activity']);
  });

  it('a failed local attempt is retried under the same policy, still without an activity task', async () => {
    const job = input();
    const { result, activities: scheduled } = await run(job, 2);
    expect(result).to.deep.equal(clusteringSummaryFor(job, queue));
    expect(local).to.deep.equal([true, true, true]);
    expect(recorder.calls.map((c) => c.attempt)).to.deep.equal([3]);
    expect(scheduled).to.deep.equal([]);
  });

  it('with `register`: computes locally, registers as an activity', async () => {
    const job = input({ register: { name: 'small-model' } });
    const { result, activities: scheduled } = await run(job);
    expect(result).to.deep.equal({ ...clusteringSummaryFor(job, queue), registered: registeredFor('small-model') });
    expect(local).to.deep.equal([true]);
    expect(scheduled).to.deep.equal([`scheduled registerClusteringModel@${queue} scheduleToStart=0s`, 'completed']);
  });

  it('without runLocally: the compute is an activity task of its own, as before', async () => {
    const job = input({ runLocally: undefined });
    const { result, activities: scheduled, markers } = await run(job);
    expect(result).to.deep.equal(clusteringSummaryFor(job, queue));
    expect(local).to.deep.equal([false]);
    expect(scheduled).to.deep.equal([`scheduled runClustering@${queue} scheduleToStart=0s`, 'completed']);
    expect(markers).to.deep.equal([]);
  });

  it('keeps its patch id: running workflows carry markers that name it', () => {
    expect(LOCAL_COMPUTE_PATCH).to.equal('clustering-local-compute');
  });
});
