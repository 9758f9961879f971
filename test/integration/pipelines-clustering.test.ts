import { expect } from 'chai';
import { blobRows, pipelineEnd, upload } from '../support/pipeline-data';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * Clustering models through the full pipeline: the candidate is fitted by a clustering child job on the training
 * part, both it and the champion assign the holdout rows, and the gate compares the quality of the two labellings.
 * The data are three well-separated blobs, so k = 3 is the better clustering and k = 2 the worse.
 */
describe('full pipelines with a clustering candidate (real Temporal and Postgres)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let dataset: string;

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    dataset = await upload(api, 'clusters-blobs', blobRows(51));
  });
  after(async () => api?.close());

  const body = (k: number, thresholds: unknown[], noChampion = 'fail', algorithm = 'kmeans') => ({
    model: { name: 'blob-clusters' },
    datasetId: dataset,
    holdout: { fraction: 0.25, seed: 2 },
    clustering: { algorithm, params: { k, seed: 1 }, labelsColumn: 'label' },
    gate: { thresholds, noChampion },
    promote: { alias: 'champion' },
  });
  const run = async (b: unknown) => {
    const res = await request(api, 'POST', '/api/v1/pipelines/full', b);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return pipelineEnd(api, res.body.pipelineId as string);
  };

  it('a worse candidate first (no champion), then a better one is promoted over it, then a worse one is not', async () => {
    const better = [
      { metric: 'silhouette', minAbsoluteChange: 0.05 },
      { metric: 'daviesBouldin', minAbsoluteChange: 0 },
    ];
    await withWorker(stack, async () => {
      // 1. k = 2 on three blobs, no champion yet: promoted on its absolute threshold.
      const first = await run(body(2, [{ metric: 'silhouette', threshold: 0.2 }], 'absolute-only'));
      expect(first.status, JSON.stringify(first)).to.equal('PROMOTED');
      expect(first.clusteringJobId).to.match(/^clustering-[0-9a-f-]{36}$/);
      expect(first).to.not.have.property('trainingJobId');
      expect(first.links.clusteringJob).to.equal(`/api/v1/jobs/${first.clusteringJobId}`);
      expect(Object.keys(first.metrics.candidate)).to.have.members([
        'silhouette',
        'daviesBouldin',
        'calinskiHarabasz',
        'inertia',
      ]);
      // The child job fitted on the training part (135 of 180 rows) and registered nothing itself.
      const child = (await request(api, 'GET', `/api/v1/jobs/${first.clusteringJobId}`)).body;
      expect(child).to.include({ kind: 'clustering', status: 'COMPLETED' });
      expect(child.result).to.include({ n: 135 });
      expect(child.result).to.not.have.property('registered');

      // 2. k = 3: a better silhouette and Davies–Bouldin on the same holdout rows than champion version 1.
      const second = await run(body(3, better));
      expect(second.status, JSON.stringify(second)).to.equal('PROMOTED');
      expect(second.metrics.champion.version).to.equal(1);
      expect(second.metrics.candidate.silhouette).to.be.greaterThan(second.metrics.champion.metrics.silhouette + 0.05);
      expect(second.metrics.candidate.daviesBouldin).to.be.lessThan(second.metrics.champion.metrics.daviesBouldin);
      expect(second.gate.results.map((r: { passed: boolean }) => r.passed)).to.deep.equal([true, true]);
      expect(second.promotion).to.deep.equal({
        alias: 'champion',
        version: 2,
        previousVersion: 1,
        previousAlias: 'previous-champion',
      });
      const report = (await request(api, 'GET', `/api/v1/pipelines/${second.pipelineId}/report`)).body.evaluation;
      expect(report).to.include({ task: 'clustering', holdoutRows: 45 });
      expect(report.metrics.map((m: { metric: string }) => m.metric)).to.deep.equal([
        'silhouette',
        'daviesBouldin',
        'calinskiHarabasz',
        'inertia',
      ]);
      expect(report.details.candidate.clusters).to.equal(3);

      // 3. k = 2 again against champion k = 3: worse, registered FAILED_VALIDATION, the alias stays.
      const third = await run(body(2, better));
      expect(third.status, JSON.stringify(third)).to.equal('GATE_FAILED');
      expect(third.gate.results.map((r: { passed: boolean }) => r.passed)).to.deep.equal([false, false]);
      expect(third.registered).to.include({ version: 3, status: 'FAILED_VALIDATION' });
      expect(third).to.not.have.property('promotion');
    });
    const versions = (await request(api, 'GET', '/api/v1/models/blob-clusters/versions')).body.versions;
    expect(
      versions.map((v: { version: number; status: string; flavor: string }) => [v.version, v.status, v.flavor]),
    ).to.deep.equal([
      [1, 'READY', 'kmeans'],
      [2, 'READY', 'kmeans'],
      [3, 'FAILED_VALIDATION', 'kmeans'],
    ]);
    expect(versions[1].params).to.include({ k: 3 });
    expect(versions[1].params.columns).to.deep.equal(['x', 'y']);
    expect(versions[1].params.pipeline.gate.passed).to.equal(true);
    expect(versions[1].metrics.holdout.silhouette).to.be.a('number');
    expect((await request(api, 'GET', '/api/v1/models/blob-clusters')).body.aliases).to.deep.equal({
      champion: 2,
      'previous-champion': 1,
    });
    // The promoted version predicts like any clustering model.
    const predicted = await request(api, 'POST', '/api/v1/models/blob-clusters/predict', {
      alias: 'champion',
      inputs: [
        [0, 0],
        [6, 6],
      ],
    });
    expect(predicted.status, JSON.stringify(predicted.body)).to.equal(200);
    expect(predicted.body).to.include({ version: 2, flavor: 'kmeans' });
    expect(predicted.body.labels).to.have.length(2);
  });

  it('another assigning algorithm (a Gaussian mixture) competes with the k-means champion on the same footing', async () => {
    await withWorker(stack, async () => {
      const gmm = await run(body(3, [{ metric: 'silhouette', minRelativeChange: 0.5 }], 'fail', 'gmm'));
      // Three blobs, three components: about the champion's silhouette, not 50 % better.
      expect(gmm.status, JSON.stringify(gmm)).to.equal('GATE_FAILED');
      expect(gmm.metrics.champion.version).to.equal(2);
      expect(gmm.metrics.candidate.silhouette).to.be.closeTo(gmm.metrics.champion.metrics.silhouette, 0.1);
    });
  });
});
