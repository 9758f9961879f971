import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { expect } from 'chai';
import type { TrainingHeartbeat, TrainingJobInput } from '../../common/jobs';
import { DEFAULT_TENANT } from '../../common/tenant';
import { completeAttempts } from '../../api/services/training-attempts';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { registerModelVersion } from '../../db/registry';
import { initComputeBackend } from '../../ml/backend';
import { saveTrainedModel, loadTrainedModel } from '../../ml/training/predict';
import { train } from '../../ml/training/train';
import { trainingWorkflow } from '../../workflows';
import {
  ActivityRecorder,
  mockActivities,
  trainingInput,
  trainingSummaryFor,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * Fault class: answers that hid what the client needed to know. An unknown column in an online predict was dropped
 * without a word; a batch predict on a dataset without the model's columns started and then failed; `{"a":` to
 * /datasets said "unknown field a" (it is not JSON); an unknown key on a PATCH named no field; the clustering result
 * lacked where it ran; a training job's attempts left out those that failed before their first heartbeat.
 */
describe('faults: answers that name what is wrong (item 5)', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let api: TestApi;
  const run = randomUUID().slice(0, 8);
  const started: string[] = [];

  const register = async (modelName: string, flavor: string, content: Buffer, datasetId: string, sha: string) => {
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: `application/vnd.kiln.${flavor}`,
      content,
    });
    await registerModelVersion(stack.pool, {
      tenantId: DEFAULT_TENANT,
      modelName,
      flavor,
      params: {},
      metrics: {},
      artifactId: artifact.id,
      datasetId,
      datasetSha256: sha,
      sourceWorkflowId: `training-${randomUUID()}`,
      sourceRunId: 'run-1',
      backend: 'cpu',
      actor: 'test',
    });
  };
  const table = (columns: string[], rows: number[][]) => ({
    columns: columns.map((name) => ({ name, type: 'number' as const })),
    rows: rows.length,
    values: Float64Array.from(rows.flat()),
  });

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(async () => {
    for (const id of started) {
      await stack.env.client.workflow
        .getHandle(id)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await api?.close();
  });

  describe('predict', () => {
    const kmeans = `answers-kmeans-${run}`;
    before(async () => {
      const { dataset } = await createDataset(stack.pool, {
        tenantId: DEFAULT_TENANT,
        name: `answers-ab-${run}`,
        sourceFormat: 'json',
        table: table(
          ['a', 'b'],
          [
            [0, 0],
            [10, 10],
          ],
        ),
      });
      const model = {
        flavor: 'kmeans',
        centroids: [
          [0, 0],
          [10, 10],
        ],
        columns: ['a', 'b'],
      };
      await register(kmeans, 'kmeans', Buffer.from(JSON.stringify(model)), dataset.id, dataset.sha256);
    });

    it('an object row with a key that is not a model column is a 400 naming it (was ignored); opt in to ignore it', async () => {
      const url = `/api/v1/models/${kmeans}/predict`;
      const extra = await request(api, 'POST', url, {
        inputs: [
          { a: 1, b: 1 },
          { a: 9, b: 9, c: 5 },
        ],
      });
      expect(extra.status, JSON.stringify(extra.body)).to.equal(400);
      expect(extra.body.error).to.include({ field: 'inputs[1].c', code: 'unknown_column' });
      expect(extra.body.error.message).to.match(/no column "c"; its columns are a, b/);
      const typo = await request(api, 'POST', url, { inputs: [{ a: 1, bb: 1 }] });
      expect(typo.status).to.equal(400); // `b` is missing and `bb` unknown: either way a 400, never a silent guess
      const ignored = await request(api, 'POST', url, { inputs: [{ a: 9, b: 9, c: 5 }], ignoreExtraColumns: true });
      expect(ignored.status, JSON.stringify(ignored.body)).to.equal(200);
      expect(ignored.body.labels).to.deep.equal([1]);
      const exact = await request(api, 'POST', url, { inputs: [{ a: 0, b: 1 }, [10, 9]] });
      expect([exact.status, exact.body.labels]).to.deep.equal([200, [0, 1]]);
    });

    it("a batch predict on a dataset without the model's number columns is a 400 before any job starts", async () => {
      const only = await createDataset(stack.pool, {
        tenantId: DEFAULT_TENANT,
        name: `answers-a-${run}`,
        sourceFormat: 'json',
        table: table(['a', 'z'], [[1, 2]]),
      });
      const res = await request(api, 'POST', `/api/v1/models/${kmeans}/batch-predict`, {
        datasetId: only.dataset.id,
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error).to.include({ field: 'datasetId', code: 'dataset_columns_mismatch' });
      expect(res.body.error.message).to.match(/has no column "b"/);
      const text = await request(api, 'POST', '/api/v1/datasets', { data: [{ a: 1, b: 'x' }] });
      const textRes = await request(api, 'POST', `/api/v1/models/${kmeans}/batch-predict`, { datasetId: text.body.id });
      expect(textRes.status).to.equal(400);
      expect(textRes.body.error.message).to.match(/holds text in "b"/);
    });

    it("the same check reads a trained MLP's columns from its artifact header", async () => {
      await initComputeBackend();
      const rows = Array.from({ length: 24 }, (_, i) => [i % 5, (i * 3) % 7, 2 * (i % 5) + (i % 7)]);
      const fitted = await train({
        table: table(['a', 'b', 'y'], rows),
        target: 'y',
        spec: { task: 'regression', layers: [{ units: 3, activation: 'relu' }] },
        options: { epochs: 1, batchSize: 8, learningRate: 0.01 },
      });
      const trained = await loadTrainedModel(fitted.model);
      const content = await saveTrainedModel(trained.model, trained.preprocessor, trained.spec);
      trained.dispose();
      const mlp = `answers-mlp-${run}`;
      const { dataset } = await createDataset(stack.pool, {
        tenantId: DEFAULT_TENANT,
        name: `answers-mlp-${run}`,
        sourceFormat: 'json',
        table: table(['a', 'b', 'y'], rows),
      });
      await register(mlp, 'mlp-regression', content, dataset.id, dataset.sha256);
      const lacking = await createDataset(stack.pool, {
        tenantId: DEFAULT_TENANT,
        name: `answers-mlp-a-${run}`,
        sourceFormat: 'json',
        table: table(['a'], [[1]]),
      });
      const bad = await request(api, 'POST', `/api/v1/models/${mlp}/batch-predict`, { datasetId: lacking.dataset.id });
      expect([bad.status, bad.body.error?.field]).to.deep.equal([400, 'datasetId']);
      const good = await request(api, 'POST', `/api/v1/models/${mlp}/batch-predict`, { datasetId: dataset.id });
      expect(good.status, JSON.stringify(good.body)).to.equal(202);
      started.push(good.body.jobId);
    });
  });

  describe('request bodies', () => {
    it('a body that is not JSON is invalid_json, not an unknown field', async () => {
      for (const body of ['{"a":', '{"nmae": "x", garbage', '{"data": [[1], [null]], ']) {
        const res = await request(api, 'POST', '/api/v1/datasets', body, { 'content-type': 'application/json' });
        expect(res.status, body).to.equal(400);
        expect(res.body.error, body).to.include({ code: 'invalid_json', field: 'body' });
        expect(res.body.error.message, body).to.match(/not valid JSON/);
      }
      const unknown = await request(api, 'POST', '/api/v1/datasets', { a: 1, data: [[1]] });
      expect(unknown.body.error).to.include({ field: 'a' });
      expect(unknown.body.error.message).to.match(/unknown field "a"/);
    });

    it('an unknown key names itself as the field (PATCH models and versions, nested objects)', async () => {
      const name = `answers-patch-${run}`;
      const created = await request(api, 'POST', '/api/v1/models', { name });
      expect(created.status).to.equal(201);
      const model = await request(api, 'PATCH', `/api/v1/models/${name}`, { name: 'other', description: 'x' });
      expect(model.status).to.equal(400);
      expect(model.body.error).to.include({ field: 'name', code: 'unknown_field' });
      expect(model.body.error.message).to.match(/^name: unknown field "name"/);
      const version = await request(api, 'PATCH', `/api/v1/models/answers-kmeans-${run}/versions/1`, { metrics: {} });
      expect(version.status).to.equal(400);
      expect(version.body.error).to.include({ field: 'metrics', code: 'unknown_field' });
      const nested = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 1, eps: 2 },
        data: [[1]],
      });
      expect(nested.body.error).to.include({ field: 'params.eps', code: 'unknown_field' });
    });
  });

  it('the clustering result says where it ran, as the job summary does (ranOn, fellBackToCpu)', async () => {
    await withWorker(stack, async () => {
      const res = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 2 },
        data: [[0], [1], [10], [11]],
        resources: { accelerator: 'any' },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      const result = await request(api, 'GET', `/api/v1/jobs/${res.body.jobId}/result?wait=60`);
      expect(result.status, JSON.stringify(result.body)).to.equal(200);
      const job = await request(api, 'GET', `/api/v1/jobs/${res.body.jobId}`);
      expect(result.body.ranOn).to.deep.equal(job.body.result.ranOn);
      expect(result.body.ranOn).to.include({ pool: 'cpu', taskQueue: 'kiln-cpu' });
      expect(result.body.fellBackToCpu).to.equal(false);
    });
  });

  describe('training attempts', () => {
    it('lists every attempt, those that failed before their first heartbeat too, while it runs and in its result', async () => {
      const temporal = { env: stack.env, workflowBundle: stack.workflowBundle };
      const queue = uniqueQueue('attempts');
      const recorder = new ActivityRecorder();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const worker = await workflowWorker(
        temporal,
        queue,
        mockActivities(recorder, {
          async trainModel(job: TrainingJobInput) {
            const ctx = Context.current();
            recorder.record('trainModel', job);
            // Attempt 1 dies before it heartbeats (its dataset did not load, say); attempt 2 trains.
            if (ctx.info.attempt === 1) throw new Error('connection reset while loading the dataset');
            const beat: TrainingHeartbeat = {
              stage: 'training',
              epoch: 1,
              epochs: 3,
              attempts: [{ attempt: ctx.info.attempt, resumedFromEpoch: 0 }],
            };
            ctx.heartbeat(beat);
            await released;
            return { ...trainingSummaryFor(job, queue), attempts: beat.attempts };
          },
        }),
      );
      const jobId = `training-${randomUUID()}`;
      await worker.runUntil(async () => {
        const handle = await stack.env.client.workflow.start(trainingWorkflow, {
          args: [trainingInput({ model: { name: `attempts-${run}` } })],
          taskQueue: queue,
          workflowId: jobId,
        });
        const running = await eventually(
          () => request(api, 'GET', `/api/v1/jobs/${jobId}`),
          (res) => res.body.progress?.epoch === 1,
          30_000,
        );
        expect(running.body.progress.attempts).to.deep.equal([
          { attempt: 1, heartbeat: false, failedBeforeHeartbeat: true },
          { attempt: 2, resumedFromEpoch: 0 },
        ]);
        release();
        await handle.result();
      });
      const done = await request(api, 'GET', `/api/v1/jobs/${jobId}`);
      expect(done.body.status).to.equal('COMPLETED');
      expect(done.body.result.attempts).to.deep.equal([
        { attempt: 1, heartbeat: false, failedBeforeHeartbeat: true },
        { attempt: 2, resumedFromEpoch: 0 },
      ]);
    });

    it('completeAttempts: gaps before the latest failed before their heartbeat; the latest may not have one yet', () => {
      expect(completeAttempts(undefined, 2)).to.deep.equal([
        { attempt: 1, heartbeat: false, failedBeforeHeartbeat: true },
        { attempt: 2, heartbeat: false },
      ]);
      expect(completeAttempts([{ attempt: 1, resumedFromEpoch: 0 }], 1)).to.deep.equal([
        { attempt: 1, resumedFromEpoch: 0 },
      ]);
      expect(
        completeAttempts(
          [
            { attempt: 1, resumedFromEpoch: 0 },
            { attempt: 3, resumedFromEpoch: 4 },
          ],
          4,
        ),
      ).to.deep.equal([
        { attempt: 1, resumedFromEpoch: 0 },
        { attempt: 2, heartbeat: false, failedBeforeHeartbeat: true },
        { attempt: 3, resumedFromEpoch: 4 },
        { attempt: 4, heartbeat: false },
      ]);
    });
  });
});
