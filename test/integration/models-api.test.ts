import { expect } from 'chai';
import { parseApiKey } from '../../db/api-keys';
import { DEFAULT_TENANT } from '../../common/tenant';
import { putArtifact } from '../../db/artifacts';
import { createDataset } from '../../db/datasets';
import { NewModelVersion, registerModelVersion } from '../../db/registry';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, field?: string, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.message).to.be.a('string').and.not.equal('');
  if (field !== undefined) expect(res.body.error.field, JSON.stringify(res.body)).to.equal(field);
  if (code !== undefined) expect(res.body.error.code, JSON.stringify(res.body)).to.equal(code);
}

function expectStatus(res: JsonResponse, status: number): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
}

describe('model registry API (models, versions, aliases, audit trail)', function () {
  let stack: TestStack;
  let api: TestApi;
  let base: Omit<NewModelVersion, 'modelName' | 'sourceWorkflowId' | 'actor'>;
  let artifactId: string;
  let datasetId: string;
  /** The audit actor of this file's requests: the test API key's principal. */
  const callerId = () => `key:${parseApiKey(api.key)!.keyId}`;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    const { dataset } = await createDataset(stack.pool, {
      tenantId: DEFAULT_TENANT,
      name: 'models-api-test',
      sourceFormat: 'json',
      table: { columns: [{ name: 'x', type: 'number' }], rows: 3, values: new Float64Array([1, 2, 30]) },
    });
    const artifact = await putArtifact(stack.pool, {
      tenantId: DEFAULT_TENANT,
      kind: 'model',
      mediaType: 'application/json',
      content: Buffer.from('{"centroids":[[1.5],[30]]}'),
    });
    artifactId = artifact.id;
    datasetId = dataset.id;
    base = {
      tenantId: DEFAULT_TENANT,
      flavor: 'kmeans',
      params: { k: 2 },
      metrics: { inertia: 0.5 },
      artifactId: artifact.id,
      datasetId: dataset.id,
      datasetSha256: dataset.sha256,
      sourceRunId: 'run-1',
      backend: 'cpu',
    };
  });
  after(async () => api?.close());

  /** What a clustering job's activity does: register a version (creating the model on first use). */
  const registerByJob = (modelName: string, workflowId: string) =>
    registerModelVersion(stack.pool, {
      ...base,
      modelName,
      sourceWorkflowId: workflowId,
      actor: `job:${workflowId}`,
    });

  const events = async (name: string) => {
    const res = await request(api, 'GET', `/api/v1/models/${name}/events?limit=1000`);
    expectStatus(res, 200);
    return res.body.events as Array<{ id: number; action: string; actor: string; details: any; createdAt: string }>;
  };

  describe('models registered by jobs', () => {
    it('a version registered by a clustering job shows up through the API with lineage, artifact and trail', async () => {
      const { version } = await registerByJob('mapi-job', 'clustering-00000000-0000-4000-8000-00000000000a');
      expect(version.version).to.equal(1);

      const model = await request(api, 'GET', '/api/v1/models/mapi-job');
      expectStatus(model, 200);
      expect(model.body).to.include({ name: 'mapi-job', latestVersion: 1, versionCount: 1, description: null });
      expect(model.body.aliases).to.deep.equal({});
      expect(model.body.tags).to.deep.equal({});
      expect(model.body.links.versions).to.equal('/api/v1/models/mapi-job/versions');

      const versions = await request(api, 'GET', '/api/v1/models/mapi-job/versions');
      expectStatus(versions, 200);
      expect(versions.body.versions).to.have.length(1);
      const v1 = versions.body.versions[0];
      expect(v1).to.include({
        modelName: 'mapi-job',
        version: 1,
        status: 'READY',
        flavor: 'kmeans',
        artifactId,
        datasetId,
        backend: 'cpu',
      });
      expect(v1.aliases).to.deep.equal([]);
      expect(v1.links.artifact).to.equal(`/api/v1/artifacts/${artifactId}`);
      expect(v1.links.dataset).to.equal(`/api/v1/datasets/${datasetId}`);
      expect(v1.links.job).to.equal('/api/v1/jobs/clustering-00000000-0000-4000-8000-00000000000a');
      expect(v1.artifact).to.include({ id: artifactId, mediaType: 'application/json' });
      expect(v1.artifact.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(v1.artifact.sizeBytes).to.equal(Buffer.byteLength('{"centroids":[[1.5],[30]]}'));

      const one = await request(api, 'GET', '/api/v1/models/mapi-job/versions/1');
      expectStatus(one, 200);
      expect(one.body).to.deep.equal(v1);

      const bytes = await request(api, 'GET', v1.links.artifact);
      expectStatus(bytes, 200);
      expect(bytes.body).to.deep.equal({ centroids: [[1.5], [30]] });

      const listed = await request(api, 'GET', '/api/v1/models?limit=500');
      expectStatus(listed, 200);
      expect(listed.body.models.map((m: { name: string }) => m.name)).to.include('mapi-job');

      const trail = await events('mapi-job');
      expect(trail.map((e) => e.action)).to.deep.equal(['version_registered']);
      expect(trail[0].actor).to.equal('job:clustering-00000000-0000-4000-8000-00000000000a');
      expect(trail[0].details).to.include({
        version: 1,
        modelCreated: true,
        sourceWorkflowId: 'clustering-00000000-0000-4000-8000-00000000000a',
      });
    });
  });

  describe('models: create, read, update, list', () => {
    it('creates a model with description and tags, and refuses the same name again', async () => {
      const created = await request(api, 'POST', '/api/v1/models', {
        name: 'mapi-crud',
        description: 'first',
        tags: { team: 'ml', 'stage/env': 'dev' },
      });
      expectStatus(created, 201);
      expect(created.headers.get('location')).to.equal('/api/v1/models/mapi-crud');
      expect(created.body).to.include({
        name: 'mapi-crud',
        description: 'first',
        latestVersion: null,
        versionCount: 0,
      });
      expect(created.body.tags).to.deep.equal({ team: 'ml', 'stage/env': 'dev' });
      expect(created.body.aliases).to.deep.equal({});

      const again = await request(api, 'POST', '/api/v1/models', { name: 'mapi-crud' });
      expectError(again, 409, 'name', 'model_exists');

      const got = await request(api, 'GET', '/api/v1/models/mapi-crud');
      expectStatus(got, 200);
      expect(got.body).to.deep.equal(created.body);
    });

    it('PATCH changes the description and merges tags; a no-op writes no event', async () => {
      const patched = await request(api, 'PATCH', '/api/v1/models/mapi-crud', {
        description: 'second',
        tags: { team: 'research', owner: 'ada', 'stage/env': null },
      });
      expectStatus(patched, 200);
      expect(patched.body.description).to.equal('second');
      expect(patched.body.tags).to.deep.equal({ team: 'research', owner: 'ada' });
      expect(new Date(patched.body.updatedAt).getTime()).to.be.greaterThan(new Date(patched.body.createdAt).getTime());

      const cleared = await request(api, 'PATCH', '/api/v1/models/mapi-crud', { description: null });
      expectStatus(cleared, 200);
      expect(cleared.body.description).to.equal(null);
      expect(cleared.body.tags).to.deep.equal({ team: 'research', owner: 'ada' });

      const noop = await request(api, 'PATCH', '/api/v1/models/mapi-crud', { tags: { owner: 'ada', missing: null } });
      expectStatus(noop, 200);
      expect(noop.body.updatedAt).to.equal(cleared.body.updatedAt);

      const trail = await events('mapi-crud');
      expect(trail.map((e) => e.action)).to.deep.equal(['created', 'updated', 'updated']);
      for (const e of trail) expect(e.actor).to.equal(callerId());
      expect(trail[0].details).to.include({ description: 'first' });
      expect(trail[0].details.tags).to.deep.equal({ team: 'ml', 'stage/env': 'dev' });
      expect(trail[1].details.changes).to.deep.equal({
        description: { from: 'first', to: 'second' },
        tags: { set: { team: 'research', owner: 'ada' }, removed: ['stage/env'] },
      });
      expect(trail[2].details.changes).to.deep.equal({ description: { from: 'second', to: null } });
      expect(trail.map((e) => e.id)).to.deep.equal([...trail.map((e) => e.id)].sort((a, b) => a - b));
    });

    it('lists models most recently updated first, up to ?limit=', async () => {
      expectStatus(await request(api, 'POST', '/api/v1/models', { name: 'mapi-order-a' }), 201);
      expectStatus(await request(api, 'POST', '/api/v1/models', { name: 'mapi-order-b' }), 201);
      let listed = await request(api, 'GET', '/api/v1/models?limit=2');
      expectStatus(listed, 200);
      expect(listed.body.models.map((m: { name: string }) => m.name)).to.deep.equal(['mapi-order-b', 'mapi-order-a']);

      expectStatus(await request(api, 'PATCH', '/api/v1/models/mapi-order-a', { tags: { touched: 'yes' } }), 200);
      listed = await request(api, 'GET', '/api/v1/models?limit=2');
      expect(listed.body.models.map((m: { name: string }) => m.name)).to.deep.equal(['mapi-order-a', 'mapi-order-b']);
      expect(listed.body.models[0].tags).to.deep.equal({ touched: 'yes' });

      const all = await request(api, 'GET', '/api/v1/models');
      const times = all.body.models.map((m: { updatedAt: string }) => new Date(m.updatedAt).getTime());
      expect(times).to.deep.equal([...times].sort((a: number, b: number) => b - a));
    });
  });

  describe('versions', () => {
    before(async () => {
      await registerByJob('mapi-versions', 'wf-versions-1');
      await registerByJob('mapi-versions', 'wf-versions-2');
    });

    it('PATCH changes description, tags and status, audited', async () => {
      const res = await request(api, 'PATCH', '/api/v1/models/mapi-versions/versions/2', {
        description: 'validated on holdout',
        tags: { 'validation.score': '0.93' },
        status: 'FAILED_VALIDATION',
      });
      expectStatus(res, 200);
      expect(res.body).to.include({ version: 2, status: 'FAILED_VALIDATION', description: 'validated on holdout' });
      expect(res.body.tags).to.deep.equal({ 'validation.score': '0.93' });

      const archived = await request(api, 'PATCH', '/api/v1/models/mapi-versions/versions/2', {
        status: 'ARCHIVED',
        tags: { 'validation.score': null },
      });
      expectStatus(archived, 200);
      expect(archived.body).to.include({ status: 'ARCHIVED', description: 'validated on holdout' });
      expect(archived.body.tags).to.deep.equal({});

      const v1 = await request(api, 'GET', '/api/v1/models/mapi-versions/versions/1');
      expect(v1.body).to.include({ status: 'READY', description: null });

      const trail = await events('mapi-versions');
      expect(trail.map((e) => e.action)).to.deep.equal([
        'version_registered',
        'version_registered',
        'version_updated',
        'version_updated',
      ]);
      expect(trail[2].details).to.deep.equal({
        version: 2,
        changes: {
          description: { from: null, to: 'validated on holdout' },
          tags: { set: { 'validation.score': '0.93' } },
          status: { from: 'READY', to: 'FAILED_VALIDATION' },
        },
      });
      expect(trail[3].details.changes).to.deep.equal({
        tags: { removed: ['validation.score'] },
        status: { from: 'FAILED_VALIDATION', to: 'ARCHIVED' },
      });
      expect(trail[3].actor).to.equal(callerId());

      const model = await request(api, 'GET', '/api/v1/models/mapi-versions');
      expect(model.body.latestVersion).to.equal(2);
      expect(model.body.versionCount).to.equal(2);
    });
  });

  describe('aliases', () => {
    before(async () => {
      for (let i = 1; i <= 3; i++) await registerByJob('mapi-alias', `wf-alias-${i}`);
    });

    it('PUT creates then moves an alias; GET resolves it; DELETE removes it; all audited in order', async () => {
      const created = await request(api, 'PUT', '/api/v1/models/mapi-alias/aliases/champion', { version: 1 });
      expectStatus(created, 200);
      expect(created.body).to.include({ alias: 'champion', version: 1 });
      expect(created.body).not.to.have.property('previousVersion');

      const moved = await request(api, 'PUT', '/api/v1/models/mapi-alias/aliases/champion', { version: '2' });
      expectStatus(moved, 200);
      expect(moved.body).to.include({ alias: 'champion', version: 2, previousVersion: 1 });

      const same = await request(api, 'PUT', '/api/v1/models/mapi-alias/aliases/champion', { version: 2 });
      expectStatus(same, 200);
      expect(same.body).to.include({ version: 2, previousVersion: 2 });

      expectStatus(await request(api, 'PUT', '/api/v1/models/mapi-alias/aliases/challenger', { version: 3 }), 200);

      const resolved = await request(api, 'GET', '/api/v1/models/mapi-alias/aliases/champion');
      expectStatus(resolved, 200);
      expect(resolved.body).to.include({ alias: 'champion', modelName: 'mapi-alias', version: 2 });
      expect(resolved.body.aliases).to.deep.equal(['champion']);

      const latest = await request(api, 'GET', '/api/v1/models/mapi-alias/aliases/latest');
      expectStatus(latest, 200);
      expect(latest.body.version).to.equal(3);

      const model = await request(api, 'GET', '/api/v1/models/mapi-alias');
      expect(model.body.aliases).to.deep.equal({ champion: 2, challenger: 3 });
      expect(model.body.latestVersion).to.equal(3);

      const versions = await request(api, 'GET', '/api/v1/models/mapi-alias/versions');
      expect(versions.body.versions.map((v: { aliases: string[] }) => v.aliases)).to.deep.equal([
        [],
        ['champion'],
        ['challenger'],
      ]);

      const deleted = await request(api, 'DELETE', '/api/v1/models/mapi-alias/aliases/champion');
      expect(deleted.status).to.equal(204);
      expectError(await request(api, 'GET', '/api/v1/models/mapi-alias/aliases/champion'), 404, 'alias', 'not_found');
      expectError(await request(api, 'DELETE', '/api/v1/models/mapi-alias/aliases/champion'), 404, 'alias');
      const after = await request(api, 'GET', '/api/v1/models/mapi-alias');
      expect(after.body.aliases).to.deep.equal({ challenger: 3 });

      const trail = (await events('mapi-alias')).filter((e) => e.action !== 'version_registered');
      expect(trail.map((e) => [e.action, e.details])).to.deep.equal([
        ['alias_set', { alias: 'champion', version: 1 }],
        ['alias_set', { alias: 'champion', version: 2, previousVersion: 1 }],
        ['alias_set', { alias: 'challenger', version: 3 }],
        ['alias_deleted', { alias: 'champion', version: 2 }],
      ]);
      for (const e of trail) expect(e.actor).to.equal(callerId());
    });

    it('concurrent moves of one alias leave exactly one row and a consistent trail', async () => {
      const targets = [1, 2, 3, 1, 3, 2, 2, 1, 3, 1];
      const results = await Promise.all(
        targets.map((version) => request(api, 'PUT', '/api/v1/models/mapi-alias/aliases/prod', { version })),
      );
      for (const r of results) expectStatus(r, 200);

      const rows = await stack.pool.query(
        `SELECT v.version FROM model_aliases a JOIN models m ON m.id = a.model_id JOIN model_versions v ON v.id = a.version_id
         WHERE m.name = 'mapi-alias' AND a.alias = 'prod'`,
      );
      expect(rows.rows).to.have.length(1);

      const sets = (await events('mapi-alias')).filter((e) => e.action === 'alias_set' && e.details.alias === 'prod');
      // Every move that changed something is one event, each starting where the one before it ended.
      const changed = results.filter((r) => r.body.previousVersion !== r.body.version);
      expect(sets).to.have.length(changed.length);
      expect(sets[0].details).not.to.have.property('previousVersion');
      for (let i = 1; i < sets.length; i++)
        expect(sets[i].details.previousVersion).to.equal(sets[i - 1].details.version);
      expect(sets[sets.length - 1].details.version).to.equal(rows.rows[0].version);
      // Each response describes a transition that really happened (or a no-op on the current version).
      const transitions = sets.map((e) => `${e.details.previousVersion ?? '-'}->${e.details.version}`);
      for (const r of changed) expect(transitions).to.include(`${r.body.previousVersion ?? '-'}->${r.body.version}`);

      const resolved = await request(api, 'GET', '/api/v1/models/mapi-alias/aliases/prod');
      expect(resolved.body.version).to.equal(rows.rows[0].version);
    });
  });

  describe('delete', () => {
    it('deletes the model, its versions and aliases; keeps artifacts and the trail; the name can be reused', async () => {
      await registerByJob('mapi-delete', 'wf-delete-1');
      await registerByJob('mapi-delete', 'wf-delete-2');
      expectStatus(await request(api, 'PUT', '/api/v1/models/mapi-delete/aliases/staging', { version: 2 }), 200);
      const modelId = (await stack.pool.query(`SELECT id FROM models WHERE name = 'mapi-delete'`)).rows[0].id;

      const res = await request(api, 'DELETE', '/api/v1/models/mapi-delete');
      expect(res.status).to.equal(204);

      expectError(await request(api, 'GET', '/api/v1/models/mapi-delete'), 404, 'name');
      expectError(await request(api, 'GET', '/api/v1/models/mapi-delete/versions'), 404, 'name');
      expectError(await request(api, 'GET', '/api/v1/models/mapi-delete/versions/1'), 404, 'name');
      expectError(await request(api, 'GET', '/api/v1/models/mapi-delete/aliases/staging'), 404, 'name');
      expectError(await request(api, 'DELETE', '/api/v1/models/mapi-delete'), 404, 'name');
      const counts = await stack.pool.query(
        `SELECT (SELECT count(*)::int FROM model_versions WHERE model_id = $1) AS versions,
                (SELECT count(*)::int FROM model_aliases WHERE model_id = $1) AS aliases`,
        [modelId],
      );
      expect(counts.rows[0]).to.deep.equal({ versions: 0, aliases: 0 });
      expectStatus(await request(api, 'GET', `/api/v1/artifacts/${artifactId}`), 200);
      expectStatus(await request(api, 'GET', `/api/v1/datasets/${datasetId}`), 200);

      let trail = await events('mapi-delete');
      expect(trail.map((e) => e.action)).to.deep.equal([
        'version_registered',
        'version_registered',
        'alias_set',
        'deleted',
      ]);
      expect(trail[3].details).to.deep.equal({ modelId, versions: [1, 2], aliases: { staging: 2 } });

      const listed = await request(api, 'GET', '/api/v1/models?limit=500');
      expect(listed.body.models.map((m: { name: string }) => m.name)).not.to.include('mapi-delete');

      expectStatus(await request(api, 'POST', '/api/v1/models', { name: 'mapi-delete' }), 201);
      trail = await events('mapi-delete');
      expect(trail.map((e) => e.action)).to.deep.equal([
        'version_registered',
        'version_registered',
        'alias_set',
        'deleted',
        'created',
      ]);
      expect(trail[4].details.modelId).not.to.equal(modelId);
    });
  });

  describe('events', () => {
    it('pages oldest first with ?after= and ?limit=', async () => {
      const all = await events('mapi-crud');
      const first = await request(api, 'GET', '/api/v1/models/mapi-crud/events?limit=2');
      expectStatus(first, 200);
      expect(first.body.events.map((e: { id: number }) => e.id)).to.deep.equal(all.slice(0, 2).map((e) => e.id));
      expect(first.body.links.next).to.equal(`/api/v1/models/mapi-crud/events?after=${all[1].id}&limit=2`);
      const second = await request(api, 'GET', first.body.links.next);
      expect(second.body.events.map((e: { id: number }) => e.id)).to.deep.equal(all.slice(2, 4).map((e) => e.id));
      const end = await request(api, 'GET', `/api/v1/models/mapi-crud/events?after=${all[all.length - 1].id}`);
      expectStatus(end, 200);
      expect(end.body.events).to.deep.equal([]);
      expect(end.body.links).not.to.have.property('next');
    });
  });

  describe('bad input gets a 4xx naming the field', () => {
    before(async () => {
      await registerByJob('mapi-bad', 'wf-bad-1');
      const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
      expectStatus(await request(api, 'POST', '/api/v1/models', { name: 'mapi-full', tags: fifty }), 201);
    });

    const post = (body: unknown, headers?: Record<string, string>) =>
      request(api, 'POST', '/api/v1/models', body, headers);

    describe('POST /api/v1/models', () => {
      it('invalid JSON', async () =>
        expectError(await post('{"name": ', { 'content-type': 'application/json' }), 400, 'body', 'invalid_json'));
      it('empty body', async () => expectError(await post('', { 'content-type': 'application/json' }), 400, 'body'));
      it('wrong content type', async () =>
        expectError(await post('name=x', { 'content-type': 'text/plain' }), 415, 'content-type'));
      it('not an object', async () => expectError(await post([{ name: 'x' }]), 400, 'body'));
      it('missing name', async () => expectError(await post({ description: 'x' }), 400, 'name'));
      it('invalid name', async () => expectError(await post({ name: '../etc' }), 400, 'name'));
      it('name too long', async () => expectError(await post({ name: 'm'.repeat(129) }), 400, 'name'));
      it('unknown field', async () =>
        expectError(await post({ name: 'mapi-x', owner: 'me' }), 400, 'owner', 'unknown_field'));
      it('description not a string', async () =>
        expectError(await post({ name: 'mapi-x', description: 5 }), 400, 'description'));
      it('description too long', async () =>
        expectError(await post({ name: 'mapi-x', description: 'd'.repeat(5001) }), 400, 'description'));
      it('tags not an object', async () => expectError(await post({ name: 'mapi-x', tags: ['a'] }), 400, 'tags'));
      it('tag value not a string', async () =>
        expectError(await post({ name: 'mapi-x', tags: { a: 1 } }), 400, 'tags.a'));
      it('tag value null on create', async () =>
        expectError(await post({ name: 'mapi-x', tags: { a: null } }), 400, 'tags.a'));
      it('tag value too long', async () =>
        expectError(await post({ name: 'mapi-x', tags: { a: 'v'.repeat(1025) } }), 400, 'tags.a'));
      it('tag key with a space', async () =>
        expectError(await post({ name: 'mapi-x', tags: { 'a b': 'v' } }), 400, 'tags.a b'));
      it('tag key too long', async () =>
        expectError(await post({ name: 'mapi-x', tags: { ['k'.repeat(129)]: 'v' } }), 400, `tags.${'k'.repeat(129)}`));
      it('tag key __proto__', async () =>
        expectError(
          await post('{"name":"mapi-x","tags":{"__proto__":"v"}}', { 'content-type': 'application/json' }),
          400,
          'tags.__proto__',
        ));
      it('more than 50 tags', async () =>
        expectError(
          await post({
            name: 'mapi-x',
            tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
          }),
          400,
          'tags',
        ));
      it('oversized body', async () =>
        expectError(await post({ name: 'mapi-x', description: 'x'.repeat(300 * 1024) }), 413));
      it('none of them created a model', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-x'), 404, 'name'));
    });

    describe('models', () => {
      it('list limit 0', async () =>
        expectError(await request(api, 'GET', '/api/v1/models?limit=0'), 400, 'query.limit'));
      it('list limit over 500', async () =>
        expectError(await request(api, 'GET', '/api/v1/models?limit=501'), 400, 'query.limit'));
      it('list limit not a number', async () =>
        expectError(await request(api, 'GET', '/api/v1/models?limit=ten'), 400, 'query.limit'));
      it('malformed model name', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/-bad!'), 400, 'name'));
      it('unknown model', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-nope'), 404, 'name', 'not_found'));
      it('PATCH of an unknown model', async () =>
        expectError(await request(api, 'PATCH', '/api/v1/models/mapi-nope', { description: 'x' }), 404, 'name'));
      it('PATCH with nothing to change', async () =>
        expectError(await request(api, 'PATCH', '/api/v1/models/mapi-bad', {}), 400, 'body'));
      it('PATCH with an unknown field', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad', { name: 'other' }),
          400,
          'name',
          'unknown_field',
        ));
      it('PATCH with a bad tag key', async () =>
        expectError(await request(api, 'PATCH', '/api/v1/models/mapi-bad', { tags: { '': 'v' } }), 400, 'tags.'));
      it('PATCH past 50 tags', async () => {
        expectError(await request(api, 'PATCH', '/api/v1/models/mapi-full', { tags: { extra: 'v' } }), 400, 'tags');
        const ok = await request(api, 'PATCH', '/api/v1/models/mapi-full', { tags: { k0: null, extra: 'v' } });
        expectStatus(ok, 200);
        expect(Object.keys(ok.body.tags)).to.have.length(50);
      });
      it('DELETE of an unknown model', async () =>
        expectError(await request(api, 'DELETE', '/api/v1/models/mapi-nope'), 404, 'name'));
      it('DELETE of a malformed name', async () =>
        expectError(await request(api, 'DELETE', '/api/v1/models/bad%20name'), 400, 'name'));
      it('wrong method', async () =>
        expectError(await request(api, 'POST', '/api/v1/models/mapi-bad'), 405, undefined, 'method_not_allowed'));
      it('events of an unknown model', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-nope/events'), 404, 'name'));
      it('events limit over 1000', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-bad/events?limit=1001'), 400, 'query.limit'));
      it('events after negative', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-bad/events?after=-1'), 400, 'query.after'));
    });

    describe('versions', () => {
      for (const bad of ['0', '1.5', '1e0', '-1', '99999999999', 'latest']) {
        it(`version ${bad}`, async () =>
          expectError(await request(api, 'GET', `/api/v1/models/mapi-bad/versions/${bad}`), 400, 'version'));
      }
      it('unknown version', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-bad/versions/7'), 404, 'version', 'not_found'));
      it('version of an unknown model', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-nope/versions/1'), 404, 'name'));
      it('PATCH an unknown version', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/7', { status: 'ARCHIVED' }),
          404,
          'version',
        ));
      it('PATCH a bad version number', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/x', { status: 'ARCHIVED' }),
          400,
          'version',
        ));
      it('PATCH an unknown status', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/1', { status: 'DONE' }),
          400,
          'status',
        ));
      it('PATCH with nothing to change', async () =>
        expectError(await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/1', {}), 400, 'body'));
      it('PATCH a read-only field', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/1', { metrics: {} }),
          400,
          'metrics',
          'unknown_field',
        ));
      it('PATCH tags that are not strings', async () =>
        expectError(
          await request(api, 'PATCH', '/api/v1/models/mapi-bad/versions/1', { tags: { a: true } }),
          400,
          'tags.a',
        ));
    });

    describe('aliases', () => {
      const put = (alias: string, body: unknown, model = 'mapi-bad') =>
        request(api, 'PUT', `/api/v1/models/${model}/aliases/${alias}`, body);
      it('uppercase alias', async () => expectError(await put('Champion', { version: 1 }), 400, 'alias'));
      it('numeric alias', async () => expectError(await put('1', { version: 1 }), 400, 'alias'));
      it('alias too long', async () => expectError(await put('a'.repeat(65), { version: 1 }), 400, 'alias'));
      it('reserved alias latest', async () =>
        expectError(await put('latest', { version: 1 }), 400, 'alias', 'reserved_alias'));
      it('reserved version-like alias', async () =>
        expectError(await put('v2', { version: 1 }), 400, 'alias', 'reserved_alias'));
      it('missing version', async () => expectError(await put('prod', {}), 400, 'version'));
      it('version 0', async () => expectError(await put('prod', { version: 0 }), 400, 'version'));
      it('version not a number', async () => expectError(await put('prod', { version: 'one' }), 400, 'version'));
      it('version too large', async () => expectError(await put('prod', { version: 2 ** 40 }), 400, 'version'));
      it('unknown field', async () =>
        expectError(await put('prod', { version: 1, force: true }), 400, 'force', 'unknown_field'));
      it('wrong content type', async () =>
        expectError(
          await request(api, 'PUT', '/api/v1/models/mapi-bad/aliases/prod', 'version=1', {
            'content-type': 'text/plain',
          }),
          415,
          'content-type',
        ));
      it('unknown version', async () => expectError(await put('prod', { version: 9 }), 404, 'version'));
      it('unknown model', async () => expectError(await put('prod', { version: 1 }, 'mapi-nope'), 404, 'name'));
      it('GET an unknown alias', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-bad/aliases/prod'), 404, 'alias'));
      it('GET an alias of an unknown model', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-nope/aliases/prod'), 404, 'name'));
      it('GET latest of a model without versions', async () => {
        expectStatus(await post({ name: 'mapi-empty' }), 201);
        expectError(await request(api, 'GET', '/api/v1/models/mapi-empty/aliases/latest'), 404, 'version');
      });
      it('GET a reserved version-like alias', async () =>
        expectError(await request(api, 'GET', '/api/v1/models/mapi-bad/aliases/v1'), 400, 'alias', 'reserved_alias'));
      it('DELETE latest', async () =>
        expectError(
          await request(api, 'DELETE', '/api/v1/models/mapi-bad/aliases/latest'),
          400,
          'alias',
          'reserved_alias',
        ));
      it('DELETE an unknown alias', async () =>
        expectError(await request(api, 'DELETE', '/api/v1/models/mapi-bad/aliases/prod'), 404, 'alias'));
      it('none of them wrote an event', async () => {
        expect((await events('mapi-bad')).map((e) => e.action)).to.deep.equal(['version_registered']);
        expect((await events('mapi-full')).map((e) => e.action)).to.deep.equal(['created', 'updated']);
      });
    });
  });

  it('the OpenAPI document describes the registry paths', async () => {
    const doc = await request(api, 'GET', '/api/v1/openapi.json');
    expectStatus(doc, 200);
    const paths = doc.body.paths;
    expect(Object.keys(paths['/api/v1/models'])).to.include.members(['get', 'post']);
    expect(Object.keys(paths['/api/v1/models/{name}'])).to.include.members(['get', 'patch', 'delete']);
    expect(Object.keys(paths['/api/v1/models/{name}/versions/{version}'])).to.include.members(['get', 'patch']);
    expect(Object.keys(paths['/api/v1/models/{name}/aliases/{alias}'])).to.include.members(['get', 'put', 'delete']);
    expect(paths['/api/v1/models/{name}/events'].get).to.be.an('object');
    expect(paths['/api/v1/models'].post.requestBody.content['application/json'].schema.required).to.deep.equal([
      'name',
    ]);
    expect(
      paths['/api/v1/models/{name}/versions/{version}'].patch.requestBody.content['application/json'].schema.properties
        .status.enum,
    ).to.deep.equal(['READY', 'FAILED_VALIDATION', 'ARCHIVED']);
  });
});
