import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { makeBlobs } from '../support/blobs';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/** Rows of two blobs, `n` per blob: each seed gives other content, so another dataset. */
function blobs(seed: number, n = 12): number[][] {
  return makeBlobs(
    n,
    [
      [0, 0],
      [6, 6],
    ],
    0.4,
    seed,
  ).points;
}

describe('named dataset series', function () {
  let stack: TestStack;
  let api: TestApi;
  const name = `sensor-readings-${randomUUID().slice(0, 8)}`;
  let v1: { id: string; sha256: string; createdAt: string };
  let v2: { id: string; sha256: string; createdAt: string };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => api?.close());

  it('numbers each named upload as the newest version of its name; GET ?name= lists them newest first', async () => {
    const first = await request(api, 'POST', '/api/v1/datasets', { name, data: blobs(1) });
    expect(first.status).to.equal(201);
    expect(first.body.series).to.include({ name, version: 1, added: true });
    // The same content again is already the newest version: nothing is added (a retried upload).
    const again = await request(api, 'POST', `/api/v1/datasets?name=${name}`, { data: blobs(1) });
    expect(again.status).to.equal(200);
    expect(again.body.series).to.include({ name, version: 1, added: false });
    await new Promise((r) => setTimeout(r, 50));
    const second = await request(api, 'POST', `/api/v1/datasets?name=${name}`, { data: blobs(2) });
    expect(second.status).to.equal(201);
    expect(second.body.series).to.include({ name, version: 2, added: true });
    v1 = { id: first.body.id, sha256: first.body.sha256, createdAt: first.body.series.createdAt };
    v2 = { id: second.body.id, sha256: second.body.sha256, createdAt: second.body.series.createdAt };

    const listed = await request(api, 'GET', `/api/v1/datasets?name=${name}`);
    expect(listed.status).to.equal(200);
    expect(
      listed.body.versions.map((v: { version: number; dataset: { id: string } }) => [v.version, v.dataset.id]),
    ).to.deep.equal([
      [2, v2.id],
      [1, v1.id],
    ]);
    expect((await request(api, 'GET', '/api/v1/datasets?name=no-such-series')).body.versions).to.deep.equal([]);
    // Content stays stored once: an older version's content uploaded again is a new version of the same dataset.
    const third = await request(api, 'POST', '/api/v1/datasets', { name, data: blobs(1) });
    expect(third.body).to.include({ id: v1.id, created: false });
    expect(third.body.series).to.include({ version: 3, added: true });
  });

  it('resolves `latest`, a version number and `asOf` when the run starts, and records id and sha256 in the result', async () => {
    const between = new Date((Date.parse(v1.createdAt) + Date.parse(v2.createdAt)) / 2).toISOString();
    const cases: Array<[unknown, number, string, string]> = [
      ['latest', 3, v1.id, v1.sha256],
      [2, 2, v2.id, v2.sha256],
      [{ asOf: between }, 1, v1.id, v1.sha256],
    ];
    await withWorker(stack, async () => {
      for (const [version, number, id, sha256] of cases) {
        const started = await request(api, 'POST', '/api/v1/clustering', {
          algorithm: 'kmeans',
          params: { k: 2, seed: 1 },
          dataset: { name, version },
        });
        expect(started.status, JSON.stringify(started.body)).to.equal(202);
        expect(started.body.dataset).to.deep.equal({ name, version });
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        expect(result.status, JSON.stringify(result.body)).to.equal(200);
        expect(result.body.datasetId).to.equal(id);
        const job = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}`);
        expect(job.body.result.dataset).to.include({ name, version: number, datasetId: id, sha256 });
        // Every resolution records the instant it was made against, a pinned version's too (the run's start here).
        expect(job.body.result.dataset.asOf, JSON.stringify(version)).to.be.a('string');
        if (typeof version === 'object') expect(job.body.result.dataset.asOf).to.equal(between);
        expect(job.body.result.datasetSha256).to.equal(sha256);
        expect(job.body.memo.dataset).to.include({ id, version: number });
      }
    });
  });

  it('answers a reference that names nothing with 404 naming the field, and both forms with 400', async () => {
    const body = { algorithm: 'kmeans', params: { k: 2 } };
    const none = await request(api, 'POST', '/api/v1/clustering', { ...body, dataset: { name: 'never-uploaded' } });
    expect(none.status).to.equal(404);
    expect(none.body.error.field).to.equal('dataset.name');
    const noVersion = await request(api, 'POST', '/api/v1/clustering', { ...body, dataset: { name, version: 9 } });
    expect(noVersion.status).to.equal(404);
    expect(noVersion.body.error.field).to.equal('dataset.version');
    const before = await request(api, 'POST', '/api/v1/training', {
      dataset: { name, version: { asOf: '2001-01-01T00:00:00Z' } },
      target: 'x',
      model: { name: 'm' },
      spec: { task: 'regression', layers: [{ units: 2, activation: 'relu' }] },
      training: { epochs: 1, batchSize: 4, learningRate: 0.01 },
    });
    expect(before.status).to.equal(404);
    expect(before.body.error.field).to.equal('dataset.version');
    const both = await request(api, 'POST', '/api/v1/clustering', { ...body, datasetId: v1.id, dataset: { name } });
    expect(both.status).to.equal(400);
    expect(both.body.error.field).to.equal('dataset');
    const badVersion = await request(api, 'POST', '/api/v1/clustering', { ...body, dataset: { name, version: 0 } });
    expect(badVersion.status).to.equal(400);
    expect(badVersion.body.error.field).to.match(/^dataset\.version/);
  });
});
