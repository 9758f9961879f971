import { expect } from 'chai';
import { samePartition } from '../../ml/clustering/agreement';
import { makeBlobs } from '../support/blobs';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

describe('clustering jobs through the API, Temporal and Postgres', function () {
  let stack: TestStack;
  let api: TestApi;

  before(async function () {
    this.timeout(300_000); // a first run on a fresh machine builds the Temporal CLI
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => api?.close());

  const blobs = makeBlobs(
    40,
    [
      [0, 0],
      [8, 8],
      [-8, 8],
    ],
    0.5,
    7,
  );

  it('uploads a dataset, runs k-means on it, and returns the known partition with the backend that ran it', async () => {
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'three-blobs', data: blobs.points });
    expect(upload.status).to.equal(201);
    expect(upload.body).to.include({ name: 'three-blobs', rows: 120, columns: 2 });
    expect(upload.body.sha256).to.match(/^[0-9a-f]{64}$/);

    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 3, seed: 3 },
        datasetId: upload.body.id,
      });
      expect(started.status).to.equal(202);
      expect(started.body.jobId).to.match(/^clustering-/);
      expect(started.body.links.result).to.equal(`/api/v1/jobs/${started.body.jobId}/result`);

      const result = await request(api, 'GET', `${started.body.links.result}?wait=30`);
      expect(result.status).to.equal(200);
      expect(result.body.labels).to.have.length(120);
      expect(samePartition(result.body.labels, blobs.labels)).to.equal(true);
      expect(result.body.centroids).to.have.length(3);
      // Each centroid is the mean of the points assigned to it.
      result.body.centroids.forEach((centroid: number[], cluster: number) => {
        const members = blobs.points.filter((_, i) => result.body.labels[i] === cluster);
        centroid.forEach((value, dim) => {
          const mean = members.reduce((sum, p) => sum + p[dim], 0) / members.length;
          expect(value).to.be.closeTo(mean, 1e-4);
        });
      });
      expect(result.body.converged).to.equal(true);
      expect(result.body.backend).to.be.oneOf(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
      expect(result.body.inertia).to.be.greaterThan(0);

      const job = await request(api, 'GET', started.body.links.self);
      expect(job.status).to.equal(200);
      expect(job.body).to.include({ jobId: started.body.jobId, kind: 'clustering', status: 'COMPLETED' });
      expect(job.body.result).to.include({ n: 120, d: 2, k: 3, backend: result.body.backend });
    });
  });

  it('keeps data out of workflow history: the workflow receives only the dataset id', async () => {
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 3 },
        data: blobs.points,
      });
      expect(started.status).to.equal(202);
      await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
      const history = await stack.env.client.workflow.getHandle(started.body.jobId).fetchHistory();
      const json = JSON.stringify(history);
      expect(json.length).to.be.lessThan(20_000);
      const start = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const input = JSON.parse(Buffer.from(start!.input!.payloads![0].data as Uint8Array).toString('utf8'));
      expect(input.datasetId).to.equal(started.body.datasetId);
      expect(input).to.not.have.property('data');
    });
  });

  it('registers the centroids as a model version exactly once, with lineage', async () => {
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 3, seed: 1 },
        data: blobs.points,
        register: { name: 'blobs-centroids' },
      });
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
      expect(result.status).to.equal(200);
      expect(result.body.registered).to.include({ modelName: 'blobs-centroids', version: 1 });
      const version = await request(api, 'GET', result.body.links.modelVersion);
      expect(version.status).to.equal(200);
      expect(version.body).to.include({
        modelName: 'blobs-centroids',
        version: 1,
        flavor: 'kmeans',
        sourceWorkflowId: started.body.jobId,
      });
      expect(version.body.datasetId).to.equal(started.body.datasetId);
    });
    const { rows } = await stack.pool.query(
      `SELECT v.version, v.flavor, v.backend, v.dataset_id, v.dataset_sha256, v.source_workflow_id, v.source_run_id, v.tenant_id,
              a.kind AS artifact_kind, convert_from(a.content, 'UTF8')::jsonb AS model
         FROM model_versions v JOIN models m ON m.id = v.model_id JOIN artifacts a ON a.id = v.artifact_id
        WHERE m.name = 'blobs-centroids'`,
    );
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ version: 1, flavor: 'kmeans', tenant_id: 'default', artifact_kind: 'model' });
    expect(rows[0].source_workflow_id).to.match(/^clustering-/);
    expect(rows[0].source_run_id).to.be.a('string');
    expect(rows[0].dataset_sha256).to.match(/^[0-9a-f]{64}$/);
    expect(rows[0].model.centroids).to.have.length(3);
    const audit = await stack.pool.query(
      `SELECT action FROM audit_events WHERE entity_type = 'model' AND entity_id = 'blobs-centroids'`,
    );
    expect(audit.rows.map((r) => r.action)).to.deep.equal(['version_registered']);
  });

  it('lists jobs by kind and status from Temporal visibility', async () => {
    const listed = await eventually(
      () => request(api, 'GET', '/api/v1/jobs?kind=clustering&status=COMPLETED'),
      (res) => res.status === 200 && res.body.jobs.length >= 3,
      30_000,
    );
    for (const job of listed.body.jobs) expect(job).to.include({ kind: 'clustering', status: 'COMPLETED' });
    const running = await request(api, 'GET', '/api/v1/jobs?status=RUNNING');
    expect(running.status).to.equal(200);
    expect(running.body.jobs).to.deep.equal([]);
  });

  it('answers 409 for the result of a job still waiting for a worker, shows it waiting, and cancels it', async () => {
    // No worker runs here, so the job cannot progress: a deterministic "still running".
    const started = await request(api, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      params: { k: 2 },
      data: blobs.points,
    });
    expect(started.status).to.equal(202);
    const early = await request(api, 'GET', started.body.links.result);
    expect(early.status).to.equal(409);
    expect(early.body.error.code).to.equal('job_running');
    const job = await eventually(
      () => request(api, 'GET', started.body.links.self),
      (res) => res.body.progress?.state === 'waiting-for-worker',
      10_000,
    );
    expect(job.body.status).to.equal('RUNNING');
    expect(job.body.progress).to.include({ stage: 'queued', state: 'waiting-for-worker' });

    const cancel = await request(api, 'POST', started.body.links.cancel);
    expect(cancel.status).to.equal(202);
    // The workflow itself must run to act on the request: a worker comes back and the job ends CANCELED.
    const canceled = await withWorker(stack, () =>
      eventually(
        () => request(api, 'GET', started.body.links.self),
        (res) => res.body.status !== 'RUNNING',
        20_000,
      ),
    );
    expect(canceled.body.status).to.equal('CANCELED');
    const again = await request(api, 'POST', started.body.links.cancel);
    expect(again.status).to.equal(409);
    const result = await request(api, 'GET', started.body.links.result);
    expect(result.status).to.equal(409);
    expect(result.body.error.code).to.equal('job_not_completed');
  });

  it('reports heartbeat progress while k-means runs, and stops promptly when cancelled', async () => {
    const big = makeBlobs(
      4000,
      Array.from({ length: 16 }, (_, i) => Array.from({ length: 16 }, (_, j) => ((i * 7 + j * 3) % 11) * 0.3)),
      3,
      11,
    );
    const upload = await request(api, 'POST', '/api/v1/datasets', { data: big.points });
    expect(upload.status).to.equal(201);
    await withWorker(stack, async () => {
      const started = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 64, maxIterations: 10_000, tolerance: 0, seed: 5 },
        datasetId: upload.body.id,
      });
      const running = await eventually(
        () => request(api, 'GET', started.body.links.self),
        (res) => typeof res.body.progress?.iteration === 'number' && res.body.progress.iteration >= 1,
        60_000,
      );
      expect(running.body.status).to.equal('RUNNING');
      expect(running.body.progress).to.include({ stage: 'clustering', state: 'running', maxIterations: 10_000 });
      expect(running.body.progress.inertia).to.be.a('number');
      await request(api, 'POST', started.body.links.cancel);
      const ended = await eventually(
        () => request(api, 'GET', started.body.links.self),
        (res) => res.body.status !== 'RUNNING',
        60_000,
      );
      expect(ended.body.status).to.equal('CANCELED');
    });
  });

  it("keeps the seed services' synchronous alias working", async () => {
    await withWorker(stack, async () => {
      const res = await request(api, 'POST', '/api/cluster/kmeans', { data: blobs.points, params: { k: 3 } });
      expect(res.status).to.equal(200);
      expect(samePartition(res.body.labels, blobs.labels)).to.equal(true);
    });
    const algorithms = await request(api, 'GET', '/api/algorithms');
    expect(algorithms.body.algorithms.map((a: { name: string }) => a.name)).to.include('kmeans');
  });
});
