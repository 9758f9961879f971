import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../../common/logger';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** The `kiln_session=...` Set-Cookie header of a response, or undefined. */
function sessionCookieOf(headers: Headers): string | undefined {
  return headers.getSetCookie().find((c) => c.startsWith('kiln_session='));
}

/** The console's sign-in routes (POST/DELETE /api/v1/session, GET /api/v1/whoami) and the cookie they set. */
describe('session cookie and whoami', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  const lines: string[] = [];
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
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const signIn = (apiKey: unknown, headers: Record<string, string> = {}) =>
    send('POST', '/api/v1/session', { apiKey }, headers);
  const withCookie = (key: string, more: Record<string, string> = {}) => ({ cookie: `kiln_session=${key}`, ...more });

  it('signs in with a key: an HttpOnly, SameSite=Strict cookie for 12 hours, and the caller with what it may do', async () => {
    const res = await signIn(viewerKey);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    const keyId = viewerKey.split('_')[1];
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
    expect(cookie.split(';')[0]).to.equal(`kiln_session=${viewerKey}`);
    expect(attributes).to.include.members(['path=/', 'httponly', 'samesite=strict']);
    // Plain http here: Secure would make the browser drop it.
    expect(attributes).not.to.include('secure');
    const expires = Date.parse(
      cookie
        .split(/;\s*/)
        .find((a) => a.toLowerCase().startsWith('expires='))!
        .slice(8),
    );
    expect(expires - Date.now()).to.be.within(12 * 3600_000 - 60_000, 12 * 3600_000 + 1000);
    expect(res.headers.get('cache-control')).to.equal('no-store');
  });

  it('refuses a wrong, malformed or cookie-unsafe key with 401 and sets no cookie', async () => {
    const [id] = adminKey.split('_').slice(1);
    const wrongSecret = `kiln_${id}_${'A'.repeat(43)}`;
    for (const apiKey of [wrongSecret, 'not-a-key', 'kiln_x; Path=/', `${adminKey} extra`]) {
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
  });

  it('the cookie is the caller on every route: whoami, reads, and a 403 past its role', async () => {
    const who = await send('GET', '/api/v1/whoami', undefined, withCookie(viewerKey));
    expect(who.status).to.equal(200);
    expect(who.body).to.include({ tenantId: 'session-t', role: 'viewer' });
    expect((await send('GET', '/api/v1/jobs', undefined, withCookie(viewerKey))).status).to.equal(200);
    // A viewer may not start: the gate read the cookie (no credentials at all would not be refused so).
    const start = await send('POST', '/api/v1/training', {}, withCookie(viewerKey));
    expect(start.status, JSON.stringify(start.body)).to.equal(403);
    expect(start.body.error.code).to.equal('insufficient_role');
    // Authorization wins over the cookie.
    const both = await send('GET', '/api/v1/whoami', undefined, {
      ...withCookie(viewerKey),
      ...bearer(adminKey),
    });
    expect(both.body).to.include({ role: 'admin' });
    expect(both.body.can).to.deep.equal({ start: true, edit: true, approve: true, admin: true });
    // A revoked key's cookie stops working at once.
    const soon = await createTestKey(stack.pool, { tenantId: 'session-t', role: 'viewer' });
    expect((await send('GET', '/api/v1/whoami', undefined, withCookie(soon))).status).to.equal(200);
    await stack.pool.query('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [soon.split('_')[1]]);
    const gone = await send('GET', '/api/v1/whoami', undefined, withCookie(soon));
    expect(gone.status).to.equal(401);
    expect(gone.body.error.code).to.equal('key_revoked');
  });

  it('whoami without credentials is 401', async () => {
    const res = await send('GET', '/api/v1/whoami');
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
  });

  it("another origin's page cannot use the cookie to change anything, nor sign in", async () => {
    const evil = { origin: 'http://evil.example' };
    const start = await send('POST', '/api/v1/clustering', {}, withCookie(adminKey, evil));
    expect(start.status).to.equal(403);
    expect(start.body.error.code).to.equal('origin_not_allowed');
    const out = await send('DELETE', '/api/v1/session', undefined, withCookie(adminKey, evil));
    expect(out.status).to.equal(403);
    const signedIn = await signIn(adminKey, evil);
    expect(signedIn.status).to.equal(403);
    expect(sessionCookieOf(signedIn.headers)).to.equal(undefined);
    // The page's own origin passes.
    const same = await signIn(adminKey, { origin: api.baseUrl });
    expect(same.status).to.equal(200);
  });

  it('signs out: the cookie is cleared (expired, empty)', async () => {
    const res = await send('DELETE', '/api/v1/session', undefined, withCookie(adminKey));
    expect(res.status).to.equal(204);
    const cookie = sessionCookieOf(res.headers)!;
    expect(cookie.split(';')[0]).to.equal('kiln_session=');
    expect(cookie.toLowerCase()).to.include('expires=thu, 01 jan 1970');
    expect(cookie.toLowerCase()).to.include('httponly');
  });

  it('no key reaches the log', () => {
    expect(lines.length, 'the request logger wrote').to.be.greaterThan(5);
    for (const key of [viewerKey, adminKey]) {
      const secret = key.split('_').slice(2).join('_');
      expect(lines.filter((l) => l.includes(secret))).to.deep.equal([]);
    }
  });
});
