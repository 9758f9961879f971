import { expect } from 'chai';
import type { Role } from '../../common/auth/roles';
import { DEFAULT_TENANT } from '../../common/tenant';
import { parseApiKey } from '../../db/api-keys';
import { bearer, createTestKey } from '../support/auth';
import { blobRows, upload } from '../support/pipeline-data';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

function expectStatus(res: JsonResponse, status: number, what: string): void {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(status);
}

function expectError(res: JsonResponse, status: number, code: string, field: string | undefined, what: string): void {
  expectStatus(res, status, what);
  expect(res.body.error.code, `${what}: ${JSON.stringify(res.body)}`).to.equal(code);
  if (field !== undefined) expect(res.body.error.field, `${what}: ${JSON.stringify(res.body)}`).to.equal(field);
}

/** The principal id the audit trail records for an API key. */
const principalId = (key: string): string => `key:${parseApiKey(key)!.keyId}`;

const ROLES: Role[] = ['viewer', 'operator', 'editor', 'approver', 'admin'];

/**
 * The ways around issue 12's approval rules that the trial found, each closed: deleting a model, or changing the status
 * of a version, that a protected alias points at; a full pipeline (started, or scheduled) that moves a protected alias
 * with no approver's decision; deciding a run of a schedule one defined when it ran, triggered or backfilled.
 */
