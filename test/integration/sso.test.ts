import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CryptoKey, exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { createSsoVerifier } from '../../api/auth/sso';
import { createSsoTokenVerifier, IDP_RETRY_AFTER_SECONDS } from '../../api/auth/sso-token';
import { createLogger } from '../../common/logger';
import type { SsoConfig } from '../../common/sso-config';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { freshLoopback, rawRequest } from '../support/raw-request';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, code: string, message?: RegExp): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.code, JSON.stringify(res.body)).to.equal(code);
  if (message) expect(res.body.error.message).to.match(message);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('SSO bearer tokens (JWT over a JWKS) and tenant members', function () {
  this.timeout(60_000);
  const ISSUER = 'https://idp.kiln.test/';
  const AUDIENCE = 'kiln-api';
  const suffix = randomBytes(3).toString('hex');
  const tenantA = `sso-a-${suffix}`;
  const tenantB = `sso-b-${suffix}`;
  const tenantC = `sso-c-${suffix}`;
  const subjectOf = (sub: string) => `${ISSUER}|${sub}`;
  const memberPath = (sub: string) => `/api/v1/members/${encodeURIComponent(subjectOf(sub))}`;

  let stack: TestStack;
  let api: TestApi;
  let jwks: http.Server;
  let rsa: { privateKey: CryptoKey; kid: string };
  let ec: { privateKey: CryptoKey; kid: string };
  let stranger: { privateKey: CryptoKey; kid: string };
  let adminKeyA: string;
  let config: SsoConfig;
  /** The JWKS the identity provider publishes (the RSA and EC keys). */
  let published: string;

  /** A token as the identity provider would sign it; `claims` and `header` override its parts. */
  async function token(
    sub: string,
    options: {
      key?: { privateKey: CryptoKey | Uint8Array; kid: string };
      alg?: string;
      issuer?: string;
      audience?: string;
      exp?: number | null;
      claims?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const key = options.key ?? rsa;
    const alg = options.alg ?? (key === ec ? 'ES256' : 'RS256');
    const jwt = new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt();
    if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300);
    return jwt.sign(key.privateKey);
  }

  const as = (jwt: string, tenant?: string) => ({ ...bearer(jwt), ...(tenant ? { 'x-kiln-tenant': tenant } : {}) });

  async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { privateKey, kid, jwk };
  }

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const [r, e, s] = await Promise.all([
      keyPair('RS256', 'rsa-1'),
      keyPair('ES256', 'ec-1'),
      keyPair('RS256', 'not-published'),
    ]);
    rsa = r;
    ec = e;
    stranger = s;
    // The identity provider's JWKS: the RSA and EC public keys, never the third.
    published = JSON.stringify({ keys: [r.jwk, e.jwk] });
    jwks = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(published);
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    config = {
      jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['RS256', 'ES256'],
    };
    api = await startTestApi(stack, {}, {}, { sso: createSsoVerifier({ pool: stack.pool, config }) });
    for (const tenant of [tenantA, tenantB, tenantC]) await createTestTenant(stack.pool, tenant);
    adminKeyA = await createTestKey(stack.pool, { tenantId: tenantA, role: 'admin' });
    const adminKeyB = await createTestKey(stack.pool, { tenantId: tenantB, role: 'admin' });
    // alice: viewer of A only; bob: viewer of A and admin of B; carol: admin of C only (never of A).
    const memberships: Array<[string, string, string]> = [
      [adminKeyA, 'alice', 'viewer'],
      [adminKeyA, 'bob', 'viewer'],
      [adminKeyB, 'bob', 'admin'],
    ];
    for (const [key, sub, role] of memberships) {
      const res = await request(api, 'PUT', memberPath(sub), { role }, bearer(key));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
    }
    await stack.pool.query(
      "INSERT INTO tenant_members (tenant_id, subject, role, created_by) VALUES ($1, $2, 'admin', 'test')",
      [tenantC, subjectOf('carol')],
    );
  });
  after(async () => {
    await api?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  it("a member's valid token reads (RS256 and ES256), as the principal sso:<iss>|<sub>", async () => {
    expect((await request(api, 'GET', '/api/v1/models', undefined, as(await token('alice')))).status).to.equal(200);
    const es = await token('alice', { key: ec });
    expect((await request(api, 'GET', '/api/v1/models', undefined, as(es))).status).to.equal(200);
    // Who set a membership is recorded as the principal: carol (admin of C) adds dave there.
    const carol = await token('carol');
    const put = await request(api, 'PUT', memberPath('dave'), { role: 'operator' }, as(carol));
    expect(put.status, JSON.stringify(put.body)).to.equal(201);
    expect(put.body).to.include({
      subject: subjectOf('dave'),
      role: 'operator',
      createdBy: `sso:${subjectOf('carol')}`,
    });
  });

  it('refuses every token that does not verify with 401 invalid_token, saying why', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const valid = await token('alice');
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const forged = b64url({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'bob' });
    const cases: Array<[string, string, RegExp]> = [
      ['expired', await token('alice', { exp: past }), /expired/],
      [
        'another audience (an ID token: aud is the client id)',
        await token('alice', { audience: 'someone-else' }),
        /another audience: send an access token whose "aud" includes "kiln-api"/,
      ],
      ['another issuer', await token('alice', { issuer: 'https://evil.example/' }), /another issuer/],
      ['no exp', await token('alice', { exp: null }), /"exp" claim/],
      ['a key not in the JWKS', await token('alice', { key: stranger }), /signing key is not among/],
      ['a tampered payload', `${header}.${forged}.${signature}`, /signature does not verify/],
      [
        'alg none',
        `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: past + 600 })}.`,
        /algorithm is not accepted/,
      ],
      [
        'HS256 signed with a secret',
        await token('alice', {
          key: { privateKey: new TextEncoder().encode('x'.repeat(32)), kid: 'rsa-1' },
          alg: 'HS256',
        }),
        /algorithm is not accepted/,
      ],
      ['not a JWT at all', 'hello.world', /malformed/],
    ];
    for (const [what, jwt, reason] of cases) {
      const res = await request(api, 'GET', '/api/v1/models', undefined, as(jwt));
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(401);
      expectError(res, 401, 'invalid_token', reason);
      expect(res.headers.get('www-authenticate'), what).to.match(/^Bearer/);
    }
  });

  it('still takes API keys, and a kiln_-shaped token stays a key (401 invalid_credentials)', async () => {
    expect((await request(api, 'GET', '/api/v1/members', undefined, bearer(adminKeyA))).status).to.equal(200);
    const res = await request(api, 'GET', '/api/v1/models', undefined, bearer('kiln_not-a-key'));
    expectError(res, 401, 'invalid_credentials');
  });

  it("is 403 not_a_member for a valid token of a subject that is no tenant's member", async () => {
    const mallory = await token('mallory');
    const res = await request(api, 'GET', '/api/v1/models', undefined, as(mallory));
    expectError(res, 403, 'not_a_member', /not a member of any tenant/);
    // The message names the subject and the very PUT that adds it: an admin copies it, and the token then works.
    const message: string = res.body.error.message;
    expect(message).to.contain(`"${subjectOf('mallory')}"`);
    expect(message).to.contain(`PUT ${memberPath('mallory')} `);
    const added = await request(api, 'PUT', memberPath('mallory'), { role: 'viewer' }, bearer(adminKeyA));
    expect(added.status, JSON.stringify(added.body)).to.equal(201);
    try {
      expect((await request(api, 'GET', '/api/v1/models', undefined, as(mallory))).status).to.equal(200);
      const elsewhere = await request(api, 'GET', '/api/v1/models', undefined, as(mallory, tenantB));
      expectError(elsewhere, 403, 'not_a_member', new RegExp(`not a member of tenant "${tenantB}": an admin of that`));
    } finally {
      await request(api, 'DELETE', memberPath('mallory'), undefined, bearer(adminKeyA));
    }
  });

  it('a member of several tenants names one with X-Kiln-Tenant, and gets its role there', async () => {
    const bob = await token('bob');
    const without = await request(api, 'GET', '/api/v1/models', undefined, as(bob));
    expectError(without, 400, 'tenant_required', /X-Kiln-Tenant/);
    expect(without.body.error.field).to.equal('X-Kiln-Tenant');
    // Admin in B: B's members, and only B's.
    const inB = await request(api, 'GET', '/api/v1/members', undefined, as(bob, tenantB));
    expect(inB.status, JSON.stringify(inB.body)).to.equal(200);
    expect(inB.body.members.map((m: { subject: string }) => m.subject)).to.deep.equal([subjectOf('bob')]);
    // Viewer in A: reads, but the members are an admin's.
    expect((await request(api, 'GET', '/api/v1/models', undefined, as(bob, tenantA))).status).to.equal(200);
    expectError(await request(api, 'GET', '/api/v1/members', undefined, as(bob, tenantA)), 403, 'insufficient_role');
    // A tenant bob is not a member of, and a malformed header.
    expectError(await request(api, 'GET', '/api/v1/models', undefined, as(bob, tenantC)), 403, 'not_a_member');
    expectError(await request(api, 'GET', '/api/v1/models', undefined, as(bob, 'No.Such')), 400, 'invalid_request');
  });

  it('a tenant claim in the token is never trusted', async () => {
    const carol = await token('carol', { claims: { tenant: tenantA, tenant_id: tenantA, role: 'admin' } });
    const res = await request(api, 'GET', '/api/v1/members', undefined, as(carol));
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.members.map((m: { subject: string }) => m.subject)).to.not.include(subjectOf('alice'));
    expectError(await request(api, 'GET', '/api/v1/models', undefined, as(carol, tenantA)), 403, 'not_a_member');
  });

  it("enforces the membership's role: a viewer member cannot write", async () => {
    const res = await request(api, 'POST', '/api/v1/models', { name: `sso-${suffix}` }, as(await token('alice')));
    expectError(res, 403, 'insufficient_role', /editor/);
  });

  it('members routes: add, change, list, remove (404 when absent), each within the caller tenant', async () => {
    const path = memberPath('erin');
    const added = await request(api, 'PUT', path, { role: 'editor' }, bearer(adminKeyA));
    expect(added.status, JSON.stringify(added.body)).to.equal(201);
    expect(added.headers.get('location')).to.equal(path);
    expect(added.body).to.include({ subject: subjectOf('erin'), role: 'editor' });
    expect(added.body.createdBy).to.match(/^key:[0-9a-f]{16}$/);
    const changed = await request(api, 'PUT', path, { role: 'approver' }, bearer(adminKeyA));
    expect(changed.status).to.equal(200);
    expect(changed.body.role).to.equal('approver');
    const list = await request(api, 'GET', '/api/v1/members', undefined, bearer(adminKeyA));
    expect(list.body.members.map((m: { subject: string; role: string }) => [m.subject, m.role])).to.deep.equal([
      [subjectOf('alice'), 'viewer'],
      [subjectOf('bob'), 'viewer'],
      [subjectOf('erin'), 'approver'],
    ]);
    // erin's token now acts in A as an approver: editor routes pass the gate (a 400 for the bad body, not a 403).
    const write = await request(api, 'POST', '/api/v1/models', {}, as(await token('erin')));
    expectError(write, 400, 'invalid_request');
    expect(write.body.error.field).to.equal('name');
    expect((await request(api, 'DELETE', path, undefined, bearer(adminKeyA))).status).to.equal(204);
    expectError(await request(api, 'DELETE', path, undefined, bearer(adminKeyA)), 404, 'not_found');
    expectError(await request(api, 'GET', '/api/v1/models', undefined, as(await token('erin'))), 403, 'not_a_member');
  });

  it("members routes: admins only, another tenant's member is not theirs, bad input is a 400", async () => {
    const editorKey = await createTestKey(stack.pool, { tenantId: tenantA, role: 'editor' });
    expectError(await request(api, 'GET', '/api/v1/members', undefined, bearer(editorKey)), 403, 'insufficient_role');
    // carol is C's member: A's admin cannot remove her.
    expectError(await request(api, 'DELETE', memberPath('carol'), undefined, bearer(adminKeyA)), 404, 'not_found');
    const noBar = await request(api, 'PUT', '/api/v1/members/alice', { role: 'viewer' }, bearer(adminKeyA));
    // Another issuer's subject could never sign in here: refused, naming the issuer the API trusts.
    const ghost = 'https://wrong-issuer.example/|ghost';
    for (const role of ['viewer', 'admin']) {
      const otherIssuer = await request(
        api,
        'PUT',
        `/api/v1/members/${encodeURIComponent(ghost)}`,
        { role },
        bearer(adminKeyA),
      );
      expectError(otherIssuer, 400, 'invalid_request', new RegExp(`issuer this API trusts, "${ISSUER}"`));
      expect(otherIssuer.body.error.field).to.equal('subject');
    }
    // The issuer is compared whole: one that merely starts like it is another.
    const longer = `${ISSUER}x|frank`;
    expectError(
      await request(api, 'PUT', `/api/v1/members/${encodeURIComponent(longer)}`, { role: 'viewer' }, bearer(adminKeyA)),
      400,
      'invalid_request',
    );
    const listed = (await request(api, 'GET', '/api/v1/members', undefined, bearer(adminKeyA))).body.members;
    expect(listed.map((m: { subject: string }) => m.subject)).to.not.include(ghost);
    expectError(noBar, 400, 'invalid_request');
    expect(noBar.body.error.field).to.equal('subject');
    const badRole = await request(api, 'PUT', memberPath('frank'), { role: 'owner' }, bearer(adminKeyA));
    expectError(badRole, 400, 'invalid_request');
    expect(badRole.body.error.field).to.equal('role');
    expectError(
      await request(api, 'PUT', memberPath('frank'), { role: 'viewer', x: 1 }, bearer(adminKeyA)),
      400,
      'unknown_field',
    );
  });

  it('the identity provider down is a 503 identity_provider_unavailable, charged to nobody; back up, the token works', async () => {
    // The identity provider's JWKS on a port nothing listens on at first, then answering `answer`.
    let answer: 'error' | 'not-jwks' | 'ok' = 'error';
    const idp = http.createServer((_req, res) => {
      if (answer === 'error') res.writeHead(500).end('internal error');
      else if (answer === 'not-jwks') res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":1}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(published);
    });
    const listen = (port: number) => new Promise<void>((resolve) => idp.listen(port, '127.0.0.1', resolve));
    await listen(0);
    const { port } = idp.address() as AddressInfo;
    await new Promise((resolve) => idp.close(resolve));
    const logLines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (chunk: string) => void logLines.push(chunk) } });
    // The verifier's clock for its Retry-After window after a failed fetch (no fetch within it): moved by the test.
    let nowMs = Date.now();
    const retryLater = () => (nowMs += IDP_RETRY_AFTER_SECONDS * 1000);
    const outageConfig = { ...config, jwksUrl: `http://127.0.0.1:${port}/jwks` };
    // A failure budget of 2: were the outage charged to the caller, the third request would be a 429.
    const outage = await startTestApi(
      stack,
      {},
      {},
      {
        sso: createSsoVerifier({
          pool: stack.pool,
          config: outageConfig,
          log,
          verifyToken: createSsoTokenVerifier(outageConfig, log, { now: () => nowMs }),
        }),
        rateLimits: { authFailures: { points: 2, durationSeconds: 60 } },
      },
    );
    const ip = freshLoopback();
    const alice = await token('alice');
    const get = (jwt: string) => rawRequest(outage, 'GET', '/api/v1/models', as(jwt), { localAddress: ip });
    const expectUnavailable = (res: JsonResponse, why: RegExp) => {
      expectError(res, 503, 'identity_provider_unavailable', new RegExp(`identity provider at 127.0.0.1:${port} `));
      expect(res.body.error.message).to.match(why);
      expect(res.headers.get('retry-after')).to.equal('5');
      expect(res.headers.get('www-authenticate'), 'no 401 challenge: the token is not at fault').to.equal(null);
    };
    try {
      // One fetch, then the same 503 at once until Retry-After has passed, even once the JWKS answers.
      for (let i = 0; i < 3; i++) expectUnavailable(await get(alice), /could not be reached/);
      answer = 'ok';
      await listen(port);
      expectUnavailable(await get(alice), /could not be reached/);
      answer = 'error';
      retryLater();
      expectUnavailable(await get(alice), /HTTP status other than 200/);
      answer = 'not-jwks';
      retryLater();
      expectUnavailable(await get(alice), /not a JWK Set/);
      const warned = logLines.filter(
        (line) => line.includes('identity_provider') || line.includes('identity provider'),
      );
      expect(warned, 'one warning per failed fetch').to.have.length(3);
      answer = 'ok';
      retryLater();
      const back = await get(alice);
      expect(back.status, JSON.stringify(back.body)).to.equal(200);
      // The JWKS answers: a token that does not verify is the caller's fault again (401, charged).
      const expired = await token('alice', { exp: Math.floor(Date.now() / 1000) - 120 });
      expectError(await get(expired), 401, 'invalid_token', /expired/);
    } finally {
      await outage.close();
      await new Promise((resolve) => idp.close(resolve));
    }
  });

  it('without SSO configured, a JWT is not a credential (401 invalid_credentials)', async () => {
    const plain = await startTestApi(stack);
    try {
      const res = await request(plain, 'GET', '/api/v1/models', undefined, as(await token('alice')));
      expectError(res, 401, 'invalid_credentials');
    } finally {
      await plain.close();
    }
  });
});
