import { expect } from 'chai';
import { createLogger } from '../../common/logger';
import { bearer, createTestKey, createTestTenant, unsignedSsoVerifier } from '../support/auth';
import { freshLoopback, rawRequest } from '../support/raw-request';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

const keyIdOf = (key: string): string => key.slice(5, 21);
/** A request over node:http (rawRequest): headers exactly as given (an empty X-API-Key included), from an address of its own. */
const raw = (api: TestApi, method: string, path: string, headers: Record<string, string>, body?: string) =>
  rawRequest(api, method, path, headers, { localAddress: freshLoopback(), ...(body !== undefined ? { body } : {}) });

/**
 * The second breaker round's findings on access control: SSO sessions follow the membership, percent-encoded keys and
 * keys sent as request ids stay out of logs, platform-admin keys cannot all be left expiring, error fields.
 */
describe('access control fixes after the second breaker round', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  let ssoApi: TestApi;
  const lines: string[] = [];
  const issuer = 'https://idp.breaker.test/';
  const tenant = 'breaker-t';
  let tenantAdmin: string;

  /** An unsigned token for `sub` (the verifier below reads its claims as they are), valid for an hour. */
  const jwt = (sub: string) => {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: issuer, sub, exp })}.sig`;
  };

  before(async () => {
    stack = await getTestStack();
    const log = createLogger({ level: 'debug', destination: { write: (chunk: string) => void lines.push(chunk) } });
    api = await startTestApi(stack, {}, {}, { log });
    const sso = unsignedSsoVerifier(stack.pool, issuer);
    ssoApi = await startTestApi(stack, {}, {}, { sso });
    await createTestTenant(stack.pool, tenant);
    tenantAdmin = await createTestKey(stack.pool, { tenantId: tenant, role: 'admin' });
  });
  after(async () => {
    await ssoApi?.close();
    await api?.close();
  });

  /** Exactly these headers (no default key), JSON body when given. */
  const send = async (on: TestApi, method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${on.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const cookie = (sessionId: string) => ({ cookie: `kiln_session=${sessionId}` });
  /** Signs in with `token` on `on` and answers the session id of its cookie. */
  const signIn = async (on: TestApi, token: string): Promise<string> => {
    const res = await send(on, 'POST', '/api/v1/session', {}, { apiKey: token });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('kiln_session='))!;
    return set.split(';')[0]!.slice('kiln_session='.length);
  };
  const member = (subject: string, role: string) =>
    request(ssoApi, 'PUT', `/api/v1/members/${encodeURIComponent(subject)}`, { role }, bearer(tenantAdmin));

  it("an SSO session takes the member's current role on every request, and ends when the member is removed", async () => {
    const subject = `${issuer}|mallory`;
    expect((await member(subject, 'admin')).status).to.equal(201);
    const session = await signIn(ssoApi, jwt('mallory'));
    const who = await send(ssoApi, 'GET', '/api/v1/whoami', cookie(session));
    expect(who.body).to.include({ role: 'admin', tenantId: tenant });

    // Demoted: the very next request is a viewer's.
    expect((await member(subject, 'viewer')).status).to.equal(200);
    expect((await send(ssoApi, 'GET', '/api/v1/whoami', cookie(session))).body).to.include({ role: 'viewer' });
    const demoted = await send(ssoApi, 'POST', '/api/v1/api-keys', cookie(session), { name: 'x', role: 'admin' });
    expectError(demoted, 403, 'insufficient_role', 'a demoted member creating a key');

    // Removed: the session is over (its row deleted with the membership), and no key is created with it.
    expect((await member(subject, 'admin')).status).to.equal(200);
    const removed = await request(
      ssoApi,
      'DELETE',
      `/api/v1/members/${encodeURIComponent(subject)}`,
      undefined,
      bearer(tenantAdmin),
    );
    expect(removed.status).to.equal(204);
    const { rows } = await stack.pool.query('SELECT 1 FROM sessions WHERE tenant_id = $1 AND subject = $2', [
      tenant,
      subject,
    ]);
    expect(rows).to.deep.equal([]);
    for (const [method, path, body] of [
      ['GET', '/api/v1/whoami', undefined],
      ['POST', '/api/v1/api-keys', { name: 'forever', role: 'admin' }],
    ] as const) {
      const refused = await send(ssoApi, method, path, cookie(session), body);
      expectError(refused, 401, 'session_expired', `${method} ${path} after removal`);
      expect(refused.body.error.field).to.equal('kiln_session');
    }
    const keys = await stack.pool.query("SELECT 1 FROM api_keys WHERE tenant_id = $1 AND name = 'forever'", [tenant]);
    expect(keys.rows).to.deep.equal([]);
  });

  it('a membership removed behind the API (no session deleted) still ends the session on the next request', async () => {
    const subject = `${issuer}|trent`;
    expect((await member(subject, 'editor')).status).to.equal(201);
    const session = await signIn(ssoApi, jwt('trent'));
    await stack.pool.query('DELETE FROM tenant_members WHERE tenant_id = $1 AND subject = $2', [tenant, subject]);
    const refused = await send(ssoApi, 'GET', '/api/v1/whoami', cookie(session));
    expectError(refused, 401, 'session_expired');
    expect(refused.body.error.message).to.match(/no longer a member/);
    // Added back: the same session acts again, with the role it has now.
    expect((await member(subject, 'operator')).status).to.equal(201);
    expect((await send(ssoApi, 'GET', '/api/v1/whoami', cookie(session))).body).to.include({ role: 'operator' });
  });

  it('a dead session cookie is refused naming the kiln_session cookie, a revoked key behind a session too', async () => {
    const unknown = await raw(api, 'GET', '/api/v1/whoami', cookie('A'.repeat(43)));
    expectError(unknown, 401, 'session_expired');
    expect(unknown.body.error.field).to.equal('kiln_session');
    expect(unknown.body.error.message).to.equal(
      'the session has ended (signed out, expired, or ended by an admin: its key revoked or its membership removed): sign in again',
    );

    const key = await createTestKey(stack.pool, { tenantId: tenant, role: 'viewer' });
    const session = await signIn(api, key);
    expect(
      (await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(key)}`, undefined, bearer(tenantAdmin))).status,
    ).to.equal(204);
    const revoked = await raw(api, 'GET', '/api/v1/whoami', cookie(session));
    expectError(revoked, 401, 'key_revoked');
    expect(revoked.body.error.field).to.equal('kiln_session');
  });

  it('an empty X-API-Key names the header once; a sign-in that is not JSON is a 415', async () => {
    const empty = await raw(api, 'GET', '/api/v1/models', { 'x-api-key': '' });
    expectError(empty, 401, 'invalid_credentials');
    expect(empty.body.error.field).to.equal('X-API-Key');
    expect(empty.body.error.message.match(/X-API-Key/g)).to.have.length(1);

    const plain = await raw(api, 'POST', '/api/v1/session', { 'content-type': 'text/plain' }, '{"apiKey":"x"}');
    expectError(plain, 415, 'unsupported_media_type');
  });

  it('revoking platform-admin keys always leaves one without an expiry (409 last_platform_admin)', async () => {
    const create = async (name: string, expiresAt?: string) => {
      const res = await request(api, 'POST', '/api/v1/api-keys', {
        name,
        role: 'admin',
        platformAdmin: true,
        ...(expiresAt ? { expiresAt } : {}),
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.key as string;
    };
    const expiring = await create('expiring', new Date(Date.now() + 3600_000).toISOString());
    const spare = await create('spare');
    // Only api.key, the spare and the expiring key stay usable platform admins here; the others come back after.
    const { rows } = await stack.pool.query<{ key_id: string }>(
      `UPDATE api_keys SET revoked_at = now()
       WHERE platform_admin AND revoked_at IS NULL AND key_id <> ALL($1::text[]) RETURNING key_id`,
      [[keyIdOf(api.key), keyIdOf(spare), keyIdOf(expiring)]],
    );
    const asExpiring = bearer(expiring);
    try {
      expect(
        (await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(spare)}`, undefined, asExpiring)).status,
      ).to.equal(204);
      // api.key is the last one without an expiry: the expiring key may not revoke it.
      const last = await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(api.key)}`, undefined, asExpiring);
      expectError(last, 409, 'last_platform_admin');
      expect(last.body.error.field).to.equal('keyId');
      expect(last.body.error.message).to.match(/without an expiry/);
      expect((await request(api, 'GET', '/api/v1/tenants')).status, 'api.key is still a platform admin').to.equal(200);
      // The expiring one may go: a permanent one stays.
      expect((await request(api, 'DELETE', `/api/v1/api-keys/${keyIdOf(expiring)}`)).status).to.equal(204);
    } finally {
      await stack.pool.query('UPDATE api_keys SET revoked_at = NULL WHERE key_id = ANY($1::text[])', [
        [...rows.map((r) => r.key_id), keyIdOf(api.key)],
      ]);
    }
  });

  it('a percent-encoded key in a path, and a key sent as X-Request-Id, never reach the log or the answer', async () => {
    const key = await createTestKey(stack.pool, { tenantId: tenant, role: 'viewer' });
    const secret = key.slice(22);
    const encoded = key.replace(/_/g, '%5F');
    const requestIds: string[] = [];
    for (const path of [`/api/v1/api-keys/${encoded}`, `/api/v1/api-keys/${encoded.replace(/%5F/g, '%5f')}`]) {
      const res = await raw(api, 'DELETE', path, { ...bearer(tenantAdmin), 'x-request-id': key });
      expect(res.status).to.be.within(400, 404);
      expect(JSON.stringify(res.body)).to.not.include(secret);
      const id = res.headers.get('x-request-id')!;
      expect(id).to.match(/^[0-9a-f-]{36}$/);
      requestIds.push(id);
    }
    const logged = lines.filter((l) => requestIds.some((id) => l.includes(id)));
    expect(logged.length, 'the request logger wrote these requests').to.be.greaterThan(1);
    expect(logged.some((l) => l.includes(`kiln_${keyIdOf(key)}_[redacted]`))).to.equal(true);
    expect(lines.filter((l) => l.includes(secret))).to.deep.equal([]);
  });
});
