import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { KEY_CACHE_MS } from '../../api/auth/gate';
import { createLogger } from '../../common/logger';
import { bearer, createTestKey, createTestTenant, unsignedSsoVerifier } from '../support/auth';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** The `kiln_session=...` Set-Cookie header of a response, or undefined. */
function sessionCookieOf(headers: Headers): string | undefined {
  return headers.getSetCookie().find((c) => c.startsWith('kiln_session='));
}

/** The value a Set-Cookie header gives `kiln_session` (the session id). */
function sessionIdOf(headers: Headers): string {
  const cookie = sessionCookieOf(headers);
  if (!cookie) throw new Error('no kiln_session cookie was set');
  return cookie.split(';')[0]!.slice('kiln_session='.length);
}

/** The Expires attribute of a Set-Cookie header, as milliseconds since the epoch. */
function expiresOf(cookie: string): number {
  return Date.parse(
    cookie
      .split(/;\s*/)
      .find((a) => a.toLowerCase().startsWith('expires='))!
      .slice(8),
  );
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The console's sign-in routes (POST/DELETE /api/v1/session, GET /api/v1/whoami): server-side sessions whose opaque id
 * the cookie carries, ended by signing out, by their expiry, and by revoking their key.
 */
describe('sessions and whoami', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  const lines: string[] = [];
  /** Every session id the tests were given: none may reach the log either. */
  const sessionIds: string[] = [];
  let viewerKey: string;
  let adminKey: string;

  before(async () => {
    stack = await getTestStack();
    // Debug level: the request logger writes a line per request, so a key in any of them would show.
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    api = await startTestApi(stack, {}, {}, { log: createLogger({ level: 'debug', format: 'json', destination }) });
    await createTestTenant(stack.pool, 'session-t');
    viewerKey = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'viewer' });
    adminKey = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'admin' });
  });
  after(async () => api?.close());

  /**
   * A request with exactly these headers (fetch, not test-api's request(): whatever credentials that may send by
   * default would hide the cookie's, and these tests are about which credentials a request carries).
   */
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    on: TestApi = api,
  ) => {
    const res = await fetch(`${on.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const signIn = (apiKey: unknown, headers: Record<string, string> = {}) =>
    send('POST', '/api/v1/session', { apiKey }, headers);
  const withCookie = (sessionId: string, more: Record<string, string> = {}) => ({
    cookie: `kiln_session=${sessionId}`,
    ...more,
  });
  /** Signs `key` in and answers the session id its cookie holds. */
  const sessionFor = async (key: string): Promise<string> => {
    const res = await signIn(key);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const id = sessionIdOf(res.headers);
    sessionIds.push(id);
    return id;
  };
  const whoami = (sessionId: string) => send('GET', '/api/v1/whoami', undefined, withCookie(sessionId));

  it('signs in with a key: an HttpOnly, SameSite=Strict cookie for 12 hours holding an opaque session id, and the caller', async () => {
    const res = await signIn(viewerKey);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const keyId = viewerKey.split('_')[1]!;
    expect(res.body).to.deep.equal({
      id: `key:${keyId}`,
      tenantId: 'session-t',
      role: 'viewer',
      platformAdmin: false,
      keyId,
      can: { start: false, edit: false, approve: false, admin: false },
    });
    const cookie = sessionCookieOf(res.headers)!;
    expect(cookie).to.be.a('string');
    const attributes = cookie.split(/;\s*/).map((a) => a.toLowerCase());
    expect(attributes).to.include.members(['path=/', 'httponly', 'samesite=strict']);
    // Plain http here: Secure would make the browser drop it.
    expect(attributes).not.to.include('secure');
    expect(expiresOf(cookie) - Date.now()).to.be.within(12 * 3600_000 - 60_000, 12 * 3600_000 + 1000);
    expect(res.headers.get('cache-control')).to.equal('no-store');

    // No key material in the cookie: 256 random bits, neither the key, its secret nor its id.
    const sessionId = sessionIdOf(res.headers);
    sessionIds.push(sessionId);
    expect(sessionId).to.match(/^[A-Za-z0-9_-]{43}$/);
    const secret = viewerKey.split('_').slice(2).join('_');
    for (const part of [viewerKey, secret, keyId]) expect(sessionId).not.to.include(part);
    // A second sign-in with the same key is another session.
    expect(await sessionFor(viewerKey)).not.to.equal(sessionId);

    // The database holds only the id's hash, and the key's id (never its secret).
    const { rows } = await stack.pool.query(
      'SELECT *, extract(epoch FROM expires_at - created_at) AS ttl FROM sessions WHERE tenant_id = $1 AND id_sha256 = $2',
      ['session-t', sha256(sessionId)],
    );
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ kind: 'key', key_id: keyId, subject: null, role: null });
    expect(Number(rows[0].ttl)).to.be.closeTo(12 * 3600, 5);
    const stored = JSON.stringify(rows[0]);
    for (const part of [sessionId, secret]) expect(stored).not.to.include(part);
  });

  it('refuses a wrong, malformed or cookie-unsafe key with 401 and sets no cookie', async () => {
    const [id] = adminKey.split('_').slice(1);
    const wrongSecret = `kiln_${id}_${'A'.repeat(43)}`;
    for (const apiKey of [wrongSecret, 'not-a-key', 'kiln_x; Path=/', `${adminKey} extra`, ' ']) {
      const res = await signIn(apiKey);
      expect(res.status, `${apiKey}: ${JSON.stringify(res.body)}`).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_credentials');
      expect(sessionCookieOf(res.headers), apiKey).to.equal(undefined);
    }
    expect((await signIn('')).status).to.equal(400);
    expect((await send('POST', '/api/v1/session', { apiKey: adminKey, extra: 1 })).status).to.equal(400);
    const revoked = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'admin' });
    await stack.pool.query('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [revoked.split('_')[1]]);
    const refused = await signIn(revoked);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.code).to.equal('key_revoked');
    expect(sessionCookieOf(refused.headers)).to.equal(undefined);
  });

  it('the session is the caller on every route: whoami, reads, and a 403 past its role; a key is no cookie', async () => {
    const session = await sessionFor(viewerKey);
    const who = await whoami(session);
    expect(who.status).to.equal(200);
    expect(who.body).to.include({ tenantId: 'session-t', role: 'viewer' });
    expect((await send('GET', '/api/v1/jobs', undefined, withCookie(session))).status).to.equal(200);
    // A viewer may not start: the gate read the session (no credentials at all would be a 401).
    const start = await send('POST', '/api/v1/training', {}, withCookie(session));
    expect(start.status, JSON.stringify(start.body)).to.equal(403);
    expect(start.body.error.code).to.equal('insufficient_role');
    // Authorization wins over the cookie.
    const both = await send('GET', '/api/v1/whoami', undefined, { ...withCookie(session), ...bearer(adminKey) });
    expect(both.body).to.include({ role: 'admin' });
    expect(both.body.can).to.deep.equal({ start: true, edit: true, approve: true, admin: true });
    // The key itself in the cookie (as before sessions were server-side) opens nothing: only a session does.
    for (const value of [viewerKey, 'x'.repeat(43), 'garbage']) {
      const raw = await whoami(value);
      expect(raw.status, value).to.equal(401);
      expect(raw.body.error.code).to.equal('session_expired');
    }
  });

  it('whoami without credentials is 401', async () => {
    const res = await send('GET', '/api/v1/whoami');
    expect(res.status).to.equal(401);
    expect(res.body.error.code).to.equal('unauthenticated');
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
  });

  it("revoking the key ends its sessions at once (through the API); another process's within the key cache's time", async () => {
    const doomed = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'viewer' });
    const keyId = doomed.split('_')[1]!;
    const [one, two] = [await sessionFor(doomed), await sessionFor(doomed)];
    // Both work, and the key's row is now in the gate's cache.
    for (const s of [one, two]) expect((await whoami(s)).status).to.equal(200);
    const revoked = await send('DELETE', `/api/v1/api-keys/${keyId}`, undefined, bearer(adminKey));
    expect(revoked.status, JSON.stringify(revoked.body)).to.equal(204);
    for (const s of [one, two]) {
      const gone = await whoami(s);
      expect(gone.status).to.equal(401);
      expect(gone.body.error.code).to.equal('key_revoked');
    }

    // Revoked behind this process's back (another replica, or SQL): its cached row lasts KEY_CACHE_MS at most.
    const other = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'viewer' });
    const session = await sessionFor(other);
    expect((await whoami(session)).status).to.equal(200);
    await stack.pool.query('UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND key_id = $2', [
      'session-t',
      other.split('_')[1],
    ]);
    const revokedAt = Date.now();
    let last = await whoami(session);
    while (last.status === 200 && Date.now() - revokedAt < KEY_CACHE_MS + 2000) {
      await new Promise((r) => setTimeout(r, 200));
      last = await whoami(session);
    }
    expect(last.status).to.equal(401);
    expect(last.body.error.code).to.equal('key_revoked');
  });

  it('an expired session is refused (401 session_expired), whatever the cookie still says', async () => {
    const session = await sessionFor(viewerKey);
    expect((await whoami(session)).status).to.equal(200);
    await stack.pool.query(
      "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id_sha256 = $2",
      ['session-t', sha256(session)],
    );
    const res = await whoami(session);
    expect(res.status).to.equal(401);
    expect(res.body.error.code).to.equal('session_expired');
    expect((await send('GET', '/api/v1/jobs', undefined, withCookie(session))).status).to.equal(401);
    // Its key still works.
    expect((await send('GET', '/api/v1/whoami', undefined, bearer(viewerKey))).status).to.equal(200);
  });

  it("a session of tenant A's key never reads tenant B, whatever the request says", async () => {
    await createTestTenant(stack.pool, 'session-u');
    const keyB = await createTestKey(stack.pool, { tenantId: 'session-u', role: 'admin' });
    const uploaded = await request(api, 'POST', '/api/v1/datasets', 'x,y\n1,2\n3,4\n', {
      ...bearer(keyB),
      'content-type': 'text/csv',
    });
    expect(uploaded.status, JSON.stringify(uploaded.body)).to.be.oneOf([200, 201]);
    const datasetB = uploaded.body.id as string;
    // B's own key reads it: the 404s below are about the session's tenant.
    expect((await send('GET', `/api/v1/datasets/${datasetB}`, undefined, bearer(keyB))).status).to.equal(200);

    const sessionA = await sessionFor(adminKey);
    const variants: Array<Record<string, string>> = [{}, { 'x-kiln-tenant': 'session-u' }];
    for (const more of variants) {
      const who = await send('GET', '/api/v1/whoami', undefined, withCookie(sessionA, more));
      expect(who.body).to.include({ tenantId: 'session-t' });
      const one = await send('GET', `/api/v1/datasets/${datasetB}`, undefined, withCookie(sessionA, more));
      expect(one.status, JSON.stringify(one.body)).to.equal(404);
      const list = await send('GET', '/api/v1/datasets', undefined, withCookie(sessionA, more));
      expect(list.status).to.equal(200);
      expect(JSON.stringify(list.body)).not.to.include(datasetB);
    }
    // Tenant B's session reads it (the check can fail).
    const sessionB = await sessionFor(keyB);
    expect((await send('GET', `/api/v1/datasets/${datasetB}`, undefined, withCookie(sessionB))).status).to.equal(200);
  });

  it("another origin's page cannot use the cookie to change anything, nor sign in or out", async () => {
    const session = await sessionFor(adminKey);
    const evil = { origin: 'http://evil.example' };
    const start = await send('POST', '/api/v1/clustering', {}, withCookie(session, evil));
    expect(start.status).to.equal(403);
    expect(start.body.error.code).to.equal('origin_not_allowed');
    const out = await send('DELETE', '/api/v1/session', undefined, withCookie(session, evil));
    expect(out.status).to.equal(403);
    // Refused before the route: the session lives on.
    expect((await whoami(session)).status).to.equal(200);
    const signedIn = await signIn(adminKey, evil);
    expect(signedIn.status).to.equal(403);
    expect(sessionCookieOf(signedIn.headers)).to.equal(undefined);
    // The page's own origin passes.
    const same = await signIn(adminKey, { origin: api.baseUrl });
    expect(same.status).to.equal(200);
    sessionIds.push(sessionIdOf(same.headers));
  });

  it('signs out: the session is deleted and the cookie cleared; replaying the old cookie is a 401', async () => {
    const session = await sessionFor(adminKey);
    const kept = await sessionFor(adminKey);
    expect((await whoami(session)).status).to.equal(200);
    const res = await send('DELETE', '/api/v1/session', undefined, withCookie(session));
    expect(res.status).to.equal(204);
    const cookie = sessionCookieOf(res.headers)!;
    expect(cookie.split(';')[0]).to.equal('kiln_session=');
    expect(cookie.toLowerCase()).to.include('expires=thu, 01 jan 1970');
    expect(cookie.toLowerCase()).to.include('httponly');
    const { rows } = await stack.pool.query('SELECT 1 FROM sessions WHERE tenant_id = $1 AND id_sha256 = $2', [
      'session-t',
      sha256(session),
    ]);
    expect(rows).to.deep.equal([]);
    // A copy of the cookie taken before signing out opens nothing.
    for (const path of ['/api/v1/whoami', '/api/v1/jobs']) {
      const replay = await send('GET', path, undefined, withCookie(session));
      expect(replay.status, path).to.equal(401);
      expect(replay.body.error.code).to.equal('session_expired');
    }
    // Only that session ended: another of the same key, and the key, still work.
    expect((await whoami(kept)).status).to.equal(200);
    expect((await send('GET', '/api/v1/whoami', undefined, bearer(adminKey))).status).to.equal(200);
    // Signing out again, or without a session, is a 204 all the same.
    expect((await send('DELETE', '/api/v1/session', undefined, withCookie(session))).status).to.equal(204);
    expect((await send('DELETE', '/api/v1/session')).status).to.equal(204);
  });

  it("an SSO token's session lasts until the token's exp at the latest, with the member's role", async () => {
    const issuer = 'https://idp.session.test/';
    // Tokens signed by no one (unsignedSsoVerifier): here only the session's lifetime and principal matter.
    const sso = unsignedSsoVerifier(stack.pool, issuer);
    const ssoApi = await startTestApi(stack, {}, {}, { sso });
    try {
      await stack.pool.query(
        `INSERT INTO tenant_members (tenant_id, subject, role, created_by) VALUES ($1, $2, 'editor', 'test')
         ON CONFLICT (tenant_id, subject) DO NOTHING`,
        ['session-t', `${issuer}|erin`],
      );
      const jwt = (exp: number) => {
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: issuer, sub: 'erin', exp })}.sig`;
      };
      const inAMinute = Math.floor(Date.now() / 1000) + 60;
      const short = await send('POST', '/api/v1/session', { apiKey: jwt(inAMinute) }, {}, ssoApi);
      expect(short.status, JSON.stringify(short.body)).to.equal(200);
      expect(short.body).to.include({ id: `sso:${issuer}|erin`, tenantId: 'session-t', role: 'editor' });
      expect(expiresOf(sessionCookieOf(short.headers)!)).to.be.closeTo(inAMinute * 1000, 1000);
      const session = sessionIdOf(short.headers);
      sessionIds.push(session);
      const { rows } = await stack.pool.query(
        'SELECT kind, subject, role, key_id, expires_at FROM sessions WHERE tenant_id = $1 AND id_sha256 = $2',
        ['session-t', sha256(session)],
      );
      expect(rows[0]).to.include({ kind: 'sso', subject: `${issuer}|erin`, role: 'editor', key_id: null });
      expect((rows[0].expires_at as Date).getTime()).to.equal(inAMinute * 1000);
      const who = await send('GET', '/api/v1/whoami', undefined, withCookie(session), ssoApi);
      expect(who.status).to.equal(200);
      expect(who.body).to.include({ id: `sso:${issuer}|erin`, role: 'editor', subject: `${issuer}|erin` });
      // Past the token's exp the session is over (its row says so: moved back rather than waiting a minute).
      await stack.pool.query(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id_sha256 = $2",
        ['session-t', sha256(session)],
      );
      const after = await send('GET', '/api/v1/whoami', undefined, withCookie(session), ssoApi);
      expect(after.body.error.code).to.equal('session_expired');

      // A token valid for a day still gets 12 hours.
      const long = await send('POST', '/api/v1/session', { apiKey: jwt(inAMinute + 86_400) }, {}, ssoApi);
      expect(long.status).to.equal(200);
      sessionIds.push(sessionIdOf(long.headers));
      expect(expiresOf(sessionCookieOf(long.headers)!) - Date.now()).to.be.within(
        12 * 3600_000 - 60_000,
        12 * 3600_000 + 1000,
      );
    } finally {
      await ssoApi.close();
    }
  });

  it('no key and no session id reaches the log', () => {
    expect(lines.length, 'the request logger wrote').to.be.greaterThan(5);
    expect(sessionIds.length).to.be.greaterThan(5);
    for (const key of [viewerKey, adminKey]) {
      const secret = key.split('_').slice(2).join('_');
      expect(lines.filter((l) => l.includes(secret))).to.deep.equal([]);
    }
    for (const id of sessionIds) expect(lines.filter((l) => l.includes(id))).to.deep.equal([]);
  });
});
