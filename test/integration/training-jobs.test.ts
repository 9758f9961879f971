import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';
import { makeBlobs } from '../support/blobs';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectError(res: JsonResponse, status: number, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  if (field !== undefined) expect(res.body.error.field, JSON.stringify(res.body)).to.equal(field);
}

const SPEC = {
  task: 'classification',
  layers: [
    { units: 16, activation: 'relu' },
    { units: 8, activation: 'relu' },
  ],
};

describe('durable training jobs', function () {
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const blobs = makeBlobs(
    60,
    [
      [0, 0],
      [6, 6],
      [-6, 6],
    ],
    0.8,
    13,
  );
  const SPECIES = ['setosa', 'versicolor', 'virginica'];

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const rows = blobs.points.map(([x, y], i) => ({
      x,
      y,
      species: SPECIES[blobs.labels[i]],
      constant: 1,
      name: `row-${i % 7}`,
    }));
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'species', data: rows });
    expect(upload.status).to.equal(201);
    datasetId = upload.body.id;
  });
  after(async () => api?.close());

  const start = (overrides: Record<string, unknown> = {}, training: Record<string, unknown> = {}) =>
    request(api, 'POST', '/api/v1/training', {
      datasetId,
      target: 'species',
      features: ['x', 'y'],
      model: { name: 'species-mlp' },
      spec: SPEC,
      training: { epochs: 30, batchSize: 16, learningRate: 0.05, seed: 1, ...training },
      ...overrides,
    });

  it('trains a classifier to the accuracy a dense network reaches on separable blobs (≥ 0.95), registers it once, and predicts', async () => {
    await withWorker(stack, async () => {
      const started = await start();
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body.finalMetrics.accuracy).to.be.at.least(0.95);
      expect(result.body.finalMetrics).to.have.property('confusionMatrix');
      expect(result.body.attempts).to.deep.equal([{ attempt: 1, resumedFromEpoch: 0 }]);
      expect(result.body.history).to.have.length(30);
      expect(result.body.registered.modelName).to.equal('species-mlp');

      const version = await request(api, 'GET', result.body.links.modelVersion);
      expect(version.body).to.include({
        flavor: 'mlp-classification',
        sourceWorkflowId: started.body.jobId,
        datasetId,
      });

      const predicted = await request(api, 'POST', '/api/v1/models/species-mlp/predict', { inputs: blobs.points });
      expect(predicted.status, JSON.stringify(predicted.body)).to.equal(200);
      expect(predicted.body.classes).to.have.members(SPECIES);
      const correct = predicted.body.labels.filter(
        (label: string, i: number) => label === SPECIES[blobs.labels[i]],
      ).length;
      expect(correct / blobs.points.length).to.be.at.least(0.95);
      expect(predicted.body.probabilities[0]).to.have.length(3);
    });
    const { rows } = await stack.pool.query(
      `SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'species-mlp'`,
    );
    expect(rows[0].n).to.equal(1);
  });

  it("predicts exactly as the model's own final evaluation on the same rows", async () => {
    await withWorker(stack, async () => {
      // validationSplit 0: the final metrics are computed on every row, so predict over every row must agree exactly.
      const started = await start({ model: { name: 'species-eval' } }, { validationSplit: 0, epochs: 5 });
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body.finalMetrics.evaluatedOn).to.equal('training');
      const predicted = await request(api, 'POST', '/api/v1/models/species-eval/predict', { inputs: blobs.points });
      const correct = predicted.body.labels.filter(
        (label: string, i: number) => label === SPECIES[blobs.labels[i]],
      ).length;
      expect(correct / blobs.points.length).to.equal(result.body.finalMetrics.accuracy);
      const version = await request(api, 'GET', result.body.links.modelVersion);
      expect(version.body.metrics.history).to.have.length(5);
      expect(version.body.metrics.accuracy).to.equal(result.body.finalMetrics.accuracy);
    });
  });

  it('rejects requests that cannot train, naming the field', async () => {
    expectError(await start({ target: 'nope' }), 400, 'target');
    expectError(await start({ features: ['x', 'name'] }), 400, 'features[1]');
    expectError(await start({ target: 'species', spec: { ...SPEC, task: 'regression' } }), 400, 'target');
    expectError(await start({ target: 'constant', features: ['x', 'y'] }), 400, 'target');
    expectError(
      await start({ spec: { ...SPEC, layers: [{ units: 0, activation: 'relu' }] } }),
      400,
      'spec.layers[0].units',
    );
    expectError(
      await start({ spec: { ...SPEC, layers: [{ units: 4, activation: 'swish' }] } }),
      400,
      'spec.layers[0].activation',
    );
    expectError(await start({}, { epochs: 0 }), 400, 'training.epochs');
    expectError(await start({ model: { name: '../x' } }), 400, 'model.name');
    expectError(await start({ datasetId: '00000000-0000-4000-8000-000000000000' }), 404, 'datasetId');
  });

  it('stops after the current epoch on request and registers what was trained; cancel registers nothing', async () => {
    await withWorker(stack, async () => {
      const long = { epochs: 10_000, batchSize: 4 };
      const stopped = await start({ model: { name: 'stopped-mlp' } }, long);
      await eventually(
        () => request(api, 'GET', stopped.body.links.self),
        (r) => (r.body.progress?.epoch ?? 0) >= 2,
        60_000,
      );
      expect((await request(api, 'POST', `/api/v1/jobs/${stopped.body.jobId}/stop`)).status).to.equal(202);
      const result = await request(api, 'GET', `/api/v1/jobs/${stopped.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body).to.include({ stoppedEarly: true, stoppedBy: 'stop-request' });
      expect(result.body.epochsRun).to.be.within(2, 9_999);
      expect(result.body.registered.modelName).to.equal('stopped-mlp');

      const canceled = await start({ model: { name: 'canceled-mlp' } }, long);
      await eventually(
        () => request(api, 'GET', canceled.body.links.self),
        (r) => (r.body.progress?.epoch ?? 0) >= 1,
        60_000,
      );
      await request(api, 'POST', canceled.body.links.cancel);
      const ended = await eventually(
        () => request(api, 'GET', canceled.body.links.self),
        (r) => r.body.status !== 'RUNNING',
        60_000,
      );
      expect(ended.body.status).to.equal('CANCELED');
    });
    expectError(await request(api, 'GET', '/api/v1/models/canceled-mlp/versions'), 404, 'name');
  });

  it('survives kill -9 of its worker: a fresh worker resumes from a checkpoint after epoch 0 and one version is registered', async function () {
    this.timeout(240_000);
    const worker = (): ChildProcess =>
      spawn(process.execPath, [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'cpu'], {
        env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.env.address, KILN_POOL: 'cpu' },
        stdio: 'ignore',
      });
    const first = worker();
    let second: ChildProcess | undefined;
    try {
      const started = await start({ model: { name: 'crash-mlp' } }, { epochs: 60, batchSize: 2, checkpointEvery: 1 });
      expect(started.status).to.equal(202);
      await eventually(
        () => request(api, 'GET', started.body.links.self),
        (r) => (r.body.progress?.checkpointEpoch ?? 0) >= 2,
        90_000,
      );
      first.kill('SIGKILL');
      second = worker();
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`).then(async (r) =>
        r.status === 200
          ? r
          : eventually(
              () => request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`),
              (x) => x.status === 200,
              150_000,
            ),
      );
      expect(result.body.attempts.length).to.be.at.least(2);
      expect(result.body.attempts[0]).to.deep.equal({ attempt: 1, resumedFromEpoch: 0 });
      expect(result.body.attempts[1].resumedFromEpoch).to.be.at.least(1);
      expect(result.body.epochsRun).to.equal(60);
      const { rows } = await stack.pool.query(
        `SELECT count(*)::int AS n FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'crash-mlp'`,
      );
      expect(rows[0].n).to.equal(1);
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGTERM');
    }
  });
});
