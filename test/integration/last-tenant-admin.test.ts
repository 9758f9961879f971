import { expect } from 'chai';
import { createSsoVerifier } from '../../api/auth/sso';
import type { SsoConfig } from '../../common/sso-config';
import { lockTenantAdmins, TENANT_ADMIN_LOCK_CLASS } from '../../db/tenant-admins';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** The key id of `kiln_<keyId>_<secret>`. */
const idOf = (key: string) => key.slice(5, 21);

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

/**
 * A tenant never loses its last way in as admin (409 last_tenant_admin): neither its last usable admin key without an
 * expiry (revoked or demoted) nor its last admin SSO member (removed or demoted) goes while the other kind is missing,
 * and concurrent changes cannot together take both of the last two away. Members count only where the API verifies
 * SSO tokens, and only those of its issuer (a verifier whose JWKS is never fetched here: its tokens are
 * `token-of:<subject>`). Through the API on a real Postgres.
 */
describe('the last admin of a tenant (409 last_tenant_admin)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  /** The same platform without SSO: a member cannot sign in there, so is no way in. */
  let keysOnly: TestApi;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const config: SsoConfig = {
      jwksUrl: 'http://127.0.0.1:9/unused',
      issuer: 'https://idp.example.com/',
      audience: 'kiln',
      algorithms: ['RS256'],
    };
    const verifyToken = (token: string) => Promise.resolve(token.slice('token-of:'.length));
    api = await startTestApi(stack, {}, {}, { sso: createSsoVerifier({ pool: stack.pool, config, verifyToken }) });
    keysOnly = await startTestApi(stack);
  });
  after(async () => {
    await api?.close();
    await keysOnly?.close();
  });

  const revoke = (keyId: string, as: string) =>
    request(api, 'DELETE', `/api/v1/api-keys/${keyId}`, undefined, bearer(as));
  const patch = (keyId: string, body: unknown, as: string) =>
    request(api, 'PATCH', `/api/v1/api-keys/${keyId}`, body, bearer(as));
  const memberPath = (subject: string) => `/api/v1/members/${encodeURIComponent(subject)}`;
  const putMember = (subject: string, role: string, as: string) =>
    request(api, 'PUT', memberPath(subject), { role }, bearer(as));
  const deleteMember = (subject: string, as: string) =>
    request(api, 'DELETE', memberPath(subject), undefined, bearer(as));
  /** 200 while the key works as an admin of its tenant (listing keys needs admin). */
  const actsAsAdmin = async (key: string) =>
    (await request(api, 'GET', '/api/v1/api-keys', undefined, bearer(key))).status;
  const tenantWithAdmin = async (tenantId: string, options: { expiresAt?: Date } = {}) => {
    await createTestTenant(stack.pool, tenantId);
    return createTestKey(stack.pool, { tenantId, role: 'admin', ...options });
  };
  const inADay = () => new Date(Date.now() + 86_400_000);

  it('refuses revoking or demoting the only admin key; the key keeps working as admin', async () => {
    const only = await tenantWithAdmin('lta-one');
    const editor = await createTestKey(stack.pool, { tenantId: 'lta-one', role: 'editor' });

    const refused = await revoke(idOf(only), only);
    expectError(refused, 409, 'last_tenant_admin', 'revoke');
    expect(refused.body.error.message).to.match(/create another admin key first/);
    expectError(await patch(idOf(only), { role: 'editor' }, only), 409, 'last_tenant_admin', 'demote');
    expectError(await patch(idOf(only), { role: 'approver', name: 'x' }, only), 409, 'last_tenant_admin', 'both');
    expect(await actsAsAdmin(only)).to.equal(200);
    const listed = (await request(api, 'GET', '/api/v1/api-keys', undefined, bearer(only))).body.apiKeys as Array<{
      keyId: string;
      role: string;
      name: string;
      revokedAt: string | null;
    }>;
    expect(listed.find((k) => k.keyId === idOf(only))).to.include({
      role: 'admin',
      name: 'test-admin',
      revokedAt: null,
    });

    // What takes no admin away goes ahead: a new name, revoking a non-admin key.
    expect((await patch(idOf(only), { name: 'ops' }, only)).status).to.equal(200);
    expect((await revoke(idOf(editor), only)).status).to.equal(204);
  });

  it('with a second admin key either goes; then the remaining one is the last', async () => {
    const first = await tenantWithAdmin('lta-two');
    const created = await request(api, 'POST', '/api/v1/api-keys', { name: 'second', role: 'admin' }, bearer(first));
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const second = created.body.key as string;

    expect((await patch(idOf(first), { role: 'editor' }, second)).status).to.equal(200);
    expectError(await revoke(idOf(second), second), 409, 'last_tenant_admin');
    expect((await patch(idOf(first), { role: 'admin' }, second)).status).to.equal(200);
    expect((await revoke(idOf(second), first)).status).to.equal(204);
    expectError(await revoke(idOf(first), first), 409, 'last_tenant_admin');
    expect(await actsAsAdmin(first)).to.equal(200);
  });

  it('counts only admin keys without an expiry as a way in (as for platform admins)', async () => {
    const permanent = await tenantWithAdmin('lta-exp');
    const expiring = await createTestKey(stack.pool, { tenantId: 'lta-exp', role: 'admin', expiresAt: inADay() });

    expectError(await revoke(idOf(permanent), expiring), 409, 'last_tenant_admin', 'revoke');
    expectError(await patch(idOf(permanent), { role: 'viewer' }, expiring), 409, 'last_tenant_admin', 'demote');
    expect(await actsAsAdmin(permanent)).to.equal(200);
    // The expiring key takes no way in away: it goes.
    expect((await patch(idOf(expiring), { role: 'viewer' }, permanent)).status).to.equal(200);
    expect((await revoke(idOf(expiring), permanent)).status).to.equal(204);
  });

  it("counts a rotation's new key, not the old one awaiting its revocation", async () => {
    const old = await tenantWithAdmin('lta-rot');
    const rotated = await request(
      api,
      'POST',
      `/api/v1/api-keys/${idOf(old)}/rotate`,
      { graceSeconds: 3600 },
      bearer(old),
    );
    expect(rotated.status, JSON.stringify(rotated.body)).to.equal(201);
    const fresh = rotated.body.key as string;

    // The old key (still working in its grace period) is no way in once it ends: the new one is the last.
    expectError(await revoke(idOf(fresh), old), 409, 'last_tenant_admin', 'new key');
    expectError(await patch(idOf(fresh), { role: 'editor' }, old), 409, 'last_tenant_admin', 'demote new key');
    // Revoking the old one now is fine: the new one remains.
    expect((await revoke(idOf(old), fresh)).status).to.equal(204);
    expectError(await revoke(idOf(fresh), fresh), 409, 'last_tenant_admin', 'alone');
    expect(await actsAsAdmin(fresh)).to.equal(200);
  });

  it('refuses rotating the last way in with no grace (409, the key keeps working); with a grace, a second admin key or an admin member it goes', async () => {
    const rotate = (keyId: string, body: unknown, as: string, on = api) =>
      request(on, 'POST', `/api/v1/api-keys/${keyId}/rotate`, body, bearer(as));
    const keyCount = async (as: string) =>
      ((await request(api, 'GET', '/api/v1/api-keys', undefined, bearer(as))).body.apiKeys as unknown[]).length;

    const only = await tenantWithAdmin('lta-rot0');
    for (const [what, body] of [
      ['grace 0', { graceSeconds: 0 }],
      ['no body', undefined],
    ] as const) {
      const refused = await rotate(idOf(only), body, only);
      expectError(refused, 409, 'last_tenant_admin', what);
      expect(refused.body.error.field).to.equal('graceSeconds');
      expect(refused.body.error.message)
        .to.match(/graceSeconds": 300/)
        .and.match(/second admin key/);
    }
    // Also without SSO (no member could be a way in there).
    expectError(await rotate(idOf(only), { graceSeconds: 0 }, only, keysOnly), 409, 'last_tenant_admin', 'no SSO');
    // Nothing was written: no successor, the key works as admin.
    expect(await keyCount(only)).to.equal(1);
    expect(await actsAsAdmin(only)).to.equal(200);

    const graced = await rotate(idOf(only), { graceSeconds: 60 }, only);
    expect(graced.status, JSON.stringify(graced.body)).to.equal(201);
    expect(await actsAsAdmin(graced.body.key)).to.equal(200);
    expect(await actsAsAdmin(only)).to.equal(200);

    // With a second admin key (no expiry), no grace is needed.
    const first = await tenantWithAdmin('lta-rot2');
    const second = await request(api, 'POST', '/api/v1/api-keys', { name: 'second', role: 'admin' }, bearer(first));
    expect(second.status).to.equal(201);
    const now = await rotate(idOf(first), { graceSeconds: 0 }, first);
    expect(now.status, JSON.stringify(now.body)).to.equal(201);
    expectError(await request(api, 'GET', '/api/v1/models', undefined, bearer(first)), 401, 'key_revoked');
    // With an admin SSO member the last admin key may be rotated with no grace, where SSO is on only.
    const solo = await tenantWithAdmin('lta-rot3');
    expect((await putMember('https://idp.example.com/|root', 'admin', solo)).status).to.equal(201);
    expectError(await rotate(idOf(solo), {}, solo, keysOnly), 409, 'last_tenant_admin', 'member without SSO');
    expect((await rotate(idOf(solo), {}, solo)).status).to.equal(201);
  });

  it('of concurrent revocations or demotions of the last two admin keys exactly one succeeds', async () => {
    // Several tenants, each raced once, so that an interleaving where both would pass without the lock is likely.
    const races: Array<[string, (a: string, b: string) => Promise<[JsonResponse, JsonResponse]>]> = [
      ['lta-race-rr', (a, b) => Promise.all([revoke(idOf(a), a), revoke(idOf(b), b)])],
      ['lta-race-rr2', (a, b) => Promise.all([revoke(idOf(a), a), revoke(idOf(b), b)])],
      [
        'lta-race-pp',
        (a, b) => Promise.all([patch(idOf(a), { role: 'editor' }, a), patch(idOf(b), { role: 'editor' }, b)]),
      ],
      ['lta-race-rp', (a, b) => Promise.all([revoke(idOf(a), a), patch(idOf(b), { role: 'operator' }, b)])],
    ];
    for (const [tenantId, race] of races) {
      const a = await tenantWithAdmin(tenantId);
      const b = await createTestKey(stack.pool, { tenantId, role: 'admin' });
      const answers = await race(a, b);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, `${tenantId}: ${JSON.stringify(answers.map((r) => r.body))}`).to.deep.equal(
        statuses[0] === 200 ? [200, 409] : [204, 409],
      );
      expectError(
        answers.find((r) => r.status === 409)!,
        409,
        'last_tenant_admin',
        tenantId,
      );
      const { rows } = await stack.pool.query(
        "SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL",
        [tenantId],
      );
      expect(rows[0].n, tenantId).to.equal(1);
    }
  });

  it('an admin SSO member is a way in: the last admin key may then go', async () => {
    const key = await tenantWithAdmin('lta-sso');
    const subject = 'https://idp.example.com/|alice';
    expect((await putMember(subject, 'admin', key)).status).to.equal(201);
    expect((await patch(idOf(key), { role: 'editor' }, key)).status).to.equal(200);
    const other = await createTestKey(stack.pool, { tenantId: 'lta-sso', role: 'admin' });
    expect((await revoke(idOf(other), other)).status).to.equal(204);
  });

  it('without SSO an admin member is no way in: the last admin key stays, the member may go', async () => {
    const key = await tenantWithAdmin('lta-nosso');
    const subject = 'https://idp.example.com/|alice';
    expect((await putMember(subject, 'admin', key)).status).to.equal(201);
    const refused = await request(keysOnly, 'PATCH', `/api/v1/api-keys/${idOf(key)}`, { role: 'editor' }, bearer(key));
    expectError(refused, 409, 'last_tenant_admin', 'demote without SSO');
    expectError(
      await request(keysOnly, 'DELETE', `/api/v1/api-keys/${idOf(key)}`, undefined, bearer(key)),
      409,
      'last_tenant_admin',
      'revoke without SSO',
    );
    const removed = await request(keysOnly, 'DELETE', memberPath(subject), undefined, bearer(key));
    expect(removed.status).to.equal(204);
    expect(await actsAsAdmin(key)).to.equal(200);
  });

  it('refuses removing or demoting the last admin member when no admin key without an expiry remains', async () => {
    // The caller's own key expires, so it is no lasting way in.
    const caller = await tenantWithAdmin('lta-mem', { expiresAt: inADay() });
    const alice = 'https://idp.example.com/|alice';
    const bob = 'https://idp.example.com/|bob';
    expect((await putMember(alice, 'admin', caller)).status).to.equal(201);

    expectError(await deleteMember(alice, caller), 409, 'last_tenant_admin', 'remove');
    expectError(await putMember(alice, 'approver', caller), 409, 'last_tenant_admin', 'demote');
    expect((await putMember(alice, 'admin', caller)).status).to.equal(200);
    const members = (await request(api, 'GET', '/api/v1/members', undefined, bearer(caller))).body.members;
    expect(members).to.have.length(1);
    expect(members[0]).to.include({ subject: alice, role: 'admin' });
    // Removing someone who is no member stays a 404; other members come and go.
    expectError(await deleteMember(bob, caller), 404, 'not_found');
    expect((await putMember(bob, 'viewer', caller)).status).to.equal(201);
    expect((await deleteMember(bob, caller)).status).to.equal(204);

    // A second admin member, or an admin key without an expiry, lets alice go.
    expect((await putMember(bob, 'admin', caller)).status).to.equal(201);
    expect((await putMember(alice, 'viewer', caller)).status).to.equal(200);
    expectError(await deleteMember(bob, caller), 409, 'last_tenant_admin', 'bob alone');
    await createTestKey(stack.pool, { tenantId: 'lta-mem', role: 'admin' });
    expect((await deleteMember(bob, caller)).status).to.equal(204);
  });

  it('of removing the last admin member and revoking the last admin key at once exactly one succeeds', async () => {
    const caller = await tenantWithAdmin('lta-race-mk', { expiresAt: inADay() });
    const key = await createTestKey(stack.pool, { tenantId: 'lta-race-mk', role: 'admin' });
    const alice = 'https://idp.example.com/|alice';
    expect((await putMember(alice, 'admin', caller)).status).to.equal(201);
    const answers = await Promise.all([deleteMember(alice, caller), revoke(idOf(key), caller)]);
    expect(answers.map((r) => r.status).sort(), JSON.stringify(answers.map((r) => r.body))).to.deep.equal([204, 409]);
    expectError(
      answers.find((r) => r.status === 409)!,
      409,
      'last_tenant_admin',
    );
  });

  it('an admin member of another issuer is no way in: refused as a member, and the last admin key stays', async () => {
    const key = await tenantWithAdmin('lta-ghost');
    const ghost = 'https://wrong-issuer.example/|ghost';
    const refused = await putMember(ghost, 'admin', key);
    expectError(refused, 400, 'invalid_request', 'put ghost');
    expect(refused.body.error.field).to.equal('subject');
    expect(refused.body.error.message).to.contain('"https://idp.example.com/"');
    // One already there (added before SSO was configured, or before the issuer changed) does not count either.
    await stack.pool.query(
      "INSERT INTO tenant_members (tenant_id, subject, role, created_by) VALUES ('lta-ghost', $1, 'admin', 'test')",
      [ghost],
    );
    expectError(await revoke(idOf(key), key), 409, 'last_tenant_admin', 'revoke with a ghost admin');
    expectError(await patch(idOf(key), { role: 'editor' }, key), 409, 'last_tenant_admin', 'demote with a ghost');
    expect(await actsAsAdmin(key)).to.equal(200);
    // Nor does it hold anything: it may go.
    expect((await deleteMember(ghost, key)).status).to.equal(204);
  });

  it('without SSO a member of any issuer may be prepared (it is no way in until SSO is on)', async () => {
    const key = await tenantWithAdmin('lta-prep');
    const subject = 'https://wrong-issuer.example/|later';
    const res = await request(keysOnly, 'PUT', memberPath(subject), { role: 'viewer' }, bearer(key));
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
  });

  /** Resolves once a request waits for the tenant's admin lock (held by the test). */
  async function waitForLockWaiter(): Promise<void> {
    for (let i = 0; i < 500; i++) {
      const { rows } = await stack.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND NOT granted AND classid = $1::int::oid AND objsubid = 2`,
        [TENANT_ADMIN_LOCK_CLASS],
      );
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no request waited for the tenant admin lock');
  }

  /**
   * Holds the tenant's admin lock in a transaction of the test, starts `change` (which authenticates and then waits
   * for that lock), runs `meanwhile` in the lock's transaction and commits: the change then runs after it.
   */
  async function whileLocked(
    tenantId: string,
    change: () => Promise<JsonResponse>,
    meanwhile: (sql: (text: string, values: unknown[]) => Promise<unknown>) => Promise<void>,
  ): Promise<JsonResponse> {
    const client = await stack.pool.connect();
    try {
      await client.query('BEGIN');
      await lockTenantAdmins(client, tenantId);
      const pending = change();
      await waitForLockWaiter();
      await meanwhile((text, values) => client.query(text, values));
      await client.query('COMMIT');
      return await pending;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  const memberRow = async (tenantId: string, subject: string) =>
    (
      await stack.pool.query('SELECT role FROM tenant_members WHERE tenant_id = $1 AND subject = $2', [
        tenantId,
        subject,
      ])
    ).rows[0];

  it('a removed SSO admin whose request authenticated just before cannot add itself back (403)', async () => {
    const tenantId = 'lta-carl';
    const key = await tenantWithAdmin(tenantId);
    const carl = 'https://idp.example.com/|carl';
    expect((await putMember(carl, 'admin', key)).status).to.equal(201);
    const asCarl = { authorization: `Bearer token-of:${carl}` };

    // carl's PUT authenticated (as admin), then waits for the lock while his removal commits.
    const readd = await whileLocked(
      tenantId,
      () => request(api, 'PUT', memberPath(carl), { role: 'admin' }, asCarl),
      (sql) => sql('DELETE FROM tenant_members WHERE tenant_id = $1 AND subject = $2', [tenantId, carl]).then(),
    );
    expectError(readd, 403, 'insufficient_role', 'readd');
    expect(readd.body.error.message).to.match(/membership changed while this request ran/);
    expect(await memberRow(tenantId, carl)).to.equal(undefined);

    // Demoted rather than removed: likewise refused, his role stays.
    expect((await putMember(carl, 'admin', key)).status).to.equal(201);
    const dave = 'https://idp.example.com/|dave';
    const added = await whileLocked(
      tenantId,
      () => request(api, 'PUT', memberPath(dave), { role: 'admin' }, asCarl),
      (sql) =>
        sql("UPDATE tenant_members SET role = 'viewer' WHERE tenant_id = $1 AND subject = $2", [tenantId, carl]).then(),
    );
    expectError(added, 403, 'insufficient_role', 'demoted');
    expect(await memberRow(tenantId, dave)).to.equal(undefined);
    expect(await memberRow(tenantId, carl)).to.deep.equal({ role: 'viewer' });
  });

  it('a key revoked or demoted while its members request waited is refused (401 key_revoked, 403)', async () => {
    const tenantId = 'lta-kcall';
    await tenantWithAdmin(tenantId);
    const caller = await createTestKey(stack.pool, { tenantId, role: 'admin' });
    const erin = 'https://idp.example.com/|erin';
    const revoked = await whileLocked(
      tenantId,
      () => putMember(erin, 'admin', caller),
      (sql) => sql('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [idOf(caller)]).then(),
    );
    expectError(revoked, 401, 'key_revoked', 'revoked caller');
    expect(await memberRow(tenantId, erin)).to.equal(undefined);

    const other = await createTestKey(stack.pool, { tenantId, role: 'admin' });
    expect((await putMember(erin, 'viewer', other)).status).to.equal(201);
    const demoted = await whileLocked(
      tenantId,
      () => deleteMember(erin, other),
      (sql) => sql("UPDATE api_keys SET role = 'editor' WHERE key_id = $1", [idOf(other)]).then(),
    );
    expectError(demoted, 403, 'insufficient_role', 'demoted caller');
    expect(await memberRow(tenantId, erin)).to.deep.equal({ role: 'viewer' });
  });

  it('removing an SSO admin while it re-adds itself: it ends up removed, whichever runs first', async () => {
    for (let i = 0; i < 5; i++) {
      const tenantId = `lta-carl-race${i}`;
      const key = await tenantWithAdmin(tenantId);
      // Another carl per round (carl of lta-carl is still a member there).
      const carl = `https://idp.example.com/|carl-${i}`;
      expect((await putMember(carl, 'admin', key)).status).to.equal(201);
      const asCarl = { authorization: `Bearer token-of:${carl}`, 'x-kiln-tenant': tenantId };
      const [readd, removed] = await Promise.all([
        request(api, 'PUT', memberPath(carl), { role: 'admin' }, asCarl),
        deleteMember(carl, key),
      ]);
      const what = `${tenantId}: ${JSON.stringify([readd.body, removed.body])}`;
      expect(removed.status, what).to.equal(204);
      // Before the removal: 200 (it was a member); after: 403 (refused at the gate, or under the lock).
      expect([200, 403], what).to.include(readd.status);
      expect(await memberRow(tenantId, carl), what).to.equal(undefined);
    }
  });
});
