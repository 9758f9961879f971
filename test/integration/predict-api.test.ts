import { expect } from 'chai';
import { makeBlobs } from '../support/blobs';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectError(res: JsonResponse, status: number, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  if (field !== undefined) expect(res.body.error.field).to.equal(field);
}

describe('online predict with registered clustering models', function () {
  let stack: TestStack;
  let api: TestApi;
  const blobs = makeBlobs(
    30,
    [
      [0, 0],
      [10, 10],
      [-10, 10],
    ],
    0.5,
    21,
  );
  const labelsOf: Record<number, number[]> = {};

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    // Two versions of one model: k = 3, then k = 2.
    await withWorker(stack, async () => {
      for (const k of [3, 2]) {
        const started = await request(api, 'POST', '/api/v1/clustering', {
          algorithm: 'kmeans',
          params: { k, seed: 4 },
          data: blobs.points,
          register: { name: 'predictor' },
        });
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        expect(result.status).to.equal(200);
        labelsOf[result.body.registered.version] = result.body.labels;
      }
    });
  });
  after(async () => api?.close());

  const predict = (body: unknown, name = 'predictor') => request(api, 'POST', `/api/v1/models/${name}/predict`, body);

  it('assigns the training points to the clusters the job found (latest version by default)', async () => {
    const res = await predict({ inputs: blobs.points });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ model: 'predictor', version: 2, flavor: 'kmeans' });
    expect(res.body.labels).to.deep.equal(labelsOf[2]);
  });

  it('uses an explicit version, and the champion alias once set (moving it switches the model at once)', async () => {
    const v1 = await predict({ inputs: blobs.points, version: 1 });
    expect(v1.body.labels).to.deep.equal(labelsOf[1]);
    expect((await request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: 1 })).status).to.equal(
      200,
    );
    const champion = await predict({ inputs: blobs.points.slice(0, 5) });
    expect(champion.body.version).to.equal(1);
    expect(champion.body.labels).to.deep.equal(labelsOf[1].slice(0, 5));
    await request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: 2 });
    expect((await predict({ inputs: blobs.points.slice(0, 5) })).body.version).to.equal(2);
    const byAlias = await predict({ inputs: [{ x0: 10, x1: 10 }], alias: 'champion' });
    expect(byAlias.body.labels).to.have.length(1);
  });

  it('batch-predicts a stored dataset as a durable job, with the same labels as online predict', async () => {
    const upload = await request(api, 'POST', '/api/v1/datasets', { data: blobs.points });
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/models/predictor/batch-predict', {
        datasetId: upload.body.id,
        version: 1,
      });
      expect(started.status, JSON.stringify(started.body)).to.equal(202);
      expect(started.body.jobId).to.match(/^batch-predict-/);
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      expect(result.body).to.include({ modelName: 'predictor', version: 1, rows: blobs.points.length });
      const predictions = await request(api, 'GET', result.body.links.predictions);
      expect(predictions.body.labels).to.deep.equal(labelsOf[1]);
      const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
      expect(job.body).to.include({ kind: 'batch-predict', status: 'COMPLETED' });
    });
    expectError(
      await request(api, 'POST', '/api/v1/models/predictor/batch-predict', {
        datasetId: '00000000-0000-4000-8000-000000000000',
      }),
      404,
      'datasetId',
    );
    expectError(
      await request(api, 'POST', '/api/v1/models/predictor/batch-predict', {
        datasetId: upload.body.id,
        version: 1,
        alias: 'champion',
      }),
      400,
      'alias',
    );
    expectError(await request(api, 'POST', '/api/v1/models/predictor/batch-predict', {}), 400, 'datasetId');
  });

  it('rejects bad input with a 4xx naming the field', async () => {
    expectError(await predict({ inputs: [] }), 400, 'inputs');
    expectError(await predict({}), 400, 'inputs');
    expectError(await predict({ inputs: [[1, 2, 3]] }), 400, 'inputs[0]');
    expectError(await predict({ inputs: [[1, 'a']] }), 400, 'inputs[0][1]');
    expectError(await predict({ inputs: [{ x0: 1 }] }), 400, 'inputs[0].x1');
    expectError(await predict({ inputs: [[1, 2]], version: 9 }), 404, 'version');
    expectError(await predict({ inputs: [[1, 2]], alias: 'nope' }), 404, 'alias');
    expectError(await predict({ inputs: [[1, 2]], version: 1, alias: 'champion' }), 400, 'alias');
    expectError(await predict({ inputs: [[1, 2]] }, 'no-such-model'), 404, 'name');
    expectError(await predict({ inputs: Array.from({ length: 10_001 }, () => [0, 0]) }), 400, 'inputs');
  });
});
