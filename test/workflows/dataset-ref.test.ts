import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { DATASET_NOT_FOUND } from '../../common/dataset-ref';
import type { ByDatasetRef } from '../../common/dataset-ref';
import type { ClusteringJobInput, TrainingJobInput } from '../../common/jobs';
import type { FullPipelineRefInput } from '../../common/pipelines';
import { KilnDatasetId } from '../../common/search-attributes';
import { clusteringWorkflow, fullPipelineWorkflow } from '../../workflows';
import {
  ActivityRecorder,
  mockActivities,
  trainingInput,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';

describe('jobs naming their dataset by series: resolved first, then the id path', function () {
  let temporal: TestTemporal;
  let queue: string;
  let recorder: ActivityRecorder;

  before(async function () {
    this.timeout(120_000);
    temporal = await getTestTemporal();
  });
  beforeEach(() => {
    queue = uniqueQueue('dataset-ref');
    recorder = new ActivityRecorder();
  });

  const clustering: ByDatasetRef<ClusteringJobInput> = {
    tenantId: 'tenant-s',
    dataset: { name: 'readings', version: 'latest' },
    algorithm: 'kmeans',
    params: { k: 2 },
  };

  it('clustering: one resolve activity on the workflow queue, the compute on the resolved id, the answer recorded', async () => {
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const { result, description } = await worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(clusteringWorkflow, {
        args: [clustering],
        taskQueue: queue,
        workflowId: `clustering-${randomUUID()}`,
      });
      const result = await handle.result();
      return { result, description: await handle.describe() };
    });
    expect(recorder.where()).to.deep.equal([`resolveDatasetRef@${queue}`, `runClustering@${queue}`]);
    // Not scheduled: `latest` is as of the workflow's start.
    expect(recorder.calls[0].input).to.deep.equal({
      tenantId: 'tenant-s',
      ref: clustering.dataset,
      asOf: description.startTime.toISOString(),
    });
    const computed = recorder.calls[1].input as ClusteringJobInput & { dataset?: unknown };
    expect(computed.datasetId).to.equal('ds-readings-v1');
    expect(computed).to.not.have.property('dataset');
    expect(result.datasetId).to.equal('ds-readings-v1');
    expect(result.dataset).to.include({ name: 'readings', version: 1, datasetId: 'ds-readings-v1' });
    expect(description.typedSearchAttributes.get(KilnDatasetId)).to.equal('ds-readings-v1');
    expect(description.memo?.dataset).to.include({ id: 'ds-readings-v1', version: 1 });
  });

  it('a series with no such version fails the run with DatasetNotFound before any compute', async () => {
    const worker = await workflowWorker(
      temporal,
      queue,
      mockActivities(recorder, {
        async resolveDatasetRef(input) {
          recorder.record('resolveDatasetRef', input);
          throw ApplicationFailure.nonRetryable(`dataset series "${input.ref.name}" has no version`, DATASET_NOT_FOUND);
        },
      }),
    );
    const failure = await worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(clusteringWorkflow, {
        args: [clustering],
        taskQueue: queue,
        workflowId: `clustering-${randomUUID()}`,
      });
      return handle.result().then(
        () => undefined,
        (err: unknown) => err,
      );
    });
    expect(failure).to.be.instanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause.type).to.equal(DATASET_NOT_FOUND);
    expect(recorder.where()).to.deep.equal([`resolveDatasetRef@${queue}`]);
  });

  it('full pipeline: the pipeline and its training job both take the resolved dataset', async () => {
    const { datasetId: _id, ...training } = trainingInput();
    const input: FullPipelineRefInput = {
      tenantId: 'tenant-s',
      modelName: 'churn-mlp',
      dataset: { name: 'churn', version: 4 },
      holdout: { fraction: 0.2, seed: 7 },
      training,
      gate: {
        thresholds: [{ metric: 'accuracy', threshold: 0.8, greaterIsBetter: true }],
        noChampion: 'absolute-only',
      },
      promote: { alias: 'champion' },
    };
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const result = await worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(fullPipelineWorkflow, {
        args: [input],
        taskQueue: queue,
        workflowId: `pipeline-full-${randomUUID()}`,
      });
      return handle.result();
    });
    expect(recorder.calls[0]).to.include({ activity: 'resolveDatasetRef' });
    expect((recorder.calls[0].input as { asOf: string }).asOf).to.be.a('string');
    const validate = recorder.calls.find((c) => c.activity === 'validateData')!.input as { datasetId: string };
    expect(validate.datasetId).to.equal('ds-churn-v4');
    const trained = recorder.calls.find((c) => c.activity === 'trainModel')!.input as TrainingJobInput;
    // The training job trains on the training part of the resolved dataset.
    expect(trained.datasetId).to.equal('ds-churn-v4-train');
    expect(result.status).to.equal('PROMOTED');
    expect(result.dataset).to.include({ name: 'churn', version: 4, datasetId: 'ds-churn-v4' });
  });

  it('full pipeline with a clustering candidate: the pipeline and its clustering job both take the resolved dataset', async () => {
    const input: FullPipelineRefInput = {
      tenantId: 'tenant-s',
      modelName: 'blob-clusters',
      dataset: { name: 'blobs', version: 2 },
      holdout: { fraction: 0.2, seed: 7 },
      clustering: { tenantId: 'tenant-s', algorithm: 'kmeans', params: { k: 3, seed: 1 }, columns: ['x', 'y'] },
      gate: {
        thresholds: [{ metric: 'silhouette', threshold: 0.3, greaterIsBetter: true }],
        noChampion: 'absolute-only',
      },
      promote: { alias: 'champion' },
    };
    const worker = await workflowWorker(temporal, queue, mockActivities(recorder));
    const result = await worker.runUntil(async () => {
      const handle = await temporal.env.client.workflow.start(fullPipelineWorkflow, {
        args: [input],
        taskQueue: queue,
        workflowId: `pipeline-full-${randomUUID()}`,
      });
      return handle.result();
    });
    expect(recorder.where()).to.deep.equal([
      `resolveDatasetRef@${queue}`,
      `validateData@${queue}`,
      `runClustering@${queue}`,
      `evaluateClusteringCandidate@${queue}`,
      `gateCandidate@${queue}`,
      `registerClusteringCandidate@${queue}`,
      `promoteCandidate@${queue}`,
    ]);
    const validate = recorder.calls.find((c) => c.activity === 'validateData')!.input as { datasetId: string };
    expect(validate.datasetId).to.equal('ds-blobs-v2');
    // The clustering job fits the training part of the resolved dataset; nothing of the reference reaches it.
    const fitted = recorder.calls.find((c) => c.activity === 'runClustering')!.input as ClusteringJobInput;
    expect(fitted).to.deep.equal({ ...input.clustering, datasetId: 'ds-blobs-v2-train' });
    const registered = recorder.calls.find((c) => c.activity === 'registerClusteringCandidate')!.input as {
      clustering: ClusteringJobInput;
    };
    expect(registered.clustering.datasetId).to.equal('ds-blobs-v2-train');
    expect(result.status).to.equal('PROMOTED');
    expect(result).to.not.have.property('trainingJobId');
    expect(result.dataset).to.include({ name: 'blobs', version: 2, datasetId: 'ds-blobs-v2' });
  });
});
