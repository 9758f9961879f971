import { expect } from 'chai';
import type { Role } from '../../common/auth/roles';
import { DEFAULT_TENANT } from '../../common/tenant';
import { parseApiKey } from '../../db/api-keys';
import { bearer, createTestKey } from '../support/auth';
import { blobRows, pipelineEnd, upload } from '../support/pipeline-data';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectStatus(res: JsonResponse, status: number, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(status);
}

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expectStatus(res, status, what);
  expect(res.body.error.code, `${what}: ${JSON.stringify(res.body)}`).to.equal(code);
}

/** The principal id the audit trail records for an API key. */
const principalId = (key: string): string => `key:${parseApiKey(key)!.keyId}`;

const ROLES: Role[] = ['viewer', 'operator', 'editor', 'approver', 'admin'];
const atLeast = (role: Role, need: Role) => ROLES.indexOf(role) >= ROLES.indexOf(need);

/**
 * Issue 12's role matrix (each role against a route of each class) and the approval rules: an approver never decides a
 * pipeline they started; protected aliases (`champion`, a model's protectedAliases) move only for approvers; every
 * registry and schedule change names the principal that made it.
 */
describe('roles: the matrix, approvals, protected aliases, the audit principal', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  const keys = {} as Record<Role, string>;
  let otherApprover: string;
  /** Numeric rows (x, y) in three blobs: clustering input, a pipeline's dataset. */
  let numeric: string;
  const points = blobRows(7)
    .slice(0, 30)
    .map(({ x, y }) => [x, y]);

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    for (const role of ROLES) keys[role] = await createTestKey(stack.pool, { tenantId: DEFAULT_TENANT, role });
    otherApprover = await createTestKey(stack.pool, { tenantId: DEFAULT_TENANT, role: 'approver', name: 'second' });
    numeric = await upload(
      api,
      'roles-blobs',
      blobRows(41).map(({ x, y }) => ({ x, y })),
    );
    // A model with a version to predict with and to point aliases at.
    await withWorker(stack, async () => {
      const started = await request(
        api,
        'POST',
        '/api/v1/clustering',
        { algorithm: 'kmeans', params: { k: 3, seed: 1 }, data: points, register: { name: 'roles-model' } },
        bearer(keys.admin),
      );
      expectStatus(started, 202, 'register roles-model');
      const result = await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`);
      expectStatus(result, 200, 'roles-model result');
    });
  });
  after(async () => api?.close());

  const as = (key: string, method: string, path: string, body?: unknown) =>
    request(api, method, path, body, bearer(key));

  it('each role against a route of each class: allowed (2xx, or 404 past the check) or 403 insufficient_role', async () => {
    const startedJobs: string[] = [];
    await withWorker(stack, async () => {
      for (const role of ROLES) {
        const key = keys[role];
        const check = (res: JsonResponse, need: Role, allowed: number, what: string) => {
          if (atLeast(role, need)) expectStatus(res, allowed, `${role} ${what}`);
          else expectError(res, 403, 'insufficient_role', `${role} ${what}`);
        };
        check(await as(key, 'GET', '/api/v1/models'), 'viewer', 200, 'read');
        const started = await as(key, 'POST', '/api/v1/clustering', {
          algorithm: 'kmeans',
          params: { k: 2, seed: 1 },
          data: points,
        });
        check(started, 'operator', 202, 'start');
        if (started.status === 202) startedJobs.push(started.body.jobId as string);
        check(
          await as(key, 'POST', '/api/v1/models/roles-model/predict', { inputs: [[0, 0]] }),
          'operator',
          200,
          'predict',
        );
        check(await as(key, 'POST', '/api/v1/models', { name: `roles-new-${role}` }), 'editor', 201, 'registry write');
        check(
          await as(key, 'PUT', '/api/v1/models/roles-model/aliases/staging', { version: 1 }),
          'editor',
          200,
          'unprotected alias move',
        );
        const champion = await as(key, 'PUT', '/api/v1/models/roles-model/aliases/champion', { version: 1 });
        if (role === 'editor') expectError(champion, 403, 'protected_alias', 'editor moves champion');
        else check(champion, 'approver', 200, 'protected alias move');
        // Past the role check, an unknown pipeline is a 404; before it, a 403.
        check(
          await as(key, 'POST', '/api/v1/pipelines/pipeline-full-00000000-0000-4000-8000-000000000000/decision', {
            decision: 'approve',
          }),
          'approver',
          404,
          'pipeline decision',
        );
      }
      for (const jobId of startedJobs) {
        const done = await request(api, 'GET', `/api/v1/jobs/${jobId}/result?wait=60`);
        expectStatus(done, 200, `job ${jobId}`);
      }
    });
    expect(startedJobs).to.have.length(4);
  });

  it('a protected alias moves only for an approver: champion always, and those the model lists', async () => {
    await as(keys.approver, 'DELETE', '/api/v1/models/roles-model/aliases/champion');
    expectError(
      await as(keys.editor, 'PUT', '/api/v1/models/roles-model/aliases/champion', { version: 1 }),
      403,
      'protected_alias',
    );
    expect((await as(keys.viewer, 'GET', '/api/v1/models/roles-model')).body.aliases).to.not.have.property('champion');
    expectStatus(
      await as(keys.approver, 'PUT', '/api/v1/models/roles-model/aliases/champion', { version: 1 }),
      200,
      'approver moves champion',
    );
    expectError(await as(keys.editor, 'DELETE', '/api/v1/models/roles-model/aliases/champion'), 403, 'protected_alias');

    // Protecting another alias needs an approver too (an editor could otherwise unprotect, then move).
    const editorPatch = await as(keys.editor, 'PATCH', '/api/v1/models/roles-model', { protectedAliases: ['prod'] });
    expectError(editorPatch, 403, 'protected_alias');
    expect(editorPatch.body.error.field).to.equal('protectedAliases');
    const patched = await as(keys.approver, 'PATCH', '/api/v1/models/roles-model', {
      protectedAliases: ['prod', 'prod'],
    });
    expectStatus(patched, 200, 'approver protects prod');
    expect(patched.body.protectedAliases).to.deep.equal(['champion', 'prod']);
    expect((await as(keys.viewer, 'GET', '/api/v1/models/roles-model')).body.protectedAliases).to.deep.equal([
      'champion',
      'prod',
    ]);
    expectError(
      await as(keys.editor, 'PUT', '/api/v1/models/roles-model/aliases/prod', { version: 1 }),
      403,
      'protected_alias',
    );
    expectStatus(
      await as(keys.approver, 'PUT', '/api/v1/models/roles-model/aliases/prod', { version: 1 }),
      200,
      'approver moves prod',
    );
    expectStatus(
      await as(keys.editor, 'PUT', '/api/v1/models/roles-model/aliases/staging', { version: 1 }),
      200,
      'editor moves staging (unprotected)',
    );
    expectError(
      await as(keys.approver, 'PATCH', '/api/v1/models/roles-model', { protectedAliases: ['latest'] }),
      400,
      'invalid_request',
    );

    const events = (await as(keys.viewer, 'GET', '/api/v1/models/roles-model/events?limit=1000')).body.events as Array<{
      action: string;
      actor: string;
      details: Record<string, any>;
    }>;
    const protect = events.find((e) => e.action === 'updated' && e.details.changes?.protectedAliases);
    expect(protect?.actor).to.equal(principalId(keys.approver));
    expect(protect?.details.changes.protectedAliases).to.deep.equal({ from: [], to: ['prod'] });
    const prod = events.filter((e) => e.action === 'alias_set' && e.details.alias === 'prod');
    expect(prod.map((e) => e.actor)).to.deep.equal([principalId(keys.approver)]);
  });

  it('the audit trail names the caller of each registry write, and job:<id> for a version a job registered', async () => {
    const created = await as(keys.editor, 'POST', '/api/v1/models', { name: 'roles-audit' });
    expectStatus(created, 201, 'create');
    expect(created.body.protectedAliases).to.deep.equal(['champion']);
    await as(keys.admin, 'PUT', '/api/v1/models/roles-model/aliases/audit-me', { version: 1 });
    await as(keys.editor, 'PUT', '/api/v1/models/roles-model/aliases/audit-me', { version: 1 }); // no change, no event
    await as(keys.editor, 'DELETE', '/api/v1/models/roles-model/aliases/audit-me');
    const trail = (await as(keys.viewer, 'GET', '/api/v1/models/roles-model/events?limit=1000')).body.events as Array<{
      action: string;
      actor: string;
      details: Record<string, any>;
    }>;
    expect(trail[0].action).to.equal('version_registered');
    expect(trail[0].actor).to.match(/^job:clustering-[0-9a-f-]{36}$/);
    expect(trail[0].actor).to.equal(`job:${trail[0].details.sourceWorkflowId}`);
    const auditMe = trail.filter((e) => e.details.alias === 'audit-me');
    expect(auditMe.map((e) => [e.action, e.actor])).to.deep.equal([
      ['alias_set', principalId(keys.admin)],
      ['alias_deleted', principalId(keys.editor)],
    ]);
    const models = (await as(keys.viewer, 'GET', '/api/v1/models/roles-audit/events')).body.events;
    expect(models.map((e: { action: string; actor: string }) => [e.action, e.actor])).to.deep.equal([
      ['created', principalId(keys.editor)],
    ]);
  });

  it('schedule changes are audited with the principal: GET /api/v1/schedules/:id/events, also after delete', async () => {
    const id = `roles-sched-${Date.now()}`;
    const created = await as(keys.editor, 'POST', '/api/v1/schedules', {
      id,
      action: { kind: 'clustering', request: { algorithm: 'kmeans', params: { k: 2 }, datasetId: numeric } },
      spec: { intervals: [{ every: '1h' }] },
      paused: true,
    });
    expectStatus(created, 201, 'create schedule');
    expectStatus(await as(keys.admin, 'POST', `/api/v1/schedules/${id}/unpause`), 200, 'unpause');
    expectStatus(await as(keys.editor, 'POST', `/api/v1/schedules/${id}/pause`, { note: 'hold' }), 200, 'pause');
    expectStatus(
      await as(keys.approver, 'PATCH', `/api/v1/schedules/${id}`, { description: 'nightly' }),
      200,
      'update',
    );
    expectError(await as(keys.operator, 'DELETE', `/api/v1/schedules/${id}`), 403, 'insufficient_role');
    expectStatus(await as(keys.editor, 'DELETE', `/api/v1/schedules/${id}`), 204, 'delete');

    const res = await as(keys.viewer, 'GET', `/api/v1/schedules/${id}/events`);
    expectStatus(res, 200, 'events');
    expect(res.body.events.map((e: { action: string; actor: string }) => [e.action, e.actor])).to.deep.equal([
      ['create', principalId(keys.editor)],
      ['unpause', principalId(keys.admin)],
      ['pause', principalId(keys.editor)],
      ['update', principalId(keys.approver)],
      ['delete', principalId(keys.editor)],
    ]);
    expect(res.body.events[2].details).to.deep.equal({ note: 'hold' });
    expect(res.body.events[3].details).to.deep.equal({ fields: ['description'] });
    const page = await as(keys.viewer, 'GET', `/api/v1/schedules/${id}/events?limit=2`);
    expect(page.body.links.next).to.equal(`/api/v1/schedules/${id}/events?after=${page.body.events[1].id}&limit=2`);
    expectError(await as(keys.viewer, 'GET', '/api/v1/schedules/roles-no-such-schedule/events'), 404, 'not_found');
  });

  it('an approver cannot decide the pipeline they started; another approver can, and the promotion names them', async () => {
    await withWorker(stack, async () => {
      const started = await as(keys.approver, 'POST', '/api/v1/pipelines/full', {
        model: { name: 'roles-pipeline' },
        datasetId: numeric,
        holdout: { fraction: 0.25, seed: 1 },
        clustering: { algorithm: 'kmeans', params: { k: 3, seed: 1 } },
        gate: { thresholds: [{ metric: 'silhouette', threshold: 0.3 }], noChampion: 'absolute-only' },
        promote: { alias: 'champion' },
        approval: { required: true, timeout: '1h', onTimeout: 'reject' },
      });
      expectStatus(started, 202, 'start pipeline');
      const id = started.body.pipelineId as string;
      const waiting = await eventually(
        () => as(keys.viewer, 'GET', `/api/v1/pipelines/${id}`),
        (r) => r.body.status === 'AWAITING_APPROVAL' || !['RUNNING'].includes(r.body.status),
        120_000,
      );
      expect(waiting.body.status, JSON.stringify(waiting.body)).to.equal('AWAITING_APPROVAL');
      expect(waiting.body.startedBy).to.equal(principalId(keys.approver));

      const own = await as(keys.approver, 'POST', `/api/v1/pipelines/${id}/decision`, { decision: 'approve' });
      expectError(own, 403, 'self_approval');
      // Rejecting is deciding too.
      expectError(
        await as(keys.approver, 'POST', `/api/v1/pipelines/${id}/decision`, { decision: 'reject' }),
        403,
        'self_approval',
      );
      expect((await as(keys.viewer, 'GET', `/api/v1/pipelines/${id}`)).body.status).to.equal('AWAITING_APPROVAL');
      // The decider is the caller, never the body.
      expectError(
        await as(otherApprover, 'POST', `/api/v1/pipelines/${id}/decision`, {
          decision: 'approve',
          decidedBy: 'key:0000000000000000',
        }),
        400,
        'unknown_field',
      );

      const decided = await as(otherApprover, 'POST', `/api/v1/pipelines/${id}/decision`, { decision: 'approve' });
      expectStatus(decided, 200, 'another approver decides');
      expect(decided.body.status).to.equal('PROMOTED');
      expect(decided.body.decision).to.include({ decision: 'approve', by: 'reviewer' });
      expect(decided.body.decision.decidedBy).to.equal(principalId(otherApprover));
      const end = await pipelineEnd(api, id);
      expect(end.decision.decidedBy).to.equal(principalId(otherApprover));

      const trail = (await as(keys.viewer, 'GET', '/api/v1/models/roles-pipeline/events')).body.events as Array<{
        action: string;
        actor: string;
        details: Record<string, any>;
      }>;
      const promotion = trail.find((e) => e.action === 'alias_set' && e.details.alias === 'champion');
      expect(promotion?.actor).to.equal(`job:${id}`);
      expect(promotion?.details).to.include({ pipelineId: id, approvedBy: principalId(otherApprover) });
    });
  });
});
