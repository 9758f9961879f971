import { expect } from 'chai';
import { DEFAULT_TENANT } from '../../common/tenant';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { registerModelVersion } from '../../db/registry';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { SAFE_FREE_TEXT, UNSTORABLE } from '../support/unsafe-names';

/** A 400 `invalid_request` naming `field`, saying what was found at index 1 (every UNSTORABLE sample has it there). */
function expectRefused(res: JsonResponse, field: string, what: string): void {
  const seen = `${what}: ${res.status} ${JSON.stringify(res.body)}`;
  expect(res.status, seen).to.equal(400);
  expect(res.body.error.code, seen).to.equal('invalid_request');
  expect(res.body.error.field, seen).to.equal(field);
  expect(res.body.error.message, seen).to.match(/must not contain NUL or a lone surrogate .*at index 1/);
}

/** `?name=` with NUL as `%00` (encodeURIComponent throws on a lone surrogate, which a URL cannot carry anyway). */
const query = (s: string) => s.split('\u0000').join('%00');

/**
 * Text Postgres cannot store (NUL, lone surrogates) in every free-text field a request can carry: a 400 naming the
 * field, never a 500 (as before) nor a silently mangled value (a lone surrogate stored as U+FFFD), and nothing stored;
 * newlines and emoji still accepted.
 */
