import { expect } from 'chai';
import { request, startTestApi, TestApi } from '../support/test-api';
import { interleavedBlobsCsv } from '../support/interleaved-blobs';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/** The routes the console reads beyond the job API, and the console's own files, against the real stack. */
describe('console routes: dataset summaries, clustering projections, static files', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let api: TestApi;

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => api?.close());

  const uploadCsv = async (csv: string) => {
    const res = await request(api, 'POST', '/api/v1/datasets', csv, { 'content-type': 'text/csv' });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
    return res.body.id as string;
  };
  const cluster = async (body: Record<string, unknown>) => {
    const started = await request(api, 'POST', '/api/v1/clustering', body);
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const done = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
    expect(done.status, JSON.stringify(done.body)).to.equal(200);
    return started.body.jobId as string;
  };

  it('summarises every column: statistics, a histogram of numbers, the levels of text', async () => {
    // x = 0..9, y = 5 everywhere, c = a (6 rows) or b (4 rows).
    const rows = Array.from({ length: 10 }, (_, i) => `${i},5,${i < 6 ? 'a' : 'b'}`);
    const id = await uploadCsv(['x,y,c', ...rows].join('\n'));
    const res = await request(api, 'GET', `/api/v1/datasets/${id}/summary`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ datasetId: id, rows: 10 });
    const [x, y, c] = res.body.columns;
    expect(x).to.include({
      column: 'x',
      type: 'number',
      count: 10,
      missing: 0,
      distinct: 10,
      mean: 4.5,
      min: 0,
      max: 9,
    });
    expect(x.std).to.be.closeTo(Math.sqrt(82.5 / 9), 1e-12);
    expect(x.quantiles.find((q: any) => q.q === 0.5).value).to.equal(4.5);
    expect(x.histogram.edges).to.have.length(21);
    expect(x.histogram.counts.reduce((a: number, b: number) => a + b, 0)).to.equal(10);
    expect(x.histogram.counts[0]).to.equal(1);
    expect(x.histogram.counts[19]).to.equal(1);
    expect(y.histogram).to.deep.equal({ edges: [5, 5], counts: [10] });
    expect(c).to.deep.include({
      column: 'c',
      type: 'string',
      distinct: 2,
      levels: [
        { level: 'a', count: 6 },
        { level: 'b', count: 4 },
      ],
      otherLevels: 0,
    });
    const missing = await request(api, 'GET', '/api/v1/datasets/00000000-0000-4000-8000-000000000000/summary');
    expect(missing.status).to.equal(404);
    expect(missing.body.error).to.include({ code: 'not_found', field: 'id' });
  });

  it("projects a clustering job's points: columns as they are for d ≤ 2, principal components past that, a sample past the limit", async () => {
    // Two clusters along the line (t, 2t, −t) in three columns, plus small offsets: PC1 carries nearly all variance.
    const rows = Array.from({ length: 40 }, (_, i) => {
      const t = (i < 20 ? 0 : 10) + (i % 20) * 0.05;
      return `${t},${2 * t + (i % 3) * 0.01},${-t + (i % 2) * 0.01}`;
    });
    const id = await uploadCsv(['p,q,r', ...rows].join('\n'));
    await withWorker(stack, async () => {
      const three = await cluster({ algorithm: 'kmeans', params: { k: 2, seed: 1 }, datasetId: id });
      const pca = await request(api, 'GET', `/api/v1/jobs/${three}/projection`);
      expect(pca.status, JSON.stringify(pca.body)).to.equal(200);
      expect(pca.body).to.include({
        jobId: three,
        n: 40,
        d: 3,
        sampled: 40,
        sampling: 'all',
        method: 'pca',
        centroidSource: 'model',
      });
      expect(pca.body.axes.map((a: any) => a.label)).to.deep.equal(['PC1', 'PC2']);
      expect(pca.body.axes[0].varianceRatio).to.be.above(0.99);
      expect(pca.body.points.x).to.have.length(40);
      // The two clusters sit at opposite ends of PC1, each centroid amid its points.
      const labels: number[] = pca.body.points.label;
      expect(new Set(labels.slice(0, 20)).size).to.equal(1);
      expect(new Set(labels.slice(20)).size).to.equal(1);
      const first = labels[0];
      const xs: number[] = pca.body.points.x;
      const meanX = (from: number) => xs.slice(from, from + 20).reduce((a, b) => a + b, 0) / 20;
      const centroid = (label: number) => pca.body.centroids.find((c: any) => c.cluster === label).x;
      expect(centroid(first)).to.be.closeTo(meanX(0), 1e-3);
      expect(centroid(labels[20])).to.be.closeTo(meanX(20), 1e-3);
      expect(Math.abs(meanX(0) - meanX(20))).to.be.closeTo(Math.sqrt(6) * 10, 0.1);

      // Past the limit, a sample stratified by cluster: four points of each of the two 20-point clusters.
      const sampled = await request(api, 'GET', `/api/v1/jobs/${three}/projection?limit=8`);
      expect(sampled.body).to.include({ n: 40, sampled: 8, sampling: 'per-cluster' });
      const sampledLabels: number[] = sampled.body.points.label;
      expect(sampledLabels.filter((l) => l === labels[0])).to.have.length(4);
      expect(sampledLabels.filter((l) => l === labels[20])).to.have.length(4);

      const two = await cluster({
        algorithm: 'dbscan',
        params: { eps: 0.2, minPoints: 3 },
        datasetId: id,
        columns: ['p', 'q'],
      });
      const plain = await request(api, 'GET', `/api/v1/jobs/${two}/projection`);
      expect(plain.body).to.include({ method: 'columns', d: 2, centroidSource: 'cluster-means' });
      expect(plain.body.axes).to.deep.equal([{ label: 'p' }, { label: 'q' }]);
      expect(plain.body.points.x[21]).to.equal(10.05);
      // Row 21: t = 10.05, q = 2t (+ 0.01 × (21 mod 3) = 0), to six significant digits.
      expect(plain.body.points.y[21]).to.equal(20.1);

      expect((await request(api, 'GET', `/api/v1/jobs/${three}/projection?limit=5001`)).status).to.equal(400);
    });
    const unknown = await request(
      api,
      'GET',
      '/api/v1/jobs/clustering-00000000-0000-4000-8000-000000000000/projection',
    );
    expect(unknown.status).to.equal(404);
  });

  it('samples rows that cycle through the clusters per cluster: all four show, in proportion', async () => {
    const id = await uploadCsv(interleavedBlobsCsv(30_000));
    await withWorker(stack, async () => {
      const job = await cluster({ algorithm: 'kmeans', params: { k: 4, seed: 1 }, datasetId: id });
      const first = await request(api, 'GET', `/api/v1/jobs/${job}/projection`);
      expect(first.status, JSON.stringify(first.body).slice(0, 300)).to.equal(200);
      expect(first.body).to.include({ n: 30_000, d: 4, sampled: 5_000, sampling: 'per-cluster', method: 'pca' });
      const counts = new Map<number, number>();
      for (const l of first.body.points.label as number[]) counts.set(l, (counts.get(l) ?? 0) + 1);
      expect([...counts.keys()].sort()).to.deep.equal([0, 1, 2, 3]);
      // The blobs are recovered exactly (7,500 rows each), so each cluster is a quarter of the sample.
      for (const [label, count] of counts) expect(count, `cluster ${label}`).to.equal(1_250);
      // A small limit still shows every cluster (seeded per job: test/api/projection-sample.test.ts).
      const smaller = await request(api, 'GET', `/api/v1/jobs/${job}/projection?limit=400`);
      expect(smaller.body).to.include({ sampled: 400, sampling: 'per-cluster' });
      expect(new Set(smaller.body.points.label).size).to.equal(4);
    });
  });

  it('serves the console, its vendored packages and /docs; nothing else of node_modules or the repository', async () => {
    const page = await fetch(`${api.baseUrl}/`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.contain('<script type="importmap">');
    expect(html).to.not.match(/https?:\/\/(?!127\.0\.0\.1)/); // no CDN
    for (const path of [
      '/console/app.js',
      '/vendor/preact/dist/preact.mjs',
      '/vendor/preact/hooks/dist/hooks.mjs',
      '/vendor/htm/preact/index.mjs',
      '/vendor/uplot/dist/uPlot.esm.js',
      '/vendor/uplot/dist/uPlot.min.css',
      '/vendor/swagger-ui/swagger-ui-bundle.js',
      '/docs',
    ]) {
      const res = await fetch(`${api.baseUrl}${path}`);
      expect(res.status, path).to.equal(200);
      await res.arrayBuffer();
    }
    expect((await fetch(`${api.baseUrl}/console/app.js`)).headers.get('content-type')).to.match(/javascript/);
    for (const path of ['/vendor/pg/package.json', '/console/missing.js', '/api/v1/console', '/api/nothing']) {
      const res = await request(api, 'GET', path);
      expect(res.status, path).to.equal(404);
      expect(res.body.error.code, path).to.equal('not_found');
    }
    // A JSON 404 naming the URL path, never a path on the server; directories, dotfiles and escapes too.
    for (const path of [
      '/console/nope.js',
      '/vendor/uplot/nope.js',
      '/console/lib',
      '/console/.git',
      '/console/.gitignore',
      '/vendor/preact/..%2f..%2fpackage.json',
      '/console/..%2f..%2fpackage.json',
      '/vendor/uplot/dist/..%2f..%2f..%2f..%2fpackage.json',
    ]) {
      const res = await request(api, 'GET', path);
      expect(res.status, path).to.equal(404);
      expect(res.headers.get('content-type'), path).to.match(/^application\/json/);
      expect(res.body.error.code, path).to.equal('not_found');
      expect(res.body.error.message, path).to.not.match(/ENOENT|node_modules|\/tmp\/|\/work\/|stat /);
      expect(JSON.stringify(res.body), path).to.not.contain('"dependencies"');
    }
    expect((await request(api, 'GET', '/console/nope.js')).body.error.message).to.contain('/console/nope.js');
  });
});
