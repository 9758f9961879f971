import { expect } from 'chai';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, field?: string, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.message).to.be.a('string').and.not.equal('');
  if (field !== undefined) expect(res.body.error.field).to.equal(field);
  if (code !== undefined) expect(res.body.error.code).to.equal(code);
}

const POINTS = [
  [0, 0],
  [1, 1],
  [2, 2],
  [3, 3],
];

describe('bad input gets a clear 4xx JSON error naming the field', function () {
  let api: TestApi;
  let datasetId: string;

  before(async function () {
    this.timeout(300_000);
    const stack = await getTestStack();
    // Small limits so the oversize cases are cheap; the defaults are documented in the README.
    api = await startTestApi(
      stack,
      { maxBodyBytes: 8192, maxRows: 50, maxColumns: 4, maxCells: 150 },
      { maxTrainingBodyBytes: 2048, maxPredictBodyBytes: 2048, maxBatchPredictBodyBytes: 1024 },
    );
    const upload = await request(api, 'POST', '/api/v1/datasets', {
      name: 'errors',
      data: [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ],
    });
    expect(upload.status).to.equal(201);
    datasetId = upload.body.id;
  });
  after(async () => api?.close());

  describe('POST /api/v1/clustering', () => {
    const post = (body: unknown, headers?: Record<string, string>) =>
      request(api, 'POST', '/api/v1/clustering', body, headers);

    it('invalid JSON', async () =>
      expectError(await post('{"algorithm": ', { 'content-type': 'application/json' }), 400, 'body', 'invalid_json'));
    it('wrong content type', async () =>
      expectError(await post('algorithm=kmeans', { 'content-type': 'text/plain' }), 415, 'content-type'));
    it('missing algorithm', async () => expectError(await post({ params: { k: 2 }, data: POINTS }), 400, 'algorithm'));
    it('unknown algorithm', async () =>
      expectError(
        await post({ algorithm: 'kmedoids', params: { k: 2 }, data: POINTS }),
        400,
        'algorithm',
        'unknown_algorithm',
      ));
    it('missing params', async () => expectError(await post({ algorithm: 'kmeans', data: POINTS }), 400, 'params'));
    it('missing k', async () =>
      expectError(await post({ algorithm: 'kmeans', params: {}, data: POINTS }), 400, 'params.k'));
    it('mistyped k', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: '2' }, data: POINTS }), 400, 'params.k'));
    it('k < 1', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 0 }, data: POINTS }), 400, 'params.k'));
    it('k not an integer', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 1.5 }, data: POINTS }), 400, 'params.k'));
    it('k > rows', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 5 }, data: POINTS }), 400, 'params.k'));
    it('unknown parameter', async () =>
      expectError(
        await post({ algorithm: 'kmeans', params: { k: 2, eps: 1 }, data: POINTS }),
        400,
        'params.eps',
        'unknown_field',
      ));
    it('maxIterations out of range', async () =>
      expectError(
        await post({ algorithm: 'kmeans', params: { k: 2, maxIterations: 0 }, data: POINTS }),
        400,
        'params.maxIterations',
      ));
    it('neither data nor datasetId', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 2 } }), 400, 'datasetId'));
    it('both data and datasetId', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 2 }, data: POINTS, datasetId }), 400, 'data'));
    it('data not an array', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 2 }, data: 'x' }), 400, 'data'));
    it('empty data', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 1 }, data: [] }), 400, 'data'));
    it('ragged rows', async () => {
      const res = await post({ algorithm: 'kmeans', params: { k: 1 }, data: [[1, 2], [3]] });
      expectError(res, 400);
      expect(res.body.error.field).to.match(/^data/);
    });
    it('non-numeric cell', async () => {
      const res = await post({
        algorithm: 'kmeans',
        params: { k: 1 },
        data: [
          [1, 2],
          [3, null],
        ],
      });
      expectError(res, 400);
      expect(res.body.error.field).to.match(/^data\[1\]/);
    });
    it('a text column', async () =>
      expectError(
        await post({
          algorithm: 'kmeans',
          params: { k: 1 },
          data: [
            [1, 'a'],
            [2, 'b'],
          ],
        }),
        400,
        'data',
      ));
    it('a text column of a stored dataset', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 1 }, datasetId }), 400, 'columns'));
    it('an unknown column', async () =>
      expectError(
        await post({ algorithm: 'kmeans', params: { k: 1 }, datasetId, columns: ['x0', 'nope'] }),
        400,
        'columns[1]',
      ));
    it('too many rows', async () => {
      const rows = Array.from({ length: 51 }, (_, i) => [i, i]);
      const res = await post({ algorithm: 'kmeans', params: { k: 2 }, data: rows });
      expectError(res, 413);
      expect(res.body.error.message).to.match(/50/);
    });
    it('too many columns', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 1 }, data: [[1, 2, 3, 4, 5]] }), 413));
    it('oversized body', async () => {
      const res = await post({ algorithm: 'kmeans', params: { k: 2 }, data: POINTS, pad: 'x'.repeat(10_000) });
      expectError(res, 413);
    });
    it('unknown dataset id', async () =>
      expectError(
        await post({ algorithm: 'kmeans', params: { k: 1 }, datasetId: '00000000-0000-4000-8000-000000000000' }),
        404,
        'datasetId',
      ));
    it('a dataset id that is not a UUID', async () =>
      expectError(await post({ algorithm: 'kmeans', params: { k: 1 }, datasetId: 'abc' }), 400, 'datasetId'));
    it('an invalid model name to register', async () =>
      expectError(
        await post({ algorithm: 'kmeans', params: { k: 1 }, data: POINTS, register: { name: '../etc' } }),
        400,
        'register.name',
      ));
  });

  describe('POST /api/v1/datasets', () => {
    it('wrong content type', async () =>
      expectError(
        await request(api, 'POST', '/api/v1/datasets', 'hello', { 'content-type': 'text/plain' }),
        415,
        'content-type',
      ));
    it('invalid JSON', async () =>
      expectError(
        await request(api, 'POST', '/api/v1/datasets', '{"data": [[1,', { 'content-type': 'application/json' }),
        400,
        'body',
        'invalid_json',
      ));
    it('a JSON body that is not an object', async () =>
      expectError(
        await request(api, 'POST', '/api/v1/datasets', '[[1, 2]]', { 'content-type': 'application/json' }),
        400,
      ));
    it('missing data', async () =>
      expectError(await request(api, 'POST', '/api/v1/datasets', { name: 'x' }), 400, 'data'));
    it('NaN in CSV', async () => {
      const res = await request(api, 'POST', '/api/v1/datasets?name=bad', 'a,b\n1,2\n3,NaN\n', {
        'content-type': 'text/csv',
      });
      expectError(res, 400);
      expect(res.body.error.message).to.match(/NaN|finite/i);
    });
    it('Infinity in NDJSON', async () => {
      const res = await request(api, 'POST', '/api/v1/datasets', '[1,2]\n[3,1e999]\n', {
        'content-type': 'application/x-ndjson',
      });
      expectError(res, 400);
    });
    it('ragged CSV', async () =>
      expectError(
        await request(api, 'POST', '/api/v1/datasets', 'a,b\n1,2\n3\n', { 'content-type': 'text/csv' }),
        400,
      ));
    it('too many CSV rows, refused while streaming', async () => {
      const csv = 'a,b\n' + Array.from({ length: 60 }, (_, i) => `${i},${i}`).join('\n');
      expectError(await request(api, 'POST', '/api/v1/datasets', csv, { 'content-type': 'text/csv' }), 413);
    });
    it('oversized CSV body', async () => {
      const csv = 'a\n' + '1\n'.repeat(5000);
      expectError(await request(api, 'POST', '/api/v1/datasets', csv, { 'content-type': 'text/csv' }), 413);
    });
    it('a name that is too long', async () =>
      expectError(
        await request(api, 'POST', `/api/v1/datasets?name=${'n'.repeat(201)}`, 'a\n1\n', {
          'content-type': 'text/csv',
        }),
        400,
        'query.name',
      ));
    it('unknown dataset', async () =>
      expectError(await request(api, 'GET', '/api/v1/datasets/00000000-0000-4000-8000-000000000000'), 404, 'id'));
    it('malformed dataset id', async () =>
      expectError(await request(api, 'GET', '/api/v1/datasets/not-an-id'), 404, 'id'));
  });

  describe('JSON bodies past their configured limits', () => {
    const pad = 'x'.repeat(4096);
    it('training', async () => expectError(await request(api, 'POST', '/api/v1/training', { pad }), 413, 'body'));
    it('online predict', async () =>
      expectError(await request(api, 'POST', '/api/v1/models/any/predict', { inputs: [[1]], pad }), 413, 'body'));
    it('batch predict', async () =>
      expectError(await request(api, 'POST', '/api/v1/models/any/batch-predict', { datasetId, pad }), 413, 'body'));
  });

  describe('jobs, artifacts and routing', () => {
    it('unknown job', async () =>
      expectError(
        await request(api, 'GET', '/api/v1/jobs/clustering-00000000-0000-4000-8000-000000000000'),
        404,
        'jobId',
      ));
    it('malformed job id', async () =>
      expectError(await request(api, 'GET', '/api/v1/jobs/%27%3B%20drop'), 404, 'jobId'));
    it('unknown job result', async () =>
      expectError(
        await request(api, 'GET', '/api/v1/jobs/clustering-00000000-0000-4000-8000-000000000000/result'),
        404,
        'jobId',
      ));
    it('cancel of an unknown job', async () =>
      expectError(
        await request(api, 'POST', '/api/v1/jobs/clustering-00000000-0000-4000-8000-000000000000/cancel'),
        404,
        'jobId',
      ));
    it('bad list filter', async () =>
      expectError(await request(api, 'GET', '/api/v1/jobs?status=DONE'), 400, 'query.status'));
    it('bad wait', async () =>
      expectError(
        await request(api, 'GET', '/api/v1/jobs/clustering-00000000-0000-4000-8000-000000000000/result?wait=999'),
        400,
        'query.wait',
      ));
    it('unknown artifact', async () =>
      expectError(await request(api, 'GET', '/api/v1/artifacts/00000000-0000-4000-8000-000000000000'), 404, 'id'));
    it('unknown model', async () =>
      expectError(await request(api, 'GET', '/api/v1/models/no-such-model/versions'), 404, 'name'));
    it('malformed model name', async () =>
      expectError(await request(api, 'GET', '/api/v1/models/-bad!/versions'), 400, 'name'));
    it('malformed model version', async () =>
      expectError(await request(api, 'GET', '/api/v1/models/m/versions/first'), 400, 'version'));
    it('malformed percent-encoding in a path', async () => {
      const res = await request(api, 'GET', '/api/v1/jobs/%E0%A4%A');
      expect(res.status).to.be.within(400, 499);
      expect(res.body.error.code).to.be.a('string');
    });
    it('unknown route', async () =>
      expectError(await request(api, 'GET', '/api/v1/nothing-here'), 404, undefined, 'not_found'));
    it('wrong method', async () =>
      expectError(await request(api, 'DELETE', '/api/v1/clustering'), 405, undefined, 'method_not_allowed'));
    it('seed alias with an unknown algorithm', async () =>
      expectError(
        await request(api, 'POST', '/api/cluster/nope', { data: POINTS, params: { k: 1 } }),
        400,
        'algorithm',
        'unknown_algorithm',
      ));
  });
});