describe('free text Postgres cannot store: NUL and lone surrogates are a 400 naming the field', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;
  const schedules: string[] = [];

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const { dataset } = await createDataset(stack.pool, {
      tenantId: DEFAULT_TENANT,
      name: 'unstorable-text',
      sourceFormat: 'json',
      table: {
        columns: [
          { name: 'x', type: 'number' },
          { name: 'y', type: 'number' },
        ],
        rows: 3,
        values: new Float64Array([1, 2, 3, 4, 5, 6]),
      },
    });
    datasetId = dataset.id;
  });
  after(async () => {
    for (const id of schedules) await request(api, 'DELETE', `/api/v1/schedules/${id}`);
    await api?.close();
  });

  it('models: description and tag values on create, change and version change', async () => {
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'application/json',
      content: Buffer.from('{"centroids":[[1.5]]}'),
    });
    await registerModelVersion(stack.pool, {
      tenantId: DEFAULT_TENANT,
      modelName: 'unstorable-model',
      flavor: 'kmeans',
      params: { k: 1 },
      metrics: { inertia: 0.5 },
      artifactId: artifact.id,
      datasetId,
      datasetSha256: 'a'.repeat(64),
      sourceRunId: 'run-1',
      sourceWorkflowId: 'wf-unstorable',
      actor: 'job:wf-unstorable',
      backend: 'cpu',
    });
    for (const [what, bad] of Object.entries(UNSTORABLE)) {
      const post = (body: object) => request(api, 'POST', '/api/v1/models', { name: 'unstorable-new', ...body });
      expectRefused(await post({ description: bad }), 'description', `POST description ${what}`);
      expectRefused(await post({ tags: { team: bad } }), 'tags.team', `POST tag ${what}`);
      const patch = (path: string, body: object) =>
        request(api, 'PATCH', `/api/v1/models/unstorable-model${path}`, body);
      expectRefused(await patch('', { description: bad }), 'description', `PATCH description ${what}`);
      expectRefused(await patch('', { tags: { team: bad } }), 'tags.team', `PATCH tag ${what}`);
      expectRefused(await patch('/versions/1', { description: bad }), 'description', `version description ${what}`);
      expectRefused(await patch('/versions/1', { tags: { team: bad } }), 'tags.team', `version tag ${what}`);
    }
    const { rows } = await stack.pool.query('SELECT count(*)::int AS n FROM models WHERE name = $1', [
      'unstorable-new',
    ]);
    expect(rows[0].n).to.equal(0);

    const created = await request(api, 'POST', '/api/v1/models', {
      name: 'unstorable-new',
      description: SAFE_FREE_TEXT,
      tags: { team: SAFE_FREE_TEXT },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect([created.body.description, created.body.tags.team]).to.deep.equal([SAFE_FREE_TEXT, SAFE_FREE_TEXT]);
    const changed = await request(api, 'PATCH', '/api/v1/models/unstorable-model/versions/1', {
      description: `${SAFE_FREE_TEXT}\nv1`,
    });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    expect(changed.body.description).to.equal(`${SAFE_FREE_TEXT}\nv1`);
  });

  it('dataset uploads: the name (body or ?name=), a cell or a column name, in JSON, NDJSON and CSV', async () => {
    const upload = (body: unknown, contentType = 'application/json', path = '/api/v1/datasets') =>
      request(api, 'POST', path, body, { 'content-type': contentType });
    for (const [what, bad] of Object.entries(UNSTORABLE)) {
      expectRefused(await upload({ name: bad, data: [[1]] }), 'name', `name ${what}`);
      expectRefused(
        await upload({
          data: [
            [1, 'ok'],
            [2, bad],
          ],
        }),
        'data[1][1]',
        `cell ${what}`,
      );
      expectRefused(await upload({ data: [{ [bad]: 1 }] }), `data[0][${JSON.stringify(bad)}]`, `column ${what}`);
      const ndjson = `${JSON.stringify(['ok'])}\n${JSON.stringify([bad])}\n`;
      expectRefused(await upload(ndjson, 'application/x-ndjson'), 'line 2[0]', `NDJSON cell ${what}`);
      // The inline data of a clustering request, and the seed services' alias, go through the same parser.
      const inline = { algorithm: 'kmeans', params: { k: 1 }, data: [[1, bad]] };
      expectRefused(await upload(inline, 'application/json', '/api/v1/clustering'), 'data[0][1]', `inline ${what}`);
      const seed = { data: [[1, bad]], params: { k: 1 } };
      expectRefused(await upload(seed, 'application/json', '/api/cluster/kmeans'), 'data[0][1]', `seed ${what}`);
    }
    const nul = UNSTORABLE.nul;
    expectRefused(
      await upload({ data: [[1]] }, 'application/json', `/api/v1/datasets?name=${query(nul)}`),
      'query.name',
      'query name',
    );
    expectRefused(await request(api, 'GET', `/api/v1/datasets?name=${query(nul)}`), 'query.name', 'GET ?name=');
    expectRefused(await upload(`x,s\n1,ok\n2,${nul}\n`, 'text/csv'), 'row 3, column "s"', 'CSV cell');
    expectRefused(await upload(`x,${nul}\n1,2\n`, 'text/csv'), 'column "a\\u0000b"', 'CSV header');
    const { rows } = await stack.pool.query(
      'SELECT count(*)::int AS n FROM datasets WHERE position(chr(65533) IN name) > 0',
    );
    expect(rows[0].n, 'nothing stored, no name mangled to U+FFFD').to.equal(0);

    const kept = await upload({ name: SAFE_FREE_TEXT, data: [{ [SAFE_FREE_TEXT]: SAFE_FREE_TEXT }] });
    expect(kept.status, JSON.stringify(kept.body)).to.equal(201);
    expect(kept.body.name).to.equal(SAFE_FREE_TEXT);
    expect(kept.body.columnSpecs).to.deep.equal([{ name: SAFE_FREE_TEXT, type: 'string', levels: 1 }]);
  });

  it('schedules: description and note on create and change, pause and unpause notes', async () => {
    const action = { kind: 'pipeline-validation', request: { datasetId } };
    const spec = { intervals: [{ every: '1h' }] };
    const id = 'unstorable-schedule';
    const created = await request(api, 'POST', '/api/v1/schedules', { id, action, spec, paused: true });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    schedules.push(id);
    for (const [what, bad] of Object.entries(UNSTORABLE)) {
      const create = (body: object) =>
        request(api, 'POST', '/api/v1/schedules', { id: 'unstorable-other', action, spec, paused: true, ...body });
      expectRefused(await create({ description: bad }), 'description', `POST description ${what}`);
      expectRefused(await create({ note: bad }), 'note', `POST note ${what}`);
      const path = `/api/v1/schedules/${id}`;
      expectRefused(await request(api, 'PATCH', path, { description: bad }), 'description', `PATCH desc ${what}`);
      expectRefused(await request(api, 'PATCH', path, { note: bad }), 'note', `PATCH note ${what}`);
      expectRefused(await request(api, 'POST', `${path}/pause`, { note: bad }), 'note', `pause ${what}`);
      expectRefused(await request(api, 'POST', `${path}/unpause`, { note: bad }), 'note', `unpause ${what}`);
    }
    expect((await request(api, 'GET', '/api/v1/schedules/unstorable-other')).status).to.equal(404);
    const changed = await request(api, 'PATCH', `/api/v1/schedules/${id}`, { description: SAFE_FREE_TEXT });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    expect(changed.body.description).to.equal(SAFE_FREE_TEXT);
    const paused = await request(api, 'POST', `/api/v1/schedules/${id}/pause`, { note: SAFE_FREE_TEXT });
    expect(paused.status, JSON.stringify(paused.body)).to.equal(200);
  });

  it('jobs and pipelines: a dataset ref name, a target, a decision comment', async () => {
    for (const [what, bad] of Object.entries(UNSTORABLE)) {
      const validation = await request(api, 'POST', '/api/v1/pipelines/validation', { dataset: { name: bad } });
      expectRefused(validation, 'dataset.name', `dataset ref ${what}`);
      const target = await request(api, 'POST', '/api/v1/pipelines/validation', { datasetId, target: bad });
      expectRefused(target, 'target', `target ${what}`);
      const decision = await request(api, 'POST', '/api/v1/pipelines/pipeline-full-none/decision', {
        decision: 'approve',
        comment: bad,
      });
      expectRefused(decision, 'comment', `decision comment ${what}`);
    }
  });
});