describe('protected aliases and self-approval: no way around them', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  const keys = {} as Record<Role, string>;
  let otherApprover: string;
  let numeric: string;
  const schedules: string[] = [];
  const points = blobRows(43)
    .slice(0, 30)
    .map(({ x, y }) => [x, y]);

  const as = (key: string, method: string, path: string, body?: unknown) =>
    request(api, method, path, body, bearer(key));

  /** Registers a version of `name` with a clustering job (the caller must run a worker). */
  const register = async (name: string): Promise<void> => {
    const started = await as(keys.admin, 'POST', '/api/v1/clustering', {
      algorithm: 'kmeans',
      params: { k: 3, seed: 1 },
      data: points,
      register: { name },
    });
    expectStatus(started, 202, `register ${name}`);
    expectStatus(await request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=60`), 200, `${name} result`);
  };

  /** A full pipeline body on the numeric dataset promoting to `alias`, with `extra` (an approval) on top. */
  const pipelineBody = (model: string, alias: string, extra: Record<string, unknown> = {}) => ({
    model: { name: model },
    datasetId: numeric,
    holdout: { fraction: 0.25, seed: 1 },
    clustering: { algorithm: 'kmeans', params: { k: 3, seed: 1 } },
    gate: { thresholds: [{ metric: 'silhouette', threshold: 0.3 }], noChampion: 'absolute-only' },
    promote: { alias },
    ...extra,
  });
  const required = { approval: { required: true, timeout: '1h', onTimeout: 'reject' } };

  /** A paused schedule of a full pipeline (fires at 03:00 UTC on 1 January: never during the test). */
  const scheduleBody = (id: string, request: Record<string, unknown>) => ({
    id,
    action: { kind: 'pipeline-full', request },
    spec: { cron: ['0 3 1 1 *'], timezone: 'UTC' },
    paused: true,
  });

  const awaitingApproval = async (id: string): Promise<JsonResponse> => {
    const res = await eventually(
      () => as(keys.viewer, 'GET', `/api/v1/pipelines/${id}`),
      (r) => r.status !== 200 || r.body.status !== 'RUNNING',
      120_000,
    );
    expect(res.body.status, JSON.stringify(res.body)).to.equal('AWAITING_APPROVAL');
    return res;
  };

  before(async () => {
    stack = await getTestStack();
    api = await startTestApi(stack);
    for (const role of ROLES) keys[role] = await createTestKey(stack.pool, { tenantId: DEFAULT_TENANT, role });
    otherApprover = await createTestKey(stack.pool, { tenantId: DEFAULT_TENANT, role: 'approver', name: 'second' });
    numeric = await upload(
      api,
      'protected-blobs',
      blobRows(43).map(({ x, y }) => ({ x, y })),
    );
    await withWorker(stack, async () => {
      await register('pa-delete');
      await register('pa-status');
      await register('pa-status');
    });
  });
  after(async function () {
    this.timeout(60_000);
    for (const id of schedules) {
      await stack.env.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
      for await (const run of stack.env.client.workflow.list({
        query: `TemporalScheduledById = '${id}' AND ExecutionStatus = 'Running'`,
      }))
        await stack.env.client.workflow
          .getHandle(run.workflowId)
          .terminate('test over')
          .catch(() => undefined);
    }
    await api?.close();
  });

  it('deleting a model a protected alias points into needs an approver (403 protected_alias, field name)', async () => {
    expectStatus(
      await as(keys.approver, 'PUT', '/api/v1/models/pa-delete/aliases/champion', { version: 1 }),
      200,
      'champion',
    );
    expectStatus(
      await as(keys.editor, 'PUT', '/api/v1/models/pa-delete/aliases/staging', { version: 1 }),
      200,
      'staging',
    );
    expectError(
      await as(keys.editor, 'DELETE', '/api/v1/models/pa-delete'),
      403,
      'protected_alias',
      'name',
      'editor deletes a model champion points into',
    );
    const kept = await as(keys.viewer, 'GET', '/api/v1/models/pa-delete');
    expectStatus(kept, 200, 'model still there');
    expect(kept.body.aliases).to.deep.equal({ champion: 1, staging: 1 });

    // An alias the model protects counts as champion does.
    expectStatus(
      await as(keys.approver, 'PATCH', '/api/v1/models/pa-delete', { protectedAliases: ['prod'] }),
      200,
      'protect prod',
    );
    expectStatus(await as(keys.approver, 'PUT', '/api/v1/models/pa-delete/aliases/prod', { version: 1 }), 200, 'prod');
    expectStatus(await as(keys.approver, 'DELETE', '/api/v1/models/pa-delete/aliases/champion'), 204, 'unset champion');
    expectError(
      await as(keys.editor, 'DELETE', '/api/v1/models/pa-delete'),
      403,
      'protected_alias',
      'name',
      'editor deletes a model prod points into',
    );
    expectStatus(await as(keys.approver, 'DELETE', '/api/v1/models/pa-delete/aliases/prod'), 204, 'unset prod');
    // No protected alias set (staging is not one): an editor's to delete.
    expectStatus(await as(keys.editor, 'DELETE', '/api/v1/models/pa-delete'), 204, 'editor deletes, nothing protected');
    const trail = (await as(keys.viewer, 'GET', '/api/v1/models/pa-delete/events?limit=1000')).body.events as Array<{
      action: string;
      actor: string;
    }>;
    expect(trail.filter((e) => e.action === 'deleted').map((e) => e.actor)).to.deep.equal([principalId(keys.editor)]);
  });

  it('changing the status of a version a protected alias points at needs an approver (field status)', async () => {
    expectStatus(
      await as(keys.approver, 'PUT', '/api/v1/models/pa-status/aliases/champion', { version: 1 }),
      200,
      'champion',
    );
    for (const status of ['ARCHIVED', 'FAILED_VALIDATION'])
      expectError(
        await as(keys.editor, 'PATCH', '/api/v1/models/pa-status/versions/1', { status }),
        403,
        'protected_alias',
        'status',
        `editor sets champion's version ${status}`,
      );
    expect((await as(keys.viewer, 'GET', '/api/v1/models/pa-status/versions/1')).body.status).to.equal('READY');
    // Description and tags stay an editor's; so does the status of a version no protected alias points at.
    expectStatus(
      await as(keys.editor, 'PATCH', '/api/v1/models/pa-status/versions/1', { description: 'the champion' }),
      200,
      'editor describes',
    );
    expectStatus(
      await as(keys.editor, 'PATCH', '/api/v1/models/pa-status/versions/2', { status: 'ARCHIVED' }),
      200,
      'editor archives an unaliased version',
    );
    // The model's own protected aliases count too, whichever way the status goes.
    expectStatus(
      await as(keys.approver, 'PATCH', '/api/v1/models/pa-status', { protectedAliases: ['prod'] }),
      200,
      'protect prod',
    );
    expectStatus(await as(keys.approver, 'PUT', '/api/v1/models/pa-status/aliases/prod', { version: 2 }), 200, 'prod');
    expectError(
      await as(keys.editor, 'PATCH', '/api/v1/models/pa-status/versions/2', { status: 'READY' }),
      403,
      'protected_alias',
      'status',
      "editor changes prod's version status",
    );
    const archived = await as(keys.approver, 'PATCH', '/api/v1/models/pa-status/versions/1', { status: 'ARCHIVED' });
    expectStatus(archived, 200, 'approver archives');
    expect(archived.body.status).to.equal('ARCHIVED');
    // An approver deletes a model with protected aliases set.
    expectStatus(await as(keys.approver, 'DELETE', '/api/v1/models/pa-status'), 204, 'approver deletes');
  });

  it('a full pipeline moving a protected alias without approval is an approver’s to start (promote.alias)', async () => {
    // The start's own checks come after this one: a threshold out of range is the 400 a permitted start gets here
    // (so that no run starts).
    const bad = { gate: { thresholds: [{ metric: 'silhouette', threshold: 5 }], noChampion: 'absolute-only' } };
    const refused = (res: JsonResponse, what: string) => {
      expectError(res, 403, 'protected_alias', 'promote.alias', what);
      expect(res.body.error.message)
        .to.match(/require approval/)
        .and.to.match(/approver start it/);
    };
    const permitted = (res: JsonResponse, what: string) =>
      expectError(res, 400, 'invalid_request', 'gate.thresholds[0].threshold', what);
    const start = (key: string, alias: string, extra: Record<string, unknown>) =>
      as(key, 'POST', '/api/v1/pipelines/full', { ...pipelineBody('pa-pipe', alias), ...bad, ...extra });

    refused(await start(keys.operator, 'champion', {}), 'operator, no approval');
    refused(
      await start(keys.operator, 'champion', { approval: { required: false } }),
      'operator, approval.required false',
    );
    refused(
      await start(keys.operator, 'champion', { approval: { required: true, timeout: '1s', onTimeout: 'approve' } }),
      'operator, approval that approves itself on timeout',
    );
    refused(await start(keys.editor, 'champion', {}), 'editor, no approval');
    permitted(await start(keys.operator, 'champion', required), 'operator, approval required');
    permitted(await start(keys.operator, 'staging', {}), 'operator, unprotected alias');
    permitted(await start(keys.approver, 'champion', {}), 'approver, no approval');

    // The model's own protected aliases, once it exists.
    expectStatus(await as(keys.editor, 'POST', '/api/v1/models', { name: 'pa-pipe' }), 201, 'create pa-pipe');
    expectStatus(
      await as(keys.approver, 'PATCH', '/api/v1/models/pa-pipe', { protectedAliases: ['prod'] }),
      200,
      'protect prod',
    );
    refused(await start(keys.operator, 'prod', {}), 'operator, the model protects prod');
    permitted(await start(keys.operator, 'staging', {}), 'operator, staging still unprotected');

    // Promoting `staging` also moves `previous-staging` (db/promotion.ts): protecting that one protects the promotion.
    expectStatus(
      await as(keys.approver, 'PATCH', '/api/v1/models/pa-pipe', { protectedAliases: ['prod', 'previous-staging'] }),
      200,
      'protect previous-staging',
    );
    const previous = await start(keys.operator, 'staging', {});
    refused(previous, 'operator, the model protects previous-staging');
    expect(previous.body.error.message).to.include('also moves "previous-staging"');
    refused(await start(keys.editor, 'staging', {}), 'editor, the model protects previous-staging');
    permitted(await start(keys.operator, 'staging', required), 'operator, previous-staging, approval required');
    permitted(await start(keys.approver, 'staging', {}), 'approver, previous-staging, no approval');
    permitted(await start(keys.operator, 'canary', {}), 'operator, canary and previous-canary unprotected');
    const scheduled = await as(
      keys.editor,
      'POST',
      '/api/v1/schedules',
      scheduleBody(`pa-sched-previous-${Date.now()}`, pipelineBody('pa-pipe', 'staging')),
    );
    if (scheduled.status === 201) schedules.push(scheduled.body.scheduleId);
    expectError(scheduled, 403, 'protected_alias', 'action.request.promote.alias', 'editor schedules staging');
  });

  it('a schedule of such a pipeline is an approver’s to create or update (runs start without a caller)', async () => {
    const id = `pa-sched-define-${Date.now()}`;
    const unapproved = pipelineBody('pa-sched-define', 'champion');
    const created = await as(keys.editor, 'POST', '/api/v1/schedules', scheduleBody(id, unapproved));
    expectError(created, 403, 'protected_alias', 'action.request.promote.alias', 'editor schedules');
    expect(created.body.error.message).to.match(/require approval/);
    const ok = await as(keys.approver, 'POST', '/api/v1/schedules', scheduleBody(id, unapproved));
    expectStatus(ok, 201, 'approver schedules');
    schedules.push(id);
    // Any update makes the caller the runs' definer: an editor may not take over such a schedule.
    expectError(
      await as(keys.editor, 'PATCH', `/api/v1/schedules/${id}`, { description: 'mine now' }),
      403,
      'protected_alias',
      'action.request.promote.alias',
      'editor updates the description',
    );
    expectError(
      await as(keys.editor, 'PATCH', `/api/v1/schedules/${id}`, {
        action: { kind: 'pipeline-full', request: unapproved },
      }),
      403,
      'protected_alias',
      'action.request.promote.alias',
      'editor sets the same action',
    );
    expect((await as(keys.viewer, 'GET', `/api/v1/schedules/${id}`)).body).to.not.have.property('description');
    // Triggering or backfilling it starts such a pipeline at the caller's word: an approver's, as a direct start is.
    for (const key of [keys.operator, keys.editor]) {
      const triggered = await as(key, 'POST', `/api/v1/schedules/${id}/trigger`);
      expectError(triggered, 403, 'protected_alias', 'promote.alias', 'trigger by a non-approver');
      expect(triggered.body.error.message)
        .to.include(`schedule "${id}": triggering it`)
        .and.to.match(/approver start it/);
    }
    const backfilled = await as(keys.editor, 'POST', `/api/v1/schedules/${id}/backfill`, {
      start: '2026-01-01T02:59:59Z',
      end: '2026-01-01T03:00:00Z',
    });
    expectError(backfilled, 403, 'protected_alias', 'promote.alias', 'backfill by an editor');
    expect(backfilled.body.error.message).to.include('backfilling it');
    // An approver may: a window with no fire time in it checks the caller and starts nothing.
    const none = await as(keys.approver, 'POST', `/api/v1/schedules/${id}/backfill`, {
      start: '2026-01-01T04:00:00Z',
      end: '2026-01-01T05:00:00Z',
    });
    expectStatus(none, 202, 'approver backfills an empty window');
    expect(none.body.runs).to.equal(0);
    // Requiring approval makes it an editor's again.
    expectStatus(
      await as(keys.editor, 'PATCH', `/api/v1/schedules/${id}`, {
        action: { kind: 'pipeline-full', request: { ...unapproved, ...required } },
      }),
      200,
      'editor requires approval',
    );
    expectStatus(
      await as(keys.editor, 'PATCH', `/api/v1/schedules/${id}`, { description: 'reviewed' }),
      200,
      'editor describes',
    );
  });

  it('an approver decides no run of a schedule they defined when it ran, triggered or backfilled', async () => {
    await withWorker(stack, async () => {
      // (a) The approver defines the schedule, a run starts, then an editor updates it: the run is still the approver's.
      const a = `pa-sched-a-${Date.now()}`;
      expectStatus(
        await as(
          keys.approver,
          'POST',
          '/api/v1/schedules',
          scheduleBody(a, pipelineBody('pa-sched-a', 'champion', required)),
        ),
        201,
        'approver creates a',
      );
      schedules.push(a);
      const triggered = await as(keys.operator, 'POST', `/api/v1/schedules/${a}/trigger`);
      expectStatus(triggered, 202, 'operator triggers a');
      const runA = triggered.body.jobId as string;
      const waitingA = await awaitingApproval(runA);
      expect(waitingA.body.startedBy).to.equal(principalId(keys.approver));
      expectStatus(
        await as(keys.editor, 'PATCH', `/api/v1/schedules/${a}`, { description: 'edited after the run started' }),
        200,
        'editor updates a',
      );
      expectError(
        await as(keys.approver, 'POST', `/api/v1/pipelines/${runA}/decision`, { decision: 'approve' }),
        403,
        'self_approval',
        undefined,
        'definer decides',
      );

      // (b) An editor defines the schedule; the approver triggers one run and backfills another.
      const b = `pa-sched-b-${Date.now()}`;
      expectStatus(
        await as(
          keys.editor,
          'POST',
          '/api/v1/schedules',
          scheduleBody(b, pipelineBody('pa-sched-b', 'champion', required)),
        ),
        201,
        'editor creates b',
      );
      schedules.push(b);
      const mine = await as(keys.approver, 'POST', `/api/v1/schedules/${b}/trigger`);
      expectStatus(mine, 202, 'approver triggers b');
      const runB = mine.body.jobId as string;
      const backfill = await as(keys.approver, 'POST', `/api/v1/schedules/${b}/backfill`, {
        start: '2026-01-01T02:59:59Z',
        end: '2026-01-01T03:00:00Z',
      });
      expectStatus(backfill, 202, 'approver backfills b');
      expect(backfill.body.runs).to.equal(1);
      const runs = await eventually(
        () => as(keys.viewer, 'GET', `/api/v1/jobs?scheduleId=${b}&limit=10`),
        (r) => (r.body.jobs ?? []).length >= 2,
        30_000,
      );
      const runC = (runs.body.jobs as Array<{ jobId: string }>).map((j) => j.jobId).find((j) => j !== runB)!;
      expect(runC).to.contain('2026-01-01T03:00:00Z');
      for (const run of [runB, runC]) {
        const waiting = await awaitingApproval(run);
        expect(waiting.body.startedBy).to.equal(principalId(keys.editor));
        expectError(
          await as(keys.approver, 'POST', `/api/v1/pipelines/${run}/decision`, { decision: 'reject' }),
          403,
          'self_approval',
          undefined,
          `approver decides ${run}`,
        );
      }

      // Another approver decides each of them.
      for (const run of [runA, runB, runC]) {
        const decided = await as(otherApprover, 'POST', `/api/v1/pipelines/${run}/decision`, { decision: 'reject' });
        expectStatus(decided, 200, `another approver decides ${run}`);
        expect(decided.body.status).to.equal('REJECTED');
        expect(decided.body.decision.decidedBy).to.equal(principalId(otherApprover));
      }
    });
  });
});
