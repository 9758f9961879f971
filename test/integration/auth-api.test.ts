import { expect } from 'chai';
import { apiRouters } from '../../api/app';
import { ApiDeps } from '../../api/context';
import { openApiDocument } from '../../api/openapi';
import { PUBLIC_OPERATIONS } from '../../api/openapi-security';
import { KEY_CACHE_MS } from '../../api/auth/gate';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { roleAllows } from '../../common/auth/roles';
import { createLogger } from '../../common/logger';
import { DEFAULT_LIMITS } from '../../datasets/limits';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { routeAccess } from '../support/route-access';
import { SAFE_UNICODE_NAME, UNSAFE_NAMES } from '../support/unsafe-names';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** No credentials at all (request() sends the API's key otherwise). */
const NONE = { authorization: '' };

/** Tables a refused write must leave as they were. */
const TABLES = ['datasets', 'models', 'model_versions', 'model_aliases', 'api_keys', 'tenants', 'audit_events'];

/** A value for each path parameter of the document: shaped right, naming things that exist where it matters. */
const PATH_VALUES: Record<string, string> = {
  id: 'auth-probe',
  jobId: 'clustering-00000000-0000-4000-8000-0000000000a1',
  name: 'auth-probe',
  version: '1',
  alias: 'champion',
  algorithm: 'kmeans',
  keyId: '0123456789abcdef',
};

/** Bodies that would write if the gate let them through. */
const BODIES: Record<string, unknown> = {
  'POST /api/v1/datasets': { name: 'auth-probe-data', data: [[1, 2]] },
  'POST /api/v1/models': { name: 'auth-probe-new' },
  'PATCH /api/v1/models/{name}': { description: 'changed' },
  'POST /api/v1/api-keys': { name: 'probe', role: 'admin' },
  'POST /api/v1/tenants': { name: 'Probe Tenant' },
  'PATCH /api/v1/api-keys/{keyId}': { role: 'admin' },
  'POST /api/v1/api-keys/{keyId}/rotate': { graceSeconds: 0 },
  'PATCH /api/v1/tenants/{id}': { disabled: true },
};

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

/** The console's sign-in and sign-out: public by design (the key travels in the body). */
const SIGN_IN_OPERATIONS = ['POST /api/v1/session', 'DELETE /api/v1/session'];

describe('auth: API keys, roles, tenants (issue 12)', function () {
  let stack: TestStack;
  let api: TestApi;
  const logLines: string[] = [];

  const counts = async (): Promise<Record<string, number>> => {
    const entries = await Promise.all(
      TABLES.map(async (t) => [t, Number((await stack.pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n)]),
    );
    return Object.fromEntries(entries);
  };

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const log = createLogger({
      level: 'debug',
      destination: { write: (chunk: string) => void logLines.push(chunk) },
    });
    api = await startTestApi(stack, {}, {}, { log });
    expect((await request(api, 'POST', '/api/v1/models', { name: 'auth-probe' })).status).to.be.oneOf([201, 409]);
  });
  after(() => api?.close());

  it('refuses every mutating operation without credentials (401) and with a viewer key (403); nothing is written', async () => {
    const deps = { limits: DEFAULT_LIMITS, bodyLimits: DEFAULT_BODY_LIMITS, namespace: 'default' } as ApiDeps;
    const access = new Map(routeAccess(apiRouters(deps)).map((r) => [r.route, r.declaration]));
    const viewer = await createTestKey(stack.pool, { role: 'viewer' });
    const paths = openApiDocument(DEFAULT_LIMITS).paths as Record<string, Record<string, unknown>>;
    const probes = Object.entries(paths).flatMap(([path, item]) =>
      ['post', 'put', 'patch', 'delete']
        .filter((method) => method in item)
        .map((method) => ({
          route: `${method.toUpperCase()} ${path}`,
          method: method.toUpperCase(),
          url: path.replace(/\{(\w+)\}/g, (_m, name: string) => PATH_VALUES[name] ?? 'x'),
        })),
    );
    expect(probes.length).to.be.greaterThan(25);
    const before = await counts();
    let forbidden = 0;
    for (const probe of probes) {
      // Signing in and out are the only public changes: they need a key in the body, and write no tenant data.
      if (SIGN_IN_OPERATIONS.includes(probe.route)) {
        expect(PUBLIC_OPERATIONS.has(probe.route), probe.route).to.equal(true);
        const signIn = await request(api, probe.method, probe.url, BODIES[probe.route] ?? {}, NONE);
        expect(signIn.status, probe.route).to.be.oneOf([204, 400, 401]);
        continue;
      }
      expect(PUBLIC_OPERATIONS.has(probe.route), probe.route).to.equal(false);
      const body = BODIES[probe.route] ?? {};
      const anonymous = await request(api, probe.method, probe.url, body, NONE);
      expectError(anonymous, 401, 'unauthenticated', probe.route);
      expect(anonymous.headers.get('www-authenticate'), probe.route).to.match(/^Bearer/);
      const declared = access.get(probe.route);
      expect(declared, probe.route).to.not.equal(undefined);
      // A POST that only reads (schedule preview) is open to viewers: it answers, it writes nothing.
      if (declared!.access === 'viewer') continue;
      const { access: needs } = declared!;
      expect(needs === 'platform-admin' || (needs !== 'public' && !roleAllows('viewer', needs)), probe.route).to.equal(
        true,
      );
      expectError(
        await request(api, probe.method, probe.url, body, bearer(viewer)),
        403,
        'insufficient_role',
        probe.route,
      );
      forbidden++;
    }
    expect(forbidden).to.be.greaterThan(25);
    expect(await counts()).to.deep.equal(before);
    const metrics = (await request(api, 'GET', '/metrics', undefined, NONE)).body as string;
    expect(metrics).to.match(/kiln_auth_failures_total\{route="\/api\/v1\/models",reason="unauthenticated"\} [1-9]/);
    expect(metrics).to.match(/kiln_auth_failures_total\{route="\/api\/v1\/tenants",reason="insufficient_role"\} [1-9]/);
  });

  it('reads need a key too; public routes need none', async () => {
    expectError(await request(api, 'GET', '/api/v1/models', undefined, NONE), 401, 'unauthenticated');
    for (const path of ['/health', '/api/v1/openapi.json', '/api/v1/algorithms', '/api/algorithms', '/metrics']) {
      expect((await request(api, 'GET', path, undefined, NONE)).status, path).to.equal(200);
    }
  });

  it('refuses unknown, malformed, revoked and expired keys with 401 and the reason', async () => {
    const key = await createTestKey(stack.pool, { role: 'viewer' });
    expect((await request(api, 'GET', '/api/v1/models', undefined, bearer(key))).status).to.equal(200);
    expect((await request(api, 'GET', '/api/v1/models', undefined, { 'x-api-key': key })).status).to.equal(200);

    const [, keyId, secret] = /^kiln_([0-9a-f]{16})_(.+)$/.exec(key)!;
    const otherSecret = `${secret!.slice(0, -1)}${secret!.endsWith('A') ? 'B' : 'A'}`;
    const refused: Array<[Record<string, string>, string]> = [
      [bearer(`kiln_${keyId}_${otherSecret}`), 'a known id with the wrong secret'],
      [bearer(`kiln_ffffffffffffffff_${secret}`), 'an unknown id'],
      [bearer('kiln_short'), 'not a key'],
      [{ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 'Basic'],
      [{ authorization: 'Bearer' }, 'Bearer without a token'],
      [{ authorization: `Bearer ${key} extra` }, 'two tokens'],
      [{ 'x-api-key': 'nonsense' }, 'X-API-Key nonsense'],
    ];
    for (const [headers, what] of refused) {
      expectError(await request(api, 'GET', '/api/v1/models', undefined, headers), 401, 'invalid_credentials', what);
    }

    const expired = await createTestKey(stack.pool, { role: 'admin', expiresAt: new Date(Date.now() - 1000) });
    expectError(await request(api, 'GET', '/api/v1/models', undefined, bearer(expired)), 401, 'key_expired');

    // Revoked through the API: this process refuses it at once, although it had just cached the key's row.
    expect((await request(api, 'DELETE', `/api/v1/api-keys/${keyId}`)).status).to.equal(204);
    expectError(await request(api, 'GET', '/api/v1/models', undefined, bearer(key)), 401, 'key_revoked');
    const listed = await request(api, 'GET', '/api/v1/api-keys');
    expect(listed.body.apiKeys.find((k: { keyId: string }) => k.keyId === keyId).revokedAt).to.be.a('string');
  });

  it('another replica (its own cache) stops accepting a revoked key within the cache time', async function () {
    this.timeout(30_000);
    const other = await startTestApi(stack);
    try {
      const key = await createTestKey(stack.pool, { role: 'viewer' });
      const keyId = key.slice(5, 21);
      expect((await request(other, 'GET', '/api/v1/models', undefined, bearer(key))).status).to.equal(200);
      const revokedAt = Date.now();
      expect((await request(api, 'DELETE', `/api/v1/api-keys/${keyId}`)).status).to.equal(204);
      await eventually(
        () => request(other, 'GET', '/api/v1/models', undefined, bearer(key)),
        (res) => res.status === 401,
        KEY_CACHE_MS + 3_000,
      );
      expect(Date.now() - revokedAt).to.be.below(KEY_CACHE_MS + 3_000);
    } finally {
      await other.close();
    }
  });

  it('admin routes refuse an editor (403); tenant routes refuse a tenant admin (403)', async () => {
    const editor = bearer(await createTestKey(stack.pool, { role: 'editor' }));
    expectError(await request(api, 'GET', '/api/v1/api-keys', undefined, editor), 403, 'insufficient_role');
    expectError(
      await request(api, 'POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }, editor),
      403,
      'insufficient_role',
    );
    expectError(
      await request(api, 'DELETE', '/api/v1/api-keys/0123456789abcdef', undefined, editor),
      403,
      'insufficient_role',
    );
    const admin = bearer(await createTestKey(stack.pool, { role: 'admin' }));
    expect((await request(api, 'GET', '/api/v1/api-keys', undefined, admin)).status).to.equal(200);
    expectError(await request(api, 'GET', '/api/v1/tenants', undefined, admin), 403, 'insufficient_role');
    expectError(await request(api, 'POST', '/api/v1/tenants', { name: 'Nope' }, admin), 403, 'insufficient_role');
  });

  it('an admin creates keys of their own tenant (shown once), lists them without secrets, revokes them', async () => {
    const tenant = await createTestTenant(stack.pool, `keys-${Date.now().toString(36)}`);
    const admin = bearer(await createTestKey(stack.pool, { tenantId: tenant, role: 'admin' }));
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await request(api, 'POST', '/api/v1/api-keys', { name: 'ci', role: 'operator', expiresAt }, admin);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body).to.include({ tenantId: tenant, name: 'ci', role: 'operator', platformAdmin: false });
    expect(created.body.key).to.match(/^kiln_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.key.slice(5, 21)).to.equal(created.body.keyId);
    expect(Date.parse(created.body.expiresAt)).to.equal(Date.parse(expiresAt));
    expect(created.body.createdBy).to.match(/^key:[0-9a-f]{16}$/);
    const operator = bearer(created.body.key);
    expect((await request(api, 'GET', '/api/v1/models', undefined, operator)).status).to.equal(200);

    const listed = await request(api, 'GET', '/api/v1/api-keys', undefined, admin);
    expect(listed.status).to.equal(200);
    expect(listed.body.apiKeys.map((k: { tenantId: string }) => k.tenantId)).to.deep.equal([tenant, tenant]);
    const text = JSON.stringify(listed.body);
    expect(text).to.not.contain(created.body.key.slice(22));
    expect(text).to.not.match(/secret|sha256|hash|"key"/i);
    // Used once: last_used_at is written (fire and forget, so perhaps a moment later).
    await eventually(
      () => request(api, 'GET', '/api/v1/api-keys', undefined, admin),
      (res) =>
        typeof res.body.apiKeys.find((k: { keyId: string }) => k.keyId === created.body.keyId)?.lastUsedAt === 'string',
      5_000,
    );

    // Never a platform admin, never another tenant; unknown fields and past expiry refused.
    for (const [body, field] of [
      [{ name: 'p', role: 'admin', platformAdmin: true }, 'platformAdmin'],
      [{ name: 'p', role: 'admin', tenantId: 'default' }, 'tenantId'],
      [{ name: 'p', role: 'root' }, 'role'],
      [{ name: '', role: 'viewer' }, 'name'],
      [{ name: 'p', role: 'viewer', expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    ] as const) {
      const res = await request(api, 'POST', '/api/v1/api-keys', body, admin);
      expect(res.status, JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.field).to.equal(field);
    }
    // The default tenant's keys are not this admin's: 404, as a key that does not exist.
    const defaults = (await request(api, 'GET', '/api/v1/api-keys')).body.apiKeys as Array<{ keyId: string }>;
    expect(defaults.length).to.be.greaterThan(0);
    expectError(
      await request(api, 'DELETE', `/api/v1/api-keys/${defaults[0]!.keyId}`, undefined, admin),
      404,
      'not_found',
    );
    // Not a key id at all: a 400 naming the field, the value not echoed (it may be a whole key pasted there).
    const malformed = await request(api, 'DELETE', '/api/v1/api-keys/not-a-key-id', undefined, admin);
    expectError(malformed, 400, 'invalid_request');
    expect(malformed.body.error).to.include({ field: 'keyId' });
    expect(malformed.body.error.message).to.not.contain('not-a-key-id');
    expect((await request(api, 'GET', '/api/v1/models')).status, 'the default key still works').to.equal(200);

    expect((await request(api, 'DELETE', `/api/v1/api-keys/${created.body.keyId}`, undefined, admin)).status).to.equal(
      204,
    );
    expectError(await request(api, 'GET', '/api/v1/models', undefined, operator), 401, 'key_revoked');
  });

  it('a platform admin creates tenants with a first admin key (409 when the id exists) and lists them', async () => {
    const suffix = Date.now().toString(36);
    const created = await request(api, 'POST', '/api/v1/tenants', { name: `Acme Labs ${suffix}` });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body).to.include({ id: `acme-labs-${suffix}`, name: `Acme Labs ${suffix}` });
    expect(created.body.adminKey).to.include({ tenantId: `acme-labs-${suffix}`, role: 'admin', platformAdmin: false });
    // The answer carries a secret: no cache keeps it.
    expect(created.headers.get('cache-control')).to.equal('no-store');
    expect(created.headers.get('pragma')).to.equal('no-cache');
    const admin = bearer(created.body.adminKey.key);
    const keys = await request(api, 'GET', '/api/v1/api-keys', undefined, admin);
    expect(keys.body.apiKeys.map((k: { keyId: string }) => k.keyId)).to.deep.equal([created.body.adminKey.keyId]);
    expectError(await request(api, 'GET', '/api/v1/tenants', undefined, admin), 403, 'insufficient_role');

    const again = await request(api, 'POST', '/api/v1/tenants', { name: 'Another', id: `acme-labs-${suffix}` });
    expectError(again, 409, 'conflict');
    const explicit = await request(api, 'POST', '/api/v1/tenants', { name: 'Ü', id: `t${suffix}` });
    expect(explicit.status, JSON.stringify(explicit.body)).to.equal(201);
    for (const body of [{ name: 'x', id: 'Bad.Id' }, { name: 'x', id: '9lives' }, { name: '***' }]) {
      const bad = await request(api, 'POST', '/api/v1/tenants', body);
      expect(bad.status, JSON.stringify(bad.body)).to.equal(400);
      expect(bad.body.error.field).to.equal('id');
    }
    for (const [what, name] of Object.entries(UNSAFE_NAMES)) {
      const bad = await request(api, 'POST', '/api/v1/tenants', { name, id: `bad-${suffix}` });
      expectError(bad, 400, 'invalid_request', what);
      expect(bad.body.error.field, what).to.equal('name');
    }
    const unicode = await request(api, 'POST', '/api/v1/tenants', { name: SAFE_UNICODE_NAME, id: `u${suffix}` });
    expect(unicode.status, JSON.stringify(unicode.body)).to.equal(201);
    expect(unicode.body.name).to.equal(SAFE_UNICODE_NAME);
    const list = await request(api, 'GET', '/api/v1/tenants');
    expect(list.body.tenants.map((t: { id: string }) => t.id)).to.include.members([
      'default',
      `acme-labs-${suffix}`,
      `t${suffix}`,
    ]);
  });

  it('logs no key and no secret, whatever the request', async () => {
    const created = await request(api, 'POST', '/api/v1/api-keys', { name: 'logged?', role: 'viewer' });
    expect(created.status).to.equal(201);
    const tenant = await request(api, 'POST', '/api/v1/tenants', { name: `Log ${Date.now().toString(36)}` });
    expect(tenant.status).to.equal(201);
    const secrets = [created.body.key, tenant.body.adminKey.key, api.key];
    const wrong = `${created.body.key.slice(0, -4)}AAAA`;
    await request(api, 'GET', '/api/v1/models', undefined, bearer(wrong));
    await request(api, 'GET', '/api/v1/models', undefined, { 'x-api-key': wrong });
    await request(api, 'GET', '/api/v1/models', undefined, { authorization: `Token ${created.body.key}` });
    await request(api, 'GET', '/api/v1/models', undefined, bearer(created.body.key));
    await request(api, 'POST', '/api/v1/models', { name: 'bad name!' }, bearer(created.body.key));
    // Debug logs every request: the check below reads real lines.
    expect(logLines.length).to.be.greaterThan(20);
    const all = logLines.join('');
    for (const key of [...secrets, wrong]) {
      expect(all).to.not.contain(key);
      expect(all).to.not.contain(key.slice(22)); // the secret part alone
    }
  });
});
