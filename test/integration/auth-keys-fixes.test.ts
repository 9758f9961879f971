import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import type { Context } from 'koa';
import type { Pool } from 'pg';
import { createAccessGate } from '../../api/auth/gate';
import { TooManyRequestsError, UnauthorizedError } from '../../common/errors';
import { createLogger } from '../../common/logger';
import { DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { freshLoopback, rawRequest } from '../support/raw-request';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

/** A GET over node:http (rawRequest): headers exactly as given (an empty `Authorization:` included), from `localAddress`. */
const rawGet = (api: TestApi, path: string, headers: Record<string, string>, localAddress?: string) =>
  rawRequest(api, 'GET', path, headers, localAddress ? { localAddress } : {});

const keyIdOf = (key: string): string => key.slice(5, 21);

describe('auth fixes: platform admins, audit, key ids, failure budget, empty headers (issue 12)', function () {
  let stack: TestStack;
  let api: TestApi;
  const logLines: string[] = [];

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const log = createLogger({ level: 'debug', destination: { write: (chunk: string) => void logLines.push(chunk) } });
    api = await startTestApi(stack, {}, {}, { log });
  });
  after(() => api?.close());

  it('a tenant admin cannot revoke a platform-admin key (403); a platform admin creates a second one', async () => {
    const tenantAdmin = bearer(await createTestKey(stack.pool, { role: 'admin' }));
    expectError(
      await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(api.key)}`, undefined, tenantAdmin),
      403,
      'insufficient_role',
    );
    expect((await request(api, 'GET', '/api/v1/tenants')).status, 'the platform admin still works').to.equal(200);
    const refused = await request(
      api,
      'POST',
      '/api/v1/api-keys',
      { name: 'p', role: 'admin', platformAdmin: true },
      tenantAdmin,
    );
    expectError(refused, 400, 'invalid_request');
    expect(refused.body.error.field).to.equal('platformAdmin');

    const second = await request(api, 'POST', '/api/v1/api-keys', {
      name: 'second',
      role: 'admin',
      platformAdmin: true,
    });
    expect(second.status, JSON.stringify(second.body)).to.equal(201);
    expect(second.body).to.include({ platformAdmin: true, role: 'admin', tenantId: 'default' });
    expect((await request(api, 'GET', '/api/v1/tenants', undefined, bearer(second.body.key))).status).to.equal(200);
    const viewerAdmin = await request(api, 'POST', '/api/v1/api-keys', {
      name: 'v',
      role: 'viewer',
      platformAdmin: true,
    });
    expectError(viewerAdmin, 400, 'invalid_request');
    expect(viewerAdmin.body.error.field).to.equal('role');
  });

  it('never revokes the last usable platform-admin key (409 last_platform_admin)', async () => {
    const second = await request(api, 'POST', '/api/v1/api-keys', {
      name: 'spare',
      role: 'admin',
      platformAdmin: true,
    });
    expect(second.status).to.equal(201);
    // Only api.key and the spare stay usable platform admins for this test; the others come back after it.
    const { rows } = await stack.pool.query<{ key_id: string }>(
      `UPDATE api_keys SET revoked_at = now()
       WHERE platform_admin AND revoked_at IS NULL AND key_id <> ALL($1::text[]) RETURNING key_id`,
      [[keyIdOf(api.key), second.body.keyId]],
    );
    try {
      expect((await request(api, 'DELETE', `/api/v1/api-keys/${second.body.keyId}`)).status).to.equal(204);
      const last = await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(api.key)}`);
      expectError(last, 409, 'last_platform_admin');
      expect(last.body.error.field).to.equal('keyId');
      expect((await request(api, 'GET', '/api/v1/tenants')).status, 'still a platform admin').to.equal(200);
    } finally {
      await stack.pool.query('UPDATE api_keys SET revoked_at = NULL WHERE key_id = ANY($1::text[])', [
        rows.map((r) => r.key_id),
      ]);
    }
  });

  it('a key pasted whole in the path is a 400 naming keyId, never echoed; logs keep the id only', async () => {
    const created = await request(api, 'POST', '/api/v1/api-keys', { name: 'pasted', role: 'viewer' });
    const key: string = created.body.key;
    const secret = key.slice(22);
    for (const path of [`/api/v1/api-keys/${key}`, '/api/v1/api-keys/not-a-key-id']) {
      const res = await request(api, 'DELETE', path);
      expectError(res, 400, 'invalid_request', path);
      expect(res.body.error.field).to.equal('keyId');
      expect(JSON.stringify(res.body)).to.not.contain(secret).and.not.contain('not-a-key-id');
    }
    const unrouted = await request(api, 'GET', `/api/v1/nothing/${key}`);
    expect(unrouted.status).to.equal(404);
    expect(JSON.stringify(unrouted.body)).to.not.contain(secret);
    expect(unrouted.body.error.message).to.contain(`kiln_${keyIdOf(key)}_[redacted]`);
    const all = logLines.join('');
    expect(all).to.not.contain(secret);
    expect(all).to.contain(`/api/v1/api-keys/kiln_${keyIdOf(key)}_[redacted]`);
    expect((await request(api, 'GET', '/api/v1/models', undefined, bearer(key))).status, 'not revoked').to.equal(200);
  });

  it('audits key and tenant actions with their actor; the key list shows who revoked; ?limit= is honoured', async () => {
    const tenant = await createTestTenant(stack.pool, `audit-${Date.now().toString(36)}`);
    const adminKey = await createTestKey(stack.pool, { tenantId: tenant, role: 'admin' });
    const admin = bearer(adminKey);
    const created = await request(api, 'POST', '/api/v1/api-keys', { name: 'ci', role: 'operator' }, admin);
    expect(created.status).to.equal(201);
    expect((await request(api, 'DELETE', `/api/v1/api-keys/${created.body.keyId}`, undefined, admin)).status).to.equal(
      204,
    );
    // Revoking again changes nothing and records nothing.
    expect((await request(api, 'DELETE', `/api/v1/api-keys/${created.body.keyId}`, undefined, admin)).status).to.equal(
      204,
    );
    const events = await stack.pool.query(
      `SELECT action, actor, details FROM audit_events
       WHERE tenant_id = $1 AND entity_type = 'api_key' AND entity_id = $2 ORDER BY id`,
      [tenant, created.body.keyId],
    );
    const actor = `key:${keyIdOf(adminKey)}`;
    expect(events.rows.map((r) => [r.action, r.actor])).to.deep.equal([
      ['created', actor],
      ['revoked', actor],
    ]);
    expect(events.rows[0].details).to.include({ name: 'ci', role: 'operator', platformAdmin: false });

    const listed = await request(api, 'GET', '/api/v1/api-keys', undefined, admin);
    const views = listed.body.apiKeys as Array<{ keyId: string; revokedBy: string | null }>;
    expect(views.find((k) => k.keyId === created.body.keyId)?.revokedBy).to.equal(actor);
    expect(views.find((k) => k.keyId === keyIdOf(adminKey))?.revokedBy).to.equal(null);
    const one = await request(api, 'GET', '/api/v1/api-keys?limit=1', undefined, admin);
    expect(one.body.apiKeys.map((k: { keyId: string }) => k.keyId)).to.deep.equal([views[0]!.keyId]);
    for (const query of ['limit=0', 'limit=x', 'tenantId=default']) {
      const bad = await request(api, 'GET', `/api/v1/api-keys?${query}`, undefined, admin);
      expect(bad.status, query).to.equal(400);
      expect(bad.body.error.field, query).to.match(/^query\.(limit|tenantId)$/);
    }

    const newTenant = await request(api, 'POST', '/api/v1/tenants', { name: `Audited ${Date.now().toString(36)}` });
    expect(newTenant.status).to.equal(201);
    const trail = await stack.pool.query(
      'SELECT entity_type, entity_id, action, actor, details FROM audit_events WHERE tenant_id = $1 ORDER BY id',
      [newTenant.body.id],
    );
    const platformActor = `key:${keyIdOf(api.key)}`;
    expect(trail.rows.map((r) => [r.entity_type, r.entity_id, r.action, r.actor])).to.deep.equal([
      ['tenant', newTenant.body.id, 'created', platformActor],
      ['api_key', newTenant.body.adminKey.keyId, 'created', platformActor],
    ]);
    expect(trail.rows[1].details).to.include({ actorTenantId: 'default', role: 'admin' });
  });

  it('an empty Authorization or X-API-Key header is a 401 invalid_credentials, never taken for none', async () => {
    const viewer = await createTestKey(stack.pool, { role: 'viewer' });
    const ip = freshLoopback();
    expect((await rawGet(api, '/api/v1/models', { 'x-api-key': viewer }, ip)).status).to.equal(200);
    const empty = await rawGet(api, '/api/v1/models', { authorization: '', 'x-api-key': viewer }, ip);
    expectError(empty, 401, 'invalid_credentials', 'empty Authorization');
    expect(empty.body.error.field).to.equal('Authorization');
    const emptyKey = await rawGet(api, '/api/v1/models', { 'x-api-key': '' }, ip);
    expectError(emptyKey, 401, 'invalid_credentials', 'empty X-API-Key');
    expect(emptyKey.body.error.field).to.equal('X-API-Key');
    for (const wrong of ['nonsense', `${viewer.slice(0, -4)}AAAA`]) {
      const res = await rawGet(api, '/api/v1/models', { 'x-api-key': wrong }, ip);
      expectError(res, 401, 'invalid_credentials', wrong);
      expect(res.body.error.field).to.equal('X-API-Key');
    }
    const wrongBearer = await rawGet(api, '/api/v1/models', bearer(`${viewer.slice(0, -4)}AAAA`), ip);
    expect(wrongBearer.body.error.field).to.equal('Authorization');
  });

  it('past its budget of failed authentications an address gets 429 until the window ends; successes cost nothing', async function () {
    this.timeout(60_000);
    const limited = await startTestApi(
      stack,
      {},
      {},
      { rateLimits: { authFailures: { points: 3, durationSeconds: 60 } } },
    );
    try {
      const good = await createTestKey(stack.pool, { role: 'viewer' });
      const wrong = `kiln_${'f'.repeat(16)}_${good.slice(22)}`;
      const ip = freshLoopback();
      // Successes first: they spend nothing.
      for (let i = 0; i < 5; i++)
        expect((await rawGet(limited, '/api/v1/models', bearer(good), ip)).status).to.equal(200);
      for (let i = 0; i < 3; i++) {
        expectError(await rawGet(limited, '/api/v1/models', bearer(wrong), ip), 401, 'invalid_credentials', `try ${i}`);
      }
      const refused = await rawGet(limited, '/api/v1/models', bearer(wrong), ip);
      expectError(refused, 429, 'rate_limited');
      expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
      // Blocked: even a good key from that address waits.
      expectError(await rawGet(limited, '/api/v1/models', bearer(good), ip), 429, 'rate_limited');
      // Another address is not.
      expect((await rawGet(limited, '/api/v1/models', bearer(good), freshLoopback())).status).to.equal(200);
      // Missing credentials are no failure of verification: they spend nothing.
      const other = freshLoopback();
      for (let i = 0; i < 5; i++) {
        expectError(await rawGet(limited, '/api/v1/models', {}, other), 401, 'unauthenticated');
      }
      expect((await rawGet(limited, '/api/v1/models', bearer(good), other)).status).to.equal(200);
      const metrics = (await request(limited, 'GET', '/metrics', undefined, { authorization: '' })).body as string;
      expect(metrics).to.match(/kiln_rate_limited_total\{route="\/api\/v1\/models",budget="auth_failures"\} 2/);
    } finally {
      await limited.close();
    }
  });

  it('a blocked address costs no key lookup (the gate refuses before verifying)', async () => {
    let keyLookups = 0;
    const counting = new Proxy(stack.pool, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return (...args: unknown[]) => {
            if (typeof args[0] === 'string' && args[0].includes('FROM api_keys')) keyLookups++;
            return (target.query as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as Pool;
    const gate = createAccessGate({
      pool: counting,
      rateLimits: { ...DEFAULT_BUDGET_SIZES, authFailures: { points: 2, durationSeconds: 60 } },
      keyCacheMs: 0,
    });
    const ip = `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    const ctxWith = (token: string) => {
      const headers = { authorization: `Bearer ${token}` };
      return {
        ip,
        method: 'GET',
        headers,
        state: {},
        cookies: { get: () => undefined },
        get: (name: string) => headers[name.toLowerCase() as 'authorization'] ?? '',
      } as unknown as Context;
    };
    const unknown = (n: number) => `kiln_${n.toString(16).padStart(16, '0')}_${'A'.repeat(43)}`;
    const attempt = async (token: string): Promise<unknown> => {
      try {
        await gate.authorize(ctxWith(token), { access: 'viewer' });
        return undefined;
      } catch (err) {
        return err;
      }
    };
    expect(await attempt(unknown(1))).to.be.instanceOf(UnauthorizedError);
    expect(await attempt(unknown(2))).to.be.instanceOf(UnauthorizedError);
    expect(await attempt(unknown(3))).to.be.instanceOf(TooManyRequestsError);
    const before = keyLookups;
    expect(before).to.equal(3);
    for (let i = 4; i < 20; i++) expect(await attempt(unknown(i))).to.be.instanceOf(TooManyRequestsError);
    expect(keyLookups, 'no lookup once blocked').to.equal(before);
    expect(await attempt(api.key), 'a good key from a blocked address').to.be.instanceOf(TooManyRequestsError);
    expect(keyLookups).to.equal(before);
  });
});
