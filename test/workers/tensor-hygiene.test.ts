import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { initComputeBackend } from '../../ml/backend';
import { makeBlobs } from '../support/blobs';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/** Small params for every algorithm: the point is what a worker leaves behind, not the clustering. */
const CLUSTERING: Array<{ algorithm: string; params: Record<string, unknown> }> = [
  { algorithm: 'kmeans', params: { k: 3 } },
  { algorithm: 'minibatch-kmeans', params: { k: 3, batchSize: 32 } },
  { algorithm: 'dbscan', params: { eps: 1.5, minPoints: 4 } },
  { algorithm: 'hierarchical', params: { k: 3 } },
  { algorithm: 'som', params: { rows: 2, cols: 2, iterations: 2 } },
  { algorithm: 'spectral', params: { k: 3, affinity: 'nearest-neighbors' } },
  { algorithm: 'gmm', params: { k: 3, covarianceType: 'diag' } },
];
/** Every kind of job a worker runs: the clustering algorithms, MLP training (a model, an optimizer, checkpoints) and batch prediction. */
const ROUNDS = [...CLUSTERING.map((c) => c.algorithm), 'training', 'batch-predict'];
const TRAINING = {
  target: 'species',
  features: ['x0', 'x1'],
  model: { name: 'hygiene-mlp' },
  spec: { task: 'classification', layers: [{ units: 8, activation: 'relu' }] },
  training: { epochs: 2, batchSize: 16, learningRate: 0.05, seed: 3 },
};

describe('worker tensor hygiene', function () {
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  let labelledId: string;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const blobs = makeBlobs(
      20,
      [
        [0, 0],
        [8, 8],
        [-8, 8],
      ],
      0.5,
      17,
    );
    const upload = await request(api, 'POST', '/api/v1/datasets', { data: blobs.points });
    datasetId = upload.body.id;
    const species = ['a', 'b', 'c'];
    const rows = blobs.points.map(([x0, x1], i) => ({ x0, x1, species: species[blobs.labels[i]] }));
    labelledId = (await request(api, 'POST', '/api/v1/datasets', { name: 'hygiene-species', data: rows })).body.id;
  });
  after(async () => api?.close());

  it('100 jobs of every kind in one worker: after every one, the tensor count and allocated bytes are back at their baseline', async function () {
    this.timeout(300_000);
    await initComputeBackend();
    await withWorker(stack, async () => {
      const start = (kind: string) => {
        if (kind === 'training')
          return request(api, 'POST', '/api/v1/training', { datasetId: labelledId, ...TRAINING });
        // The model the warm-up round trained (training comes before batch-predict in ROUNDS).
        if (kind === 'batch-predict')
          return request(api, 'POST', '/api/v1/models/hygiene-mlp/batch-predict', { datasetId: labelledId });
        const { algorithm, params } = CLUSTERING.find((c) => c.algorithm === kind)!;
        return request(api, 'POST', '/api/v1/clustering', { algorithm, params, datasetId });
      };
      const run = async (i: number) => {
        const kind = ROUNDS[i % ROUNDS.length];
        const started = await start(kind);
        expect(started.status, `${kind}: ${JSON.stringify(started.body)}`).to.equal(202);
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
        expect(result.status, `${kind}: ${JSON.stringify(result.body)}`).to.equal(200);
      };
      // One round first: backends and kernels allocate what they keep for the life of the process.
      for (let i = 0; i < ROUNDS.length; i++) await run(i);
      // numBytes counts the bytes of every live tensor, on whichever backend holds them (device memory on a GPU).
      const baseline = { tensors: tf.memory().numTensors, bytes: tf.memory().numBytes };
      for (let i = 0; i < 100; i++) {
        await run(i);
        const after = tf.memory();
        expect(
          { tensors: after.numTensors, bytes: after.numBytes },
          `after job ${i} (${ROUNDS[i % ROUNDS.length]})`,
        ).to.deep.equal(baseline);
      }
    });
  });
});
