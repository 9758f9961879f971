import { expect } from 'chai';
import { CoalescedLookup } from '../../api/services/coalesced-lookup';
import { resolvePredictTarget, resolvePredictVersion } from '../../api/services/model-version';
import { DomainError } from '../../common/errors';
import { PredictTarget } from '../../db/predict-target';
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

  /** Runs fn against an API whose online predict gathers for up to a second (batches form) or never batches. */
  async function withApi<T>(windowMs: number, maxRows: number, fn: (other: TestApi) => Promise<T>): Promise<T> {
    const other = await startTestApi(stack, {}, {}, { predictBatching: { windowMs, maxRows } });
    try {
      return await fn(other);
    } finally {
      await other.close();
    }
  }

  /** [batches, requests] from the API's kiln_predict_batch_requests histogram. */
  async function batchCounts(other: TestApi): Promise<[number, number]> {
    const text = (await request(other, 'GET', '/metrics')).body as string;
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return [read('kiln_predict_batch_requests_count'), read('kiln_predict_batch_requests_sum')];
  }

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

  describe('concurrent requests (micro-batching)', () => {
    /** Request i: rows from a window over the training points, 1 to 7 rows, version 1 or 2 or the default. */
    const bodies = Array.from({ length: 24 }, (_, i) => {
      const start = (i * 7) % (blobs.points.length - 7);
      const inputs = blobs.points.slice(start, start + 1 + (i % 7));
      return i % 3 === 0 ? { inputs } : { inputs, version: 1 + (i % 2) };
    });

    it('each request gets exactly its own predictions, identical to unbatched ones, across two versions', async () => {
      await request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: 2 });
      // The reference: one request at a time, on an API that never batches.
      const expected = await withApi(1000, 1, async (unbatched) => {
        const out = [];
        for (const body of bodies) out.push((await predict(body)).body);
        const alone = await Promise.all(
          bodies.map((body) => request(unbatched, 'POST', '/api/v1/models/predictor/predict', body)),
        );
        expect(alone.map((r) => r.body)).to.deep.equal(out);
        const [batches, requests] = await batchCounts(unbatched);
        expect(batches).to.equal(requests);
        return out;
      });
      await withApi(1000, 256, async (batched) => {
        const got = await Promise.all(
          bodies.map((body) => request(batched, 'POST', '/api/v1/models/predictor/predict', body)),
        );
        got.forEach((res, i) => {
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(res.body, `request ${i}`).to.deep.equal(expected[i]);
          expect(res.body.labels).to.have.length(bodies[i].inputs.length);
        });
        const [batches, requests] = await batchCounts(batched);
        expect(requests).to.equal(bodies.length);
        expect(batches, 'some model call answered several requests').to.be.below(requests);
      });
    });

    it('a bad request among good ones fails alone with a 4xx naming its field', async () => {
      await withApi(1000, 256, async (batched) => {
        const bad = [
          { body: { inputs: [[1, 'a']] }, field: 'inputs[0][1]' },
          {
            body: {
              inputs: [
                [0, 0],
                [1, 2, 3],
              ],
            },
            field: 'inputs[1]',
          },
          { body: { inputs: [{ x0: 1, colour: 2, x1: 0 }] }, field: 'inputs[0].colour' },
          { body: { inputs: [[0, 0]], version: 9 }, field: 'version', status: 404 },
        ];
        const good = bodies.slice(0, 12);
        const all = await Promise.all(
          [...good.slice(0, 6), ...bad.map((b) => b.body), ...good.slice(6)].map((body) =>
            request(batched, 'POST', '/api/v1/models/predictor/predict', body),
          ),
        );
        const goodAnswers = [...all.slice(0, 6), ...all.slice(6 + bad.length)];
        for (const [i, res] of goodAnswers.entries()) {
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          expect(res.body).to.deep.equal((await predict(good[i])).body);
        }
        bad.forEach((b, i) => expectError(all[6 + i], b.status ?? 400, b.field));
      });
    });

    it('moving the alias while requests are in flight: each answer is one version throughout, later ones the new', async () => {
      await request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: 1 });
      await withApi(1000, 256, async (batched) => {
        const send = () =>
          Promise.all(
            bodies.map(({ inputs }) =>
              request(batched, 'POST', '/api/v1/models/predictor/predict', { inputs, alias: 'champion' }),
            ),
          );
        const [during, moved] = await Promise.all([
          send(),
          request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: 2 }),
        ]);
        expect(moved.status).to.equal(200);
        const after = await send();
        for (const [i, res] of [...during, ...after].entries()) {
          expect(res.status).to.equal(200);
          const body = bodies[i % bodies.length];
          expect(res.body.labels, `answer ${i} (v${res.body.version})`).to.deep.equal(
            (await predict({ inputs: body.inputs, version: res.body.version })).body.labels,
          );
        }
        expect(after.map((r) => r.body.version)).to.deep.equal(bodies.map(() => 2));
      });
    });

    it('the one-query version lookup answers exactly as resolvePredictVersion does', async () => {
      const lookups = new CoalescedLookup<PredictTarget>();
      const outcome = async <T extends { id: string; version: number }>(p: Promise<T>) =>
        p.then(
          (v) => ({ id: v.id, version: v.version }),
          (err: DomainError) => ({ code: err.code, field: err.field, message: err.message }),
        );
      const choices: Array<[string, number | undefined, string | undefined]> = [
        ['predictor', undefined, undefined],
        ['predictor', 1, undefined],
        ['predictor', 2, undefined],
        ['predictor', 3, undefined],
        ['predictor', undefined, 'champion'],
        ['predictor', undefined, 'nope'],
        ['no-such-model', undefined, undefined],
        ['no-such-model', 1, undefined],
        ['no-such-model', undefined, 'champion'],
      ];
      for (const champion of [1, undefined]) {
        if (champion) await request(api, 'PUT', '/api/v1/models/predictor/aliases/champion', { version: champion });
        else
          expect((await request(api, 'DELETE', '/api/v1/models/predictor/aliases/champion')).status).to.be.below(300);
        for (const [name, version, alias] of choices) {
          const where = `${name} v${version} @${alias} (champion: ${champion})`;
          const expected = await outcome(resolvePredictVersion(stack.pool, 'default', name, version, alias));
          expect(
            await outcome(resolvePredictTarget(stack.pool, lookups, 'default', name, version, alias)),
            where,
          ).to.deep.equal(expected);
        }
      }
      // No champion now: the default is the latest version.
      expect((await predict({ inputs: [[0, 0]] })).body.version).to.equal(2);
    });
  });
});
