import { expect } from 'chai';
import { DEFAULT_TENANT } from '../../common/tenant';
import { putArtifact } from '../../db/artifacts';
import { getDataset } from '../../db/datasets';
import { registerModelVersion } from '../../db/registry';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * Fault class: a job start retried by a client (a timeout, a lost answer, a double click) started a second job. Now
 * every job-starting route takes an Idempotency-Key: the same key (per tenant and route) names the same job, the
 * first request answers 202 and every repeat 200 with `Idempotent-Replayed: true` and the same job; the same key with
 * another body is 409 `idempotency_key_reused`.
 */
describe('faults: idempotent job starts (item 11)', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const started = new Set<string>();
  const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const key = (name: string) => `${name}-${run}`;

  const post = async (path: string, body: unknown, idempotencyKey?: string): Promise<JsonResponse> => {
    const res = await request(api, 'POST', path, body, idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {});
    const id = res.body?.jobId ?? res.body?.pipelineId;
    if (typeof id === 'string') started.add(id);
    return res;
  };
  const terminateStarted = async () => {
    for (const id of started) {
      await stack.env.client.workflow
        .getHandle(id)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    started.clear();
  };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const upload = await request(api, 'POST', '/api/v1/datasets', {
      name: 'idempotency',
      data: Array.from({ length: 40 }, (_, i) => ({ a: i, b: (i * 7) % 5, y: 2 * i + 1 })),
    });
    expect(upload.status).to.be.oneOf([200, 201]);
    datasetId = upload.body.id;
  });
  after(async () => {
    await terminateStarted();
    await api?.close();
  });

  it('20 concurrent identical requests with one key start one job', async () => {
    const body = { algorithm: 'kmeans', params: { k: 2, seed: 3 }, datasetId, resources: { accelerator: 'cpu' } };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/api/v1/clustering', body, key('twenty'))),
    );
    const ids = new Set(answers.map((a) => a.body.jobId));
    expect(ids.size, JSON.stringify(answers.map((a) => [a.status, a.body.jobId ?? a.body.error]))).to.equal(1);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).to.deep.equal([200, ...Array<number>(18).fill(200), 202].sort());
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).to.have.length(19);
    for (const a of answers) expect(a.body.links.self).to.equal(`/api/v1/jobs/${a.body.jobId}`);
    // Temporal has one execution under that id.
    const [jobId] = ids;
    const executions = await eventually(
      async () => {
        const runs: string[] = [];
        for await (const w of stack.env.client.workflow.list({ query: `WorkflowId = '${jobId}'` })) runs.push(w.runId);
        return runs;
      },
      (runs) => runs.length > 0,
      30_000,
    );
    expect(executions).to.have.length(1);
  });

  it('the same key with a different body is a 409 naming the header; a new key starts a new job', async () => {
    const first = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId }, key('diff'));
    expect(first.status, JSON.stringify(first.body)).to.equal(202);
    const other = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 3 }, datasetId }, key('diff'));
    expect(other.status, JSON.stringify(other.body)).to.equal(409);
    expect(other.body.error).to.include({ code: 'idempotency_key_reused', field: 'Idempotency-Key' });
    const fresh = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 3 }, datasetId }, key('diff2'));
    expect(fresh.status).to.equal(202);
    expect(fresh.body.jobId).to.not.equal(first.body.jobId);
    const none1 = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId });
    const none2 = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId });
    expect([none1.status, none2.status]).to.deep.equal([202, 202]);
    expect(none1.body.jobId).to.not.equal(none2.body.jobId);
  });

  it('refuses a key that is not 1-255 visible ASCII characters', async () => {
    const res = await post('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, datasetId }, 'k'.repeat(256));
    expect(res.status).to.equal(400);
    expect(res.body.error.field).to.equal('Idempotency-Key');
  });

  it('every job-starting route replays its job for a repeated key', async () => {
    const modelName = `idem-model-${run}`;
    const dataset = (await getDataset(stack.pool, DEFAULT_TENANT, datasetId))!;
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'application/vnd.kiln.kmeans+json',
      content: Buffer.from(JSON.stringify({ flavor: 'kmeans', centroids: [[0, 0, 0]], columns: ['a', 'b', 'y'] })),
    });
    await registerModelVersion(stack.pool, {
      tenantId: DEFAULT_TENANT,
      modelName,
      flavor: 'kmeans',
      params: { k: 1 },
      metrics: {},
      artifactId: artifact.id,
      datasetId,
      datasetSha256: dataset.sha256,
      sourceWorkflowId: 'clustering-00000000-0000-4000-8000-00000000d0d0',
      sourceRunId: 'run-1',
      backend: 'cpu',
      actor: 'test',
    });
    const training = {
      datasetId,
      target: 'y',
      model: { name: modelName },
      spec: { task: 'regression', layers: [{ units: 2, activation: 'relu' }] },
      training: { epochs: 1, batchSize: 4, learningRate: 0.01 },
      resources: { accelerator: 'cpu' },
    };
    const routes: Array<[string, unknown, 'jobId' | 'pipelineId']> = [
      ['/api/v1/training', training, 'jobId'],
      [`/api/v1/models/${modelName}/batch-predict`, { datasetId }, 'jobId'],
      ['/api/v1/pipelines/validation', { datasetId, target: 'y' }, 'pipelineId'],
      [
        '/api/v1/pipelines/full',
        {
          model: { name: modelName },
          datasetId,
          holdout: { fraction: 0.25, seed: 1 },
          training: { ...training, datasetId: undefined, model: undefined },
          gate: { thresholds: [{ metric: 'mse', threshold: 1e9 }], noChampion: 'absolute-only' },
          promote: { alias: 'champion' },
        },
        'pipelineId',
      ],
      ['/api/cluster/kmeans?wait=0', { data: [[1], [2], [10], [11]], params: { k: 2 } }, 'jobId'],
    ];
    for (const [path, body, idField] of routes) {
      const first = await post(path, body, key(`route-${path}`));
      expect(first.status, `${path}: ${JSON.stringify(first.body)}`).to.equal(202);
      const again = await post(path, body, key(`route-${path}`));
      // The seed route keeps its own statuses: 202 while the job runs, 200 with the full result.
      expect(again.status, `${path}: ${JSON.stringify(again.body)}`).to.equal(
        path.startsWith('/api/cluster') ? 202 : 200,
      );
      expect(again.headers.get('idempotent-replayed'), path).to.equal('true');
      expect(again.body[idField], path).to.equal(first.body[idField]);
      // A body is the same request only byte for byte: one more space is another request.
      const changed = await request(api, 'POST', path, `${JSON.stringify(body)} `, {
        'content-type': 'application/json',
        'Idempotency-Key': key(`route-${path}`),
      });
      expect(changed.status, `${path}: ${JSON.stringify(changed.body)}`).to.equal(409);
      expect(changed.body.error.code).to.equal('idempotency_key_reused');
    }
    // The same key on another route is another job (the key is per route).
    const a = await post('/api/v1/pipelines/validation', { datasetId }, key('shared'));
    const b = await post('/api/cluster/kmeans?wait=0', { data: [[1], [2]], params: { k: 1 } }, key('shared'));
    expect([a.status, b.status]).to.deep.equal([202, 202]);
    expect(a.body.pipelineId.split('-').slice(-5).join('-')).to.not.equal(b.body.jobId.split('-').slice(-5).join('-'));
  });

  it('a repeat after the job completed answers the same job, COMPLETED (not a new run)', async () => {
    await terminateStarted();
    const body = { algorithm: 'kmeans', params: { k: 2, seed: 1 }, data: [[0], [1], [10], [11]] };
    await withWorker(stack, async () => {
      const first = await post('/api/v1/clustering', body, key('done'));
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      const result = await request(api, 'GET', `/api/v1/jobs/${first.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      const again = await post('/api/v1/clustering', body, key('done'));
      expect(again.status, JSON.stringify(again.body)).to.equal(200);
      expect(again.body).to.include({ jobId: first.body.jobId, status: 'COMPLETED' });
      const differs = await post('/api/v1/clustering', { ...body, params: { k: 3 } }, key('done'));
      expect(differs.status).to.equal(409);
    });
  });
});
