import { expect } from 'chai';
import type { Pool } from 'pg';
import { budgetOf, createRateLimits, RateLimitState } from '../../api/auth/rate-limits';
import type { Principal } from '../../common/auth/principal';
import { DEFAULT_MAX_RUNNING_JOBS_PER_TENANT } from '../../common/config';
import { DependencyUnavailableError, TooManyRequestsError } from '../../common/errors';
import { createLogger } from '../../common/logger';
import { DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import { createPool } from '../../db/pool';
import { updateTenantLimits } from '../../db/tenants-limits';
import { freePort } from '../../launcher/free-port';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectRateLimited(res: JsonResponse, budget: string, maxSeconds: number): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(429);
  expect(res.body.error.code).to.equal('rate_limited');
  expect(res.body.error.message).to.contain(`the ${budget} budget`);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter, `Retry-After ${res.headers.get('retry-after')}`).to.be.within(1, maxSeconds);
  expect(Number.isInteger(retryAfter)).to.equal(true);
}

/** kiln_rate_limited_total{route, budget} as the app's /metrics reports it (0 when absent). */
async function rateLimitedCount(api: TestApi, route: string, budget: string): Promise<number> {
  const res = await request<string>(api, 'GET', '/metrics');
  const line = res.body
    .split('\n')
    .find((l) => l.startsWith(`kiln_rate_limited_total{route="${route}",budget="${budget}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('rate limits (issue 12): budgets per caller, counted in Postgres', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    // Small read, write and start budgets; predict keeps its default.
    api = await startTestApi(
      stack,
      {},
      {},
      {
        rateLimits: {
          read: { points: 3, durationSeconds: 60 },
          write: { points: 2, durationSeconds: 60 },
          start: { points: 2, durationSeconds: 60 },
        },
      },
    );
  });
  after(async () => api?.close());

  it('answers 429 rate_limited with Retry-After past a budget, and counts it', async () => {
    const key = await createTestKey(stack.pool, { role: 'viewer' });
    const before = await rateLimitedCount(api, '/api/v1/models', 'read');
    for (let i = 0; i < 3; i++) {
      const res = await request(api, 'GET', '/api/v1/models', undefined, bearer(key));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    }
    expectRateLimited(await request(api, 'GET', '/api/v1/models', undefined, bearer(key)), 'read', 60);
    expectRateLimited(await request(api, 'GET', '/api/v1/models', undefined, bearer(key)), 'read', 60);
    expect(await rateLimitedCount(api, '/api/v1/models', 'read')).to.equal(before + 2);
    // Another key of the same tenant has its own budget.
    const other = await createTestKey(stack.pool, { role: 'viewer' });
    expect((await request(api, 'GET', '/api/v1/models', undefined, bearer(other))).status).to.equal(200);
  });

  it('tells every caller where its budget stands: RateLimit-Limit, -Remaining, -Reset (s), on 200s and 429s', async () => {
    const key = await createTestKey(stack.pool, { role: 'viewer' });
    const seen: Array<{ status: number; limit: string | null; remaining: string | null; reset: number }> = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(api, 'GET', '/api/v1/models', undefined, bearer(key));
      seen.push({
        status: res.status,
        limit: res.headers.get('ratelimit-limit'),
        remaining: res.headers.get('ratelimit-remaining'),
        reset: Number(res.headers.get('ratelimit-reset')),
      });
      expect(res.headers.get('ratelimit-policy')).to.equal('3;w=60');
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).to.equal(seen[i].reset);
    }
    expect(seen.map(({ status, limit, remaining }) => [status, limit, remaining])).to.deep.equal([
      [200, '3', '2'],
      [200, '3', '1'],
      [200, '3', '0'],
      [429, '3', '0'],
    ]);
    for (const { reset } of seen)
      expect(Number.isInteger(reset) && reset >= 1 && reset <= 60, String(reset)).to.equal(true);
    // A write draws on the write budget (2 here), a start on the start budget: each says its own.
    const write = await request(api, 'POST', '/api/v1/models', { name: '' }, bearer(key));
    expect(write.status).to.equal(403);
    expect(write.headers.get('ratelimit-limit'), 'refused before the budget: no point taken').to.equal(null);
    const editor = await createTestKey(stack.pool, { role: 'editor' });
    const created = await request(api, 'POST', '/api/v1/models', { name: '' }, bearer(editor));
    expect([
      created.status,
      created.headers.get('ratelimit-limit'),
      created.headers.get('ratelimit-remaining'),
    ]).to.deep.equal([400, '2', '1']);
    // Public routes draw on no budget and say none.
    const health = await request(api, 'GET', '/health');
    expect(health.headers.get('ratelimit-limit')).to.equal(null);
  });

  it("starts a new window when a tenant's window length changes (a 20 s budget never says retry in 40 s)", async () => {
    const tenant = await createTestTenant(stack.pool, 'rl-window');
    const limits = createRateLimits({ pool: stack.pool, defaults: DEFAULT_BUDGET_SIZES, tenantCacheMs: 1 });
    const principal: Principal = {
      id: `key:${Date.now().toString(16)}`,
      tenantId: tenant,
      role: 'viewer',
      platformAdmin: false,
    };
    const read = (): Promise<{ ok: boolean; state?: RateLimitState; retryAfter?: number }> =>
      limits.consume(principal, 'read', '/t').then(
        (state) => ({ ok: true, state }),
        (err: unknown) => ({ ok: false, retryAfter: (err as TooManyRequestsError).retryAfterSeconds }),
      );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
    await updateTenantLimits(stack.pool, tenant, { rateLimits: { read: { points: 2, durationSeconds: 60 } } });
    expect((await read()).ok).to.equal(true);
    expect((await read()).ok).to.equal(true);
    const spent = await read();
    expect(spent.ok).to.equal(false);
    expect(spent.retryAfter).to.be.within(55, 60);

    await updateTenantLimits(stack.pool, tenant, { rateLimits: { read: { points: 2, durationSeconds: 20 } } });
    await settle();
    const first = await read();
    expect(first, 'a new 20 s window').to.deep.include({ ok: true });
    expect((await read()).ok).to.equal(true);
    const again = await read();
    expect(again.ok).to.equal(false);
    expect(again.retryAfter, 'the 20 s window, not the 60 s one').to.be.within(1, 20);

    // More points in the same window length: what was asked in the window still counts (2 taken, 1 refused: 3 of 5).
    await updateTenantLimits(stack.pool, tenant, { rateLimits: { read: { points: 5, durationSeconds: 20 } } });
    await settle();
    const more = await read();
    expect(more.state).to.include({ limit: 5, remaining: 1, windowSeconds: 20 });
    expect(more.state?.resetSeconds).to.be.within(1, 20);
  });

  it('keeps the budgets apart: a spent read budget blocks neither starts nor writes, and a spent start budget no reads', async () => {
    const key = await createTestKey(stack.pool, { role: 'operator' });
    for (let i = 0; i < 3; i++) await request(api, 'GET', '/api/v1/jobs?limit=1', undefined, bearer(key));
    expectRateLimited(await request(api, 'GET', '/api/v1/models', undefined, bearer(key)), 'read', 60);
    // A start with an invalid body passes the gate (a point of `start`) and fails validation: a 400, not a 429.
    for (let i = 0; i < 2; i++) {
      const res = await request(api, 'POST', '/api/v1/clustering', {}, bearer(key));
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
    }
    expectRateLimited(await request(api, 'POST', '/api/v1/clustering', {}, bearer(key)), 'start', 60);
    // Writes (a model create with a bad name: 400 after the gate) have their own budget.
    const write = await request(api, 'POST', '/api/v1/models', { name: '' }, bearer(key));
    expect(write.status, JSON.stringify(write.body)).to.equal(403); // operators may not create models...
    const editor = await createTestKey(stack.pool, { role: 'editor' });
    for (let i = 0; i < 2; i++) {
      expect((await request(api, 'POST', '/api/v1/models', { name: '' }, bearer(editor))).status).to.equal(400);
    }
    expectRateLimited(await request(api, 'POST', '/api/v1/models', { name: '' }, bearer(editor)), 'write', 60);
    expect((await request(api, 'GET', '/api/v1/models', undefined, bearer(editor))).status).to.equal(200);
    // Online predict keeps its own (default) budget: an unknown model is a 404 after the gate.
    const predict = await request(api, 'POST', '/api/v1/models/no-such-model/predict', { inputs: [[1]] }, bearer(key));
    expect(predict.status, JSON.stringify(predict.body)).to.equal(404);
  });

  it('holds one budget across two API instances with separate pools on the same database', async () => {
    const pool2 = createPool(stack.databaseUrl, 10);
    const api2 = await startTestApi(
      { pool: pool2, env: stack.env },
      {},
      {},
      {
        rateLimits: { read: { points: 10, durationSeconds: 60 } },
      },
    );
    const api1 = await startTestApi(stack, {}, {}, { rateLimits: { read: { points: 10, durationSeconds: 60 } } });
    try {
      const key = await createTestKey(stack.pool, { role: 'viewer' });
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          request(i % 2 ? api2 : api1, 'GET', '/api/v1/models?limit=1', undefined, bearer(key)),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length, statuses.join(',')).to.equal(10);
      expect(statuses.filter((s) => s === 429).length, statuses.join(',')).to.equal(20);
      // Both instances refused some: the count is shared, not each instance's own.
      expect(statuses.filter((s, i) => s === 429 && i % 2 === 0).length).to.be.greaterThan(0);
      expect(statuses.filter((s, i) => s === 429 && i % 2 === 1).length).to.be.greaterThan(0);
    } finally {
      await api1.close();
      await api2.close();
      await pool2.end();
    }
  });

  it("applies a tenant's override, set by a platform admin through /api/v1/tenants/:id/limits", async () => {
    const tenant = await createTestTenant(stack.pool, 'rl-override');
    const admin = await createTestKey(stack.pool, { platformAdmin: true });
    const notPlatform = await createTestKey(stack.pool, { tenantId: tenant, role: 'admin' });
    const forbidden = await request(
      api,
      'PATCH',
      `/api/v1/tenants/${tenant}/limits`,
      { rateLimits: { read: { points: 1, durationSeconds: 60 } } },
      bearer(notPlatform),
    );
    expect(forbidden.status, JSON.stringify(forbidden.body)).to.equal(403);

    const patched = await request(
      api,
      'PATCH',
      `/api/v1/tenants/${tenant}/limits`,
      { rateLimits: { read: { points: 5, durationSeconds: 30 } }, maxRunningJobs: 4 },
      bearer(admin),
    );
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect(patched.body).to.deep.equal({
      tenantId: tenant,
      rateLimits: { read: { points: 5, durationSeconds: 30 } },
      effectiveRateLimits: {
        start: { points: 2, durationSeconds: 60 },
        predict: DEFAULT_BUDGET_SIZES.predict,
        read: { points: 5, durationSeconds: 30 },
        write: { points: 2, durationSeconds: 60 },
      },
      maxRunningJobs: 4,
      effectiveMaxRunningJobs: 4,
    });
    const got = await request(api, 'GET', `/api/v1/tenants/${tenant}/limits`, undefined, bearer(admin));
    expect(got.body).to.deep.equal(patched.body);

    // The tenant's callers get 5 reads (this app's default is 3), each key its own 5.
    const viewer = await createTestKey(stack.pool, { tenantId: tenant, role: 'viewer' });
    for (let i = 0; i < 5; i++) {
      const res = await request(api, 'GET', '/api/v1/models', undefined, bearer(viewer));
      expect(res.status, `request ${i + 1}: ${JSON.stringify(res.body)}`).to.equal(200);
    }
    const refused = await request(api, 'GET', '/api/v1/models', undefined, bearer(viewer));
    expectRateLimited(refused, 'read', 30);
    expect(refused.body.error.message).to.contain('5 requests per 30 s');

    // null removes an override; maxRunningJobs null goes back to the default.
    const reset = await request(
      api,
      'PATCH',
      `/api/v1/tenants/${tenant}/limits`,
      { rateLimits: { read: null }, maxRunningJobs: null },
      bearer(admin),
    );
    expect(reset.body).to.include({
      maxRunningJobs: null,
      effectiveMaxRunningJobs: DEFAULT_MAX_RUNNING_JOBS_PER_TENANT,
    });
    expect(reset.body.rateLimits).to.deep.equal({});
  });

  it('validates limit changes: 400 naming the field, 404 for an unknown tenant', async () => {
    // A key per change: this app's write budget is 2.
    const patch = async (id: string, body: unknown) =>
      request(
        api,
        'PATCH',
        `/api/v1/tenants/${id}/limits`,
        body,
        bearer(await createTestKey(stack.pool, { platformAdmin: true })),
      );
    const zero = await patch('default', { rateLimits: { start: { points: 0, durationSeconds: 60 } } });
    expect(zero.status).to.equal(400);
    expect(zero.body.error.field).to.equal('rateLimits.start.points');
    const unknown = await patch('default', { rateLimits: { delete: { points: 1, durationSeconds: 60 } } });
    expect(unknown.body.error).to.include({ code: 'unknown_field', field: 'rateLimits.delete' });
    const jobs = await patch('default', { maxRunningJobs: 0 });
    expect(jobs.body.error.field).to.equal('maxRunningJobs');
    const missing = await patch('no-such-tenant', { maxRunningJobs: 2 });
    expect(missing.status).to.equal(404);
    const badId = await patch('Not.A.Tenant', { maxRunningJobs: 2 });
    expect(badId.body.error.field).to.equal('id');
  });

  it('answers 503 postgres (not a 500) when the store does not answer', async () => {
    const port = await freePort();
    const deadPool: Pool = createPool(
      `postgres://kiln:kiln@127.0.0.1:${port}/kiln`,
      2,
      createLogger({ level: 'silent' }),
      {
        connectMs: 500,
        queryMs: 500,
      },
    );
    try {
      const limits = createRateLimits({ pool: deadPool, defaults: DEFAULT_BUDGET_SIZES });
      const principal: Principal = {
        id: 'key:0123456789abcdef',
        tenantId: 'default',
        role: 'viewer',
        platformAdmin: false,
      };
      const err = await limits.consume(principal, 'read', '/api/v1/models').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(DependencyUnavailableError);
      expect(err).to.have.property('dependency', 'postgres');
    } finally {
      await deadPool.end();
    }
  });

  it('picks the budget a route declares, else read for GET and HEAD and write for the rest', () => {
    expect(budgetOf({ access: 'operator', budget: 'start' }, 'POST')).to.equal('start');
    expect(budgetOf({ access: 'viewer', budget: 'read' }, 'POST')).to.equal('read');
    expect(budgetOf({ access: 'viewer' }, 'GET')).to.equal('read');
    expect(budgetOf({ access: 'viewer' }, 'HEAD')).to.equal('read');
    expect(budgetOf({ access: 'editor' }, 'DELETE')).to.equal('write');
  });
});
