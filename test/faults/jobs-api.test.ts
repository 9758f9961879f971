import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_TENANT } from '../../common/tenant';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { registerModelVersion } from '../../db/registry';
import { initComputeBackend } from '../../ml/backend';
import { loadTrainedModel, saveTrainedModel } from '../../ml/training/predict';
import { train } from '../../ml/training/train';
import { Random } from '../../ml/random';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * The fault classes end to end, through the API, Temporal and a real worker: what a client used to get (a COMPLETED
 * job with `inertia: null`; a diverged model READY and predicting `{"values":[null]}`) against what it gets now.
 */
function regressionRows(n: number, seed: number): Array<{ a: number; b: number; y: number }> {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const a = rng.nextFloat() * 10;
    const b = rng.nextFloat() * 10;
    return { a, b, y: 30 * a + 20 * b + 100 };
  });
}

describe('fault classes through the API (clustering, training, predict)', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let api: TestApi;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => api?.close());

  const failure = async (jobId: string) => {
    const job = await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${jobId}`),
      (res) => res.body.status !== 'RUNNING',
      120_000,
    );
    return job.body;
  };

  it('k-means on [[1e20], [1.1e20], [5e20], [5.1e20]], k = 2: two clusters and a finite inertia (was 1 and null)', async () => {
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 2, seed: 0 },
        data: [[1e20], [1.1e20], [5e20], [5.1e20]],
      });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body.clusters).to.equal(2);
      expect(result.body.labels[0]).to.equal(result.body.labels[1]);
      expect(result.body.labels[0]).to.not.equal(result.body.labels[2]);
      expect(result.body.inertia / 1e40).to.be.closeTo(0.01, 1e-6);
      expect(result.body.quality.inertia).to.equal(result.body.inertia);
      expect(result.body.quality.silhouette).to.be.closeTo(0.974996, 1e-6);
      expect(JSON.stringify(result.body.quality)).to.not.match(/null/);
    });
  });

  it('spectral with gamma = 1 on the same data fails as InvalidJobInput, saying why (was eigenvalues [null, null])', async () => {
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'spectral',
        params: { k: 2 },
        data: [[1e20], [1.1e20], [5e20], [5.1e20]],
      });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      const job = await failure(started.body.jobId);
      expect(job.status, JSON.stringify(job)).to.equal('FAILED');
      expect(job.error.type).to.equal('InvalidJobInput');
      expect(job.error.message).to.match(/gamma = 1 .*Use a smaller gamma/);
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result`);
      expect(result.status).to.equal(409);
    });
  });

  it('a regression trained with sgd at learning rate 0.5 fails as TrainingDiverged and registers nothing (was READY)', async () => {
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'diverge', data: regressionRows(40, 1) });
    expect(upload.status, JSON.stringify(upload.body)).to.equal(201);
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/training', {
        datasetId: upload.body.id,
        target: 'y',
        model: { name: 'diverged-mlp' },
        spec: { task: 'regression', layers: [{ units: 8, activation: 'relu' }] },
        training: { epochs: 20, batchSize: 8, learningRate: 0.5, optimizer: 'sgd', seed: 1 },
      });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      const job = await failure(started.body.jobId);
      expect(job.status, JSON.stringify(job)).to.equal('FAILED');
      expect(job.error.type).to.equal('TrainingDiverged');
      expect(job.error.message).to.match(/loss became (NaN|-?Infinity) in epoch \d+/);
    });
    const model = await request(api, 'GET', '/api/v1/models/diverged-mlp');
    expect(model.status, JSON.stringify(model.body)).to.equal(404);
  });

  it('a registered model with NaN weights: online predict is a 422 and batch predict fails (was {"values":[null]})', async () => {
    await initComputeBackend();
    const rows = regressionRows(30, 2);
    const table = {
      columns: ['a', 'b', 'y'].map((name) => ({ name, type: 'number' as const })),
      rows: rows.length,
      values: Float64Array.from(rows.flatMap((r) => [r.a, r.b, r.y])),
    };
    const fitted = await train({
      table,
      target: 'y',
      spec: { task: 'regression', layers: [{ units: 4, activation: 'relu' }] },
      options: { epochs: 1, batchSize: 8, learningRate: 0.01 },
    });
    const trained = await loadTrainedModel(fitted.model);
    const nan = trained.model.getWeights().map((w) => tf.fill(w.shape, NaN));
    trained.model.setWeights(nan);
    tf.dispose(nan);
    const content = await saveTrainedModel(trained.model, trained.preprocessor, trained.spec);
    trained.dispose();

    const { dataset } = await createDataset(stack.pool, {
      tenantId: DEFAULT_TENANT,
      name: 'nan-model-data',
      sourceFormat: 'json',
      table,
    });
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'application/vnd.kiln.mlp',
      content,
    });
    await registerModelVersion(stack.pool, {
      tenantId: DEFAULT_TENANT,
      modelName: 'nan-mlp',
      flavor: 'mlp-regression',
      params: {},
      metrics: {},
      artifactId: artifact.id,
      datasetId: dataset.id,
      datasetSha256: dataset.sha256,
      sourceWorkflowId: 'training-00000000-0000-4000-8000-00000000d1e5',
      sourceRunId: 'run-1',
      backend: 'cpu',
      actor: 'test',
    });

    const online = await request(api, 'POST', '/api/v1/models/nan-mlp/predict', { inputs: [[1, 2]] });
    expect(online.status, JSON.stringify(online.body)).to.equal(422);
    expect(online.body.error.message).to.match(/not finite/);

    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/models/nan-mlp/batch-predict', { datasetId: dataset.id });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      const job = await failure(started.body.jobId);
      expect(job.status, JSON.stringify(job)).to.equal('FAILED');
      expect(job.error.type).to.equal('NonFiniteResult');
    });
  });
});
