import { expect } from 'chai';
import { makeBlobs } from '../support/blobs';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/** One small, well-separated case per algorithm: each must find the three blobs through the real API and Temporal. */
const CASES: Array<{ algorithm: string; params: Record<string, unknown>; predicts: boolean; minAri: number }> = [
  { algorithm: 'kmeans', params: { k: 3, nInit: 2 }, predicts: true, minAri: 0.99 },
  { algorithm: 'minibatch-kmeans', params: { k: 3, batchSize: 64 }, predicts: true, minAri: 0.99 },
  { algorithm: 'dbscan', params: { eps: 1.5, minPoints: 5 }, predicts: false, minAri: 0.99 },
  { algorithm: 'hierarchical', params: { k: 3, linkage: 'ward' }, predicts: false, minAri: 0.99 },
  {
    algorithm: 'spectral',
    params: { k: 3, affinity: 'nearest-neighbors', nNeighbors: 10 },
    predicts: false,
    minAri: 0.99,
  },
  { algorithm: 'gmm', params: { k: 3, covarianceType: 'diag' }, predicts: true, minAri: 0.99 },
  // A 2×2 map has more cells than blobs, so ARI against the truth is lower by construction.
  { algorithm: 'som', params: { rows: 2, cols: 2, iterations: 20 }, predicts: true, minAri: 0.5 },
];

describe('every clustering algorithm runs as a durable job through the API', function () {
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const blobs = makeBlobs(
    40,
    [
      [0, 0],
      [10, 10],
      [-10, 10],
    ],
    0.6,
    5,
  );

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const rows = blobs.points.map(([x, y], i) => ({ x, y, truth: ['a', 'b', 'c'][blobs.labels[i]] }));
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'algorithms', data: rows });
    expect(upload.status).to.equal(201);
    datasetId = upload.body.id;
  });
  after(async () => api?.close());

  it('lists every algorithm with its parameter schema, defaults and limits', async () => {
    const res = await request(api, 'GET', '/api/v1/algorithms');
    const names = res.body.algorithms.map((a: { name: string }) => a.name);
    expect(names).to.include.members(CASES.map((c) => c.algorithm));
    const dbscan = res.body.algorithms.find((a: { name: string }) => a.name === 'dbscan');
    expect(dbscan.params.required).to.deep.equal(['eps']);
    expect(dbscan.params.properties.minPoints.default).to.equal(5);
    expect(dbscan.limits.points.all.maxPoints).to.be.a('number');
  });

  for (const c of CASES) {
    it(`${c.algorithm}: finds the blobs, scores them, and ${c.predicts ? 'registers a model that predicts the same labels' : 'refuses to register a model'}`, async () => {
      await withWorker(stack, async () => {
        const started = await request(api, 'POST', '/api/v1/clustering', {
          algorithm: c.algorithm,
          params: c.params,
          datasetId,
          labelsColumn: 'truth',
          ...(c.predicts ? { register: { name: `algo-${c.algorithm}` } } : {}),
        });
        expect(started.status, JSON.stringify(started.body)).to.equal(202);
        const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
        expect(result.status, JSON.stringify(result.body)).to.equal(200);
        expect(result.body.labels).to.have.length(blobs.points.length);
        expect(result.body.columns).to.deep.equal(['x', 'y']);
        expect(result.body.backend).to.be.a('string');
        expect(result.body.quality.ari).to.be.at.least(c.minAri);
        expect(result.body.quality.nmi).to.be.a('number');
        expect(result.body.quality.silhouette).to.be.a('number');
        expect(result.body.quality.daviesBouldin).to.be.a('number');
        expect(result.body.quality.calinskiHarabasz).to.be.a('number');
        if (c.predicts) {
          const predicted = await request(api, 'POST', `/api/v1/models/algo-${c.algorithm}/predict`, {
            inputs: blobs.points,
          });
          expect(predicted.status, JSON.stringify(predicted.body)).to.equal(200);
          expect(predicted.body.flavor).to.equal(c.algorithm);
          expect(predicted.body.labels).to.deep.equal(result.body.labels);
        }
      });
      if (!c.predicts) {
        const refused = await request(api, 'POST', '/api/v1/clustering', {
          algorithm: c.algorithm,
          params: c.params,
          datasetId,
          register: { name: 'nope' },
        });
        expect(refused.status).to.equal(400);
        expect(refused.body.error.field).to.equal('register');
      }
    });
  }

  it("returns each algorithm's own outputs: merge tree, codebook, probabilities, noise", async () => {
    await withWorker(stack, async () => {
      const run = async (algorithm: string, params: Record<string, unknown>) => {
        const started = await request(api, 'POST', '/api/v1/clustering', {
          algorithm,
          params,
          datasetId,
          labelsColumn: 'truth',
        });
        return (await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`)).body;
      };
      const tree = await run('hierarchical', { k: 3, linkage: 'single' });
      expect(tree.mergeTree.children).to.have.length(blobs.points.length - 1);
      const som = await run('som', { rows: 3, cols: 2, iterations: 5 });
      expect(som.codebook).to.have.length(3);
      expect(som.codebook[0]).to.have.length(2);
      const gmm = await run('gmm', { k: 3 });
      expect(gmm.probabilities).to.have.length(blobs.points.length);
      const dbscan = await run('dbscan', { eps: 0.05, minPoints: 5 });
      expect(dbscan.noisePoints).to.equal(blobs.points.length);
      expect(new Set(dbscan.labels)).to.deep.equal(new Set([-1]));
    });
  });

  it("refuses inputs past an algorithm's documented limit with a 4xx naming the limit and the alternative", async () => {
    const big = makeBlobs(
      6000,
      [
        [0, 0],
        [5, 5],
      ],
      1,
      9,
    ).points;
    const upload = await request(api, 'POST', '/api/v1/datasets', { data: big });
    expect(upload.status).to.equal(201);
    const res = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'hierarchical',
      params: { k: 2, linkage: 'complete' },
      datasetId: upload.body.id,
    });
    expect(res.status).to.equal(422);
    expect(res.body.error).to.include({ code: 'too_many_points', field: 'datasetId' });
    expect(res.body.error.message)
      .to.match(/at most \d+ points/)
      .and.to.match(/ward|single|minibatch-kmeans/);
  });

  it("validates each algorithm's params with its own schema", async () => {
    const post = (algorithm: string, params: unknown) =>
      request(api, 'POST', '/api/v1/clustering', { algorithm, params, datasetId, labelsColumn: 'truth' });
    const cases: Array<[string, unknown, string]> = [
      ['dbscan', { minPoints: 5 }, 'params.eps'],
      ['dbscan', { eps: -1 }, 'params.eps'],
      ['dbscan', { eps: 1, metric: 'manhattan' }, 'params.metric'],
      ['hierarchical', { linkage: 'ward' }, 'params.k'],
      ['hierarchical', { k: 2, distanceThreshold: 1 }, 'params.k'],
      ['hierarchical', { k: 2, linkage: 'median' }, 'params.linkage'],
      ['som', { rows: 200, cols: 200 }, 'params.rows'],
      ['som', { rows: 2 }, 'params.cols'],
      ['spectral', { k: 2, affinity: 'cosine' }, 'params.affinity'],
      ['gmm', { k: 2, covarianceType: 'tied' }, 'params.covarianceType'],
      ['minibatch-kmeans', { k: 2, batchSize: 0 }, 'params.batchSize'],
      ['kmeans', { k: 2, init: [[0, 0]] }, 'params.init'],
    ];
    for (const [algorithm, params, field] of cases) {
      const res = await post(algorithm, params);
      expect(res.status, `${algorithm} ${JSON.stringify(params)}`).to.equal(400);
      expect(res.body.error.field, `${algorithm} ${JSON.stringify(params)}`).to.equal(field);
    }
    const labels = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      params: { k: 2 },
      datasetId,
      labelsColumn: 'nope',
    });
    expect(labels.status).to.equal(400);
    expect(labels.body.error.field).to.equal('labelsColumn');
  });
});
