import { expect } from 'chai';
import { createSsoVerifier } from '../../api/auth/sso';
import { createSession } from '../../db/sessions';
import { putTenantMember } from '../../db/tenant-members';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { TENANT_DISABLED_PAUSE_NOTE, TENANT_ENABLED_UNPAUSE_NOTE } from '../../api/services/tenant-schedules';
import { SAFE_UNICODE_NAME, UNSAFE_NAMES } from '../support/unsafe-names';
import { eventually, JsonResponse, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** The key id of `kiln_<keyId>_<secret>`. */
const idOf = (key: string) => key.slice(5, 21);

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

/**
 * The key lifecycle (issue 12, fix round): rotating a key (with a grace period), changing its role or name, and
 * disabling a tenant, through the API on a real Postgres.
 */
describe('key lifecycle: rotate, change, disable a tenant', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  after(() => api?.close());

  /** GET /api/v1/models with a key: 200 while it works. */
  const useKey = (key: string) => request(api, 'GET', '/api/v1/models', undefined, bearer(key));
  const auditOf = async (entityType: string, entityId: string) =>
    (
      await stack.pool.query(
        'SELECT action, actor, details FROM audit_events WHERE entity_type = $1 AND entity_id = $2 ORDER BY id',
        [entityType, entityId],
      )
    ).rows as Array<{ action: string; actor: string; details: Record<string, unknown> }>;

  describe('rotation', () => {
    let admin: string;
    before(async () => {
      await createTestTenant(stack.pool, 'kl-rot');
      admin = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'admin' });
    });
    const rotate = (keyId: string, body?: unknown, as = admin) =>
      request(api, 'POST', `/api/v1/api-keys/${keyId}/rotate`, body, bearer(as));

    it('gives a new key with the same name, tenant, role, flag and expiry; the old one is refused at once', async () => {
      const expiresAt = new Date(Date.now() + 7 * 86_400_000);
      const old = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'operator', name: 'ci', expiresAt });
      expect((await useKey(old)).status).to.equal(200);
      const res = await rotate(idOf(old));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const fresh = res.body.key as string;
      expect(fresh).to.match(/^kiln_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(res.body.keyId).to.equal(idOf(fresh)).and.not.equal(idOf(old));
      expect(fresh.slice(22)).not.to.equal(old.slice(22));
      expect(res.body).to.include({
        tenantId: 'kl-rot',
        name: 'ci',
        role: 'operator',
        platformAdmin: false,
        expiresAt: expiresAt.toISOString(),
        revokedAt: null,
        replacedBy: null,
      });
      expect(res.body.previous).to.include({ keyId: idOf(old), replacedBy: res.body.keyId });
      expect(Date.parse(res.body.previous.revokedAt)).to.be.at.most(Date.now() + 1000);

      expect((await useKey(fresh)).status).to.equal(200);
      const refused = await useKey(old);
      expectError(refused, 401, 'key_revoked');
      expect(refused.body.error.message)
        .to.match(/was rotated/)
        .and.match(/replacedBy of GET \/api\/v1\/api-keys/);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.headers.get('pragma')).to.equal('no-cache');

      const listed = (await request(api, 'GET', '/api/v1/api-keys', undefined, bearer(admin))).body.apiKeys as Array<
        Record<string, unknown>
      >;
      expect(listed.find((k) => k.keyId === idOf(old))).to.include({
        replacedBy: res.body.keyId,
        revokedBy: `key:${idOf(admin)}`,
      });
      const oldEvents = await auditOf('api_key', idOf(old));
      expect(oldEvents.at(-1)).to.deep.include({ action: 'rotated', actor: `key:${idOf(admin)}` });
      expect(oldEvents.at(-1)!.details).to.include({ replacedBy: res.body.keyId, graceSeconds: 0 });
      const newEvents = await auditOf('api_key', res.body.keyId);
      expect(newEvents).to.have.length(1);
      expect(newEvents[0]!.details).to.include({ rotatedFrom: idOf(old), role: 'operator', name: 'ci' });
    });

    it('refuses a rotated, revoked or expired key (409), another tenant’s (404), a grace beyond a day (400)', async () => {
      const key = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'viewer' });
      expectError(await rotate(idOf(key), { graceSeconds: 86_401 }), 400, 'invalid_request');
      const tooLong = await rotate(idOf(key), { graceSeconds: 86_401 });
      expect(tooLong.body.error.field).to.equal('graceSeconds');
      expect(tooLong.body.error.message).to.match(/at most 86400/);
      // A huge number names the limit, not the safe-integer range.
      const huge = await rotate(idOf(key), { graceSeconds: 1e23 });
      expectError(huge, 400, 'invalid_request');
      expect(huge.body.error.message)
        .to.match(/at most 86400/)
        .and.not.match(/9007199254740991/);
      expectError(await rotate(idOf(key), { graceSeconds: -1 }), 400, 'invalid_request');
      expectError(await rotate(idOf(key), { grace: 5 }), 400, 'unknown_field');
      expectError(await rotate('kiln_0123'), 400, 'invalid_request');

      expect((await rotate(idOf(key))).status).to.equal(201);
      expectError(await rotate(idOf(key)), 409, 'key_rotated');

      const revoked = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'viewer' });
      expect(
        (await request(api, 'DELETE', `/api/v1/api-keys/${idOf(revoked)}`, undefined, bearer(admin))).status,
      ).to.equal(204);
      expectError(await rotate(idOf(revoked)), 409, 'key_revoked');

      const expired = await createTestKey(stack.pool, { tenantId: 'kl-rot', expiresAt: new Date(Date.now() - 1000) });
      expectError(await rotate(idOf(expired)), 409, 'key_expired');

      const elsewhere = await createTestKey(stack.pool, { tenantId: 'default', role: 'viewer' });
      expectError(await rotate(idOf(elsewhere)), 404, 'not_found');
      // Nothing was written by the refusals: the other tenant's key is as it was.
      expect((await useKey(elsewhere)).status).to.equal(200);
    });

    it('a tenant admin cannot rotate a platform-admin key (403); a platform admin can, and it stays one', async () => {
      const tenantAdmin = await createTestKey(stack.pool, { tenantId: 'default', role: 'admin' });
      const platform = await createTestKey(stack.pool, { tenantId: 'default', platformAdmin: true });
      expectError(await rotate(idOf(platform), undefined, tenantAdmin), 403, 'insufficient_role');
      expect((await useKey(platform)).status).to.equal(200);
      const res = await rotate(idOf(platform), undefined, api.key);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body).to.include({ platformAdmin: true, role: 'admin', tenantId: 'default' });
      expect((await request(api, 'GET', '/api/v1/tenants', undefined, bearer(res.body.key))).status).to.equal(200);
    });

    it('refuses rotating the last usable platform-admin key without an expiry with no grace (409); a grace lets it', async () => {
      // Every other permanent platform-admin key expires for this test (restored after it).
      const { rows: parked } = await stack.pool.query<{ key_id: string }>(
        `UPDATE api_keys SET expires_at = now() + interval '1 hour'
         WHERE platform_admin AND expires_at IS NULL AND revoked_at IS NULL RETURNING key_id`,
      );
      try {
        await createTestTenant(stack.pool, 'kl-padm');
        const last = await createTestKey(stack.pool, { tenantId: 'kl-padm', platformAdmin: true });
        // A second admin key of its tenant: the tenant's rule is not what refuses.
        await createTestKey(stack.pool, { tenantId: 'kl-padm', role: 'admin' });
        const refused = await rotate(idOf(last), { graceSeconds: 0 }, last);
        expectError(refused, 409, 'last_platform_admin');
        expect(refused.body.error.message).to.match(/graceSeconds": 300/);
        expect((await request(api, 'GET', '/api/v1/tenants', undefined, bearer(last))).status).to.equal(200);
        const graced = await rotate(idOf(last), { graceSeconds: 60 }, last);
        expect(graced.status, JSON.stringify(graced.body)).to.equal(201);
        expect(graced.body).to.include({ platformAdmin: true, expiresAt: null });
        expect((await request(api, 'GET', '/api/v1/tenants', undefined, bearer(graced.body.key))).status).to.equal(200);
      } finally {
        await stack.pool.query('UPDATE api_keys SET expires_at = NULL WHERE key_id = ANY($1::text[])', [
          parked.map((r) => r.key_id),
        ]);
      }
    });

    it('keeps the old key working during the grace period, and refuses it once the period ends', async () => {
      const inGrace = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'viewer' });
      const res = await rotate(idOf(inGrace), { graceSeconds: 3600 });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(Date.parse(res.body.previous.revokedAt) - Date.now()).to.be.within(3590_000, 3610_000);
      expect((await useKey(inGrace)).status).to.equal(200);
      expect((await useKey(res.body.key)).status).to.equal(200);
      // A rotated key is rotated once: its successor is the one to rotate.
      expectError(await rotate(idOf(inGrace)), 409, 'key_rotated');
      // Revoking it during its grace ends the grace now.
      expect(
        (await request(api, 'DELETE', `/api/v1/api-keys/${idOf(inGrace)}`, undefined, bearer(admin))).status,
      ).to.equal(204);
      expectError(await useKey(inGrace), 401, 'key_revoked');

      // The grace's end, reached by moving the database's time rather than waiting an hour (the old key not used
      // since the rotation, so this process has no cached row of it).
      const ending = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'viewer' });
      expect((await rotate(idOf(ending), { graceSeconds: 3600 })).status).to.equal(201);
      await stack.pool.query(`UPDATE api_keys SET revoked_at = now() - interval '1 second' WHERE key_id = $1`, [
        idOf(ending),
      ]);
      expectError(await useKey(ending), 401, 'key_revoked');

      // A cached row's future revocation is compared with the clock on every request: a short grace ends on time.
      const short = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'viewer' });
      const rotated = await rotate(idOf(short), { graceSeconds: 1 });
      expect(rotated.status).to.equal(201);
      expect((await useKey(short)).status).to.equal(200);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Date.parse(rotated.body.previous.revokedAt) - Date.now()) + 100),
      );
      expectError(await useKey(short), 401, 'key_revoked');
    });

    it('of concurrent rotations of one key exactly one succeeds; the others are 409', async () => {
      const key = await createTestKey(stack.pool, { tenantId: 'kl-rot', role: 'editor', name: 'raced' });
      const answers = await Promise.all(Array.from({ length: 6 }, () => rotate(idOf(key), { graceSeconds: 60 })));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, JSON.stringify(answers.map((a) => a.body))).to.deep.equal([201, 409, 409, 409, 409, 409]);
      for (const a of answers.filter((x) => x.status === 409)) expect(a.body.error.code).to.equal('key_rotated');
      const { rows } = await stack.pool.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE entity_type = 'api_key' AND details->>'rotatedFrom' = $1`,
        [idOf(key)],
      );
      expect(rows[0].n).to.equal(1);
      const rotatedEvents = (await auditOf('api_key', idOf(key))).filter((e) => e.action === 'rotated');
      expect(rotatedEvents).to.have.length(1);
    });
  });

  describe('changing a key', () => {
    let admin: string;
    before(async () => {
      await createTestTenant(stack.pool, 'kl-patch');
      admin = await createTestKey(stack.pool, { tenantId: 'kl-patch', role: 'admin' });
    });
    const patch = (keyId: string, body: unknown, as = admin) =>
      request(api, 'PATCH', `/api/v1/api-keys/${keyId}`, body, bearer(as));

    it('a new role applies to the next request in this process (the cached row is forgotten); audited', async () => {
      const key = await createTestKey(stack.pool, { tenantId: 'kl-patch', role: 'viewer', name: 'notebook' });
      const listKeys = () => request(api, 'GET', '/api/v1/api-keys', undefined, bearer(key));
      expectError(await listKeys(), 403, 'insufficient_role');

      const res = await patch(idOf(key), { role: 'admin', name: 'notebook of ada' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body).to.include({ keyId: idOf(key), role: 'admin', name: 'notebook of ada', tenantId: 'kl-patch' });
      expect(res.body).not.to.have.property('key');
      expect((await listKeys()).status).to.equal(200);

      expect((await patch(idOf(key), { role: 'viewer' })).body.role).to.equal('viewer');
      expectError(await listKeys(), 403, 'insufficient_role');

      const events = (await auditOf('api_key', idOf(key))).filter((e) => e.action === 'updated');
      expect(events.map((e) => e.details)).to.deep.equal([
        { before: { role: 'viewer', name: 'notebook' }, after: { role: 'admin', name: 'notebook of ada' } },
        { before: { role: 'admin', name: 'notebook of ada' }, after: { role: 'viewer', name: 'notebook of ada' } },
      ]);
    });

    it('nobody grants more than they hold', async () => {
      const operator = await createTestKey(stack.pool, { tenantId: 'kl-patch', role: 'operator' });
      // Not an admin: cannot change any key, its own included.
      expectError(await patch(idOf(operator), { role: 'admin' }, operator), 403, 'insufficient_role');
      // The platform-admin flag is no field of the change, for anybody.
      expectError(await patch(idOf(admin), { platformAdmin: true }), 400, 'unknown_field');
      expectError(await patch(idOf(admin), { platformAdmin: true }, api.key), 400, 'unknown_field');
      const empty = await patch(idOf(admin), {});
      expectError(empty, 400, 'invalid_request');
      expect(empty.body.error.field).to.equal('role');
      expectError(await patch(idOf(admin), { role: 'owner' }), 400, 'invalid_request');

      // A tenant admin of default and the platform-admin key beside it: not theirs to touch.
      const tenantAdmin = await createTestKey(stack.pool, { tenantId: 'default', role: 'admin' });
      const platform = await createTestKey(stack.pool, { tenantId: 'default', platformAdmin: true, name: 'ops' });
      expectError(await patch(idOf(platform), { name: 'mine' }, tenantAdmin), 403, 'insufficient_role');
      // A platform admin renames it, but it keeps role admin.
      expect((await patch(idOf(platform), { name: 'ops-2' }, api.key)).body).to.include({
        name: 'ops-2',
        platformAdmin: true,
      });
      const demote = await patch(idOf(platform), { role: 'viewer' }, api.key);
      expectError(demote, 400, 'invalid_request');
      expect(demote.body.error.field).to.equal('role');

      // Another tenant's key is not found; a revoked one is a 409.
      expectError(await patch(idOf(tenantAdmin), { role: 'viewer' }), 404, 'not_found');
      const gone = await createTestKey(stack.pool, { tenantId: 'kl-patch', role: 'viewer' });
      await request(api, 'DELETE', `/api/v1/api-keys/${idOf(gone)}`, undefined, bearer(admin));
      expectError(await patch(idOf(gone), { role: 'editor' }), 409, 'key_revoked');
      const { rows } = await stack.pool.query('SELECT role FROM api_keys WHERE key_id = $1', [idOf(gone)]);
      expect(rows[0].role).to.equal('viewer');
    });
  });

  describe('key names', () => {
    let admin: string;
    let target: string;
    before(async () => {
      await createTestTenant(stack.pool, 'kl-names');
      admin = await createTestKey(stack.pool, { tenantId: 'kl-names', role: 'admin' });
      target = await createTestKey(stack.pool, { tenantId: 'kl-names', role: 'viewer', name: 'before' });
    });

    it('refuse NUL, lone surrogates, control characters and bidi controls (400 naming name) on create and change', async () => {
      for (const [what, name] of Object.entries(UNSAFE_NAMES)) {
        const created = await request(api, 'POST', '/api/v1/api-keys', { name, role: 'viewer' }, bearer(admin));
        expectError(created, 400, 'invalid_request', `POST ${what}`);
        expect(created.body.error.field, what).to.equal('name');
        const changed = await request(api, 'PATCH', `/api/v1/api-keys/${idOf(target)}`, { name }, bearer(admin));
        expectError(changed, 400, 'invalid_request', `PATCH ${what}`);
        expect(changed.body.error.field, what).to.equal('name');
      }
      const { rows } = await stack.pool.query('SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1', [
        'kl-names',
      ]);
      expect(rows[0].n).to.equal(2);
      expect((await request(api, 'GET', '/api/v1/api-keys', undefined, bearer(admin))).body.apiKeys[1].name).to.equal(
        'before',
      );
    });

    it('accept other Unicode; the answer with a new key is never cached', async () => {
      const created = await request(
        api,
        'POST',
        '/api/v1/api-keys',
        { name: SAFE_UNICODE_NAME, role: 'viewer' },
        bearer(admin),
      );
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      expect(created.body.name).to.equal(SAFE_UNICODE_NAME);
      expect(created.headers.get('cache-control')).to.equal('no-store');
      expect(created.headers.get('pragma')).to.equal('no-cache');
      const changed = await request(
        api,
        'PATCH',
        `/api/v1/api-keys/${idOf(target)}`,
        { name: SAFE_UNICODE_NAME },
        bearer(admin),
      );
      expect(changed.body.name).to.equal(SAFE_UNICODE_NAME);
    });
  });

  describe('disabling a tenant', () => {
    /** An API whose SSO tokens are `token-of:<subject>` (no JWKS: the membership and tenant checks are what is tested). */
    let ssoApi: TestApi;
    before(async () => {
      const sso = createSsoVerifier({
        pool: stack.pool,
        config: {
          jwksUrl: 'http://127.0.0.1:9/unused',
          issuer: 'https://idp.example',
          audience: 'kiln',
          algorithms: ['RS256'],
        },
        verifyToken: (token) => Promise.resolve(token.slice('token-of:'.length)),
      });
      ssoApi = await startTestApi(stack, {}, {}, { sso });
    });
    after(() => ssoApi?.close());
    const disable = (tenantId: string, disabled: boolean, as = api.key) =>
      request(api, 'PATCH', `/api/v1/tenants/${tenantId}`, { disabled }, bearer(as));
    const withCookie = (sessionId: string) => ({ authorization: '', cookie: `kiln_session=${sessionId}` });

    it('refuses its keys, key sessions, SSO tokens and SSO sessions with 403 tenant_disabled; enabling restores them', async () => {
      await createTestTenant(stack.pool, 'kl-off');
      const key = await createTestKey(stack.pool, { tenantId: 'kl-off', role: 'admin' });
      const expiresAt = new Date(Date.now() + 3600_000);
      const keySession = (
        await createSession(stack.pool, { tenantId: 'kl-off', owner: { kind: 'key', keyId: idOf(key) }, expiresAt })
      ).sessionId;
      const subject = 'https://idp.example|ada';
      await putTenantMember(stack.pool, 'kl-off', subject, 'editor', 'test');
      const ssoSession = (
        await createSession(stack.pool, {
          tenantId: 'kl-off',
          owner: { kind: 'sso', subject, role: 'editor' },
          expiresAt,
        })
      ).sessionId;
      const probes = {
        key: () => useKey(key),
        keySession: () => request(api, 'GET', '/api/v1/models', undefined, withCookie(keySession)),
        ssoSession: () => request(api, 'GET', '/api/v1/models', undefined, withCookie(ssoSession)),
        ssoToken: () => request(ssoApi, 'GET', '/api/v1/models', undefined, bearer(`token-of:${subject}`)),
        // A write route too: "every route".
        write: () => request(api, 'POST', '/api/v1/api-keys', { name: 'x', role: 'viewer' }, bearer(key)),
      };
      for (const [what, probe] of Object.entries(probes)) expect((await probe()).status, what).to.be.oneOf([200, 201]);

      const off = await disable('kl-off', true);
      expect(off.status, JSON.stringify(off.body)).to.equal(200);
      expect(off.body).to.include({ id: 'kl-off', disabled: true });
      expect(off.body.disabledAt).to.be.a('string');
      for (const [what, probe] of Object.entries(probes)) {
        const res = await probe();
        expectError(res, 403, 'tenant_disabled', what);
        expect(res.body.error.message, what).to.match(/platform admin/);
      }
      // Signing in with its key is refused too.
      expectError(
        await request(api, 'POST', '/api/v1/session', { apiKey: key }, { authorization: '' }),
        403,
        'tenant_disabled',
      );
      const listed = (await request(api, 'GET', '/api/v1/tenants')).body.tenants as Array<Record<string, unknown>>;
      expect(listed.find((t) => t.id === 'kl-off')).to.include({ disabled: true });
      expect(listed.find((t) => t.id === 'default')).to.include({ disabled: false, disabledAt: null });
      // Again: no change, no second event.
      expect((await disable('kl-off', true)).status).to.equal(200);

      const on = await disable('kl-off', false);
      expect(on.body).to.include({ id: 'kl-off', disabled: false, disabledAt: null });
      for (const [what, probe] of Object.entries(probes)) expect((await probe()).status, what).to.be.oneOf([200, 201]);

      const events = await auditOf('tenant', 'kl-off');
      expect(events.map((e) => e.action)).to.deep.equal(['disabled', 'enabled']);
      expect(events[0]!.actor).to.equal(`key:${idOf(api.key)}`);
    });

    it('pauses the tenant’s schedules with it, and unpauses those it paused when enabled again', async () => {
      await createTestTenant(stack.pool, 'kl-sched');
      const owner = await createTestKey(stack.pool, { tenantId: 'kl-sched', role: 'admin' });
      const data = Array.from({ length: 12 }, (_, i) => [i % 2 === 0 ? i : -i, i % 3]);
      const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'kl-sched', data }, bearer(owner));
      expect(upload.status, JSON.stringify(upload.body)).to.equal(201);
      const schedule = async (paused: boolean) => {
        const res = await request(
          api,
          'POST',
          '/api/v1/schedules',
          {
            action: {
              kind: 'clustering',
              request: { algorithm: 'kmeans', params: { k: 2 }, dataset: { name: 'kl-sched' } },
            },
            // Never due during the test.
            spec: { cron: ['0 3 1 1 *'], timezone: 'UTC', startAt: '2099-01-01T00:00:00Z' },
            paused,
          },
          bearer(owner),
        );
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return stack.env.client.schedule.getHandle(res.body.scheduleId as string);
      };
      const running = await schedule(false);
      const pausedByOwner = await schedule(true);
      try {
        // Visibility lists a new schedule within about a second.
        await eventually(
          () => request(api, 'GET', '/api/v1/schedules', undefined, bearer(owner)),
          (listed) => listed.body.schedules?.length === 2,
        );
        const off = await disable('kl-sched', true);
        expect(off.status, JSON.stringify(off.body)).to.equal(200);
        expect(off.body.schedulesPaused).to.equal(1);
        expect((await running.describe()).state).to.include({ paused: true, note: TENANT_DISABLED_PAUSE_NOTE });
        const ownerNote = (await pausedByOwner.describe()).state.note;
        expect(ownerNote).to.not.equal(TENANT_DISABLED_PAUSE_NOTE);

        // The list of paused schedules lags the pause by up to a second: a repeat unpauses what the first missed.
        const on = await eventually(
          async () => {
            const res = await disable('kl-sched', false);
            return { res, paused: (await running.describe()).state.paused };
          },
          ({ res, paused }) => res.status === 200 && !paused,
        );
        expect(on.res.body.schedulesUnpaused).to.be.oneOf([0, 1]);
        expect((await running.describe()).state.note).to.equal(TENANT_ENABLED_UNPAUSE_NOTE);
        expect((await pausedByOwner.describe()).state).to.include({ paused: true, note: ownerNote });
      } finally {
        await running.delete().catch(() => undefined);
        await pausedByOwner.delete().catch(() => undefined);
      }
    });

    it('never locks every platform admin out: not the caller’s own tenant, not the last usable platform admin', async () => {
      expectError(await disable('default', true), 409, 'own_tenant');
      expectError(await disable('no-such-tenant', true), 404, 'not_found');
      expectError(await disable('Bad.Id', true), 400, 'invalid_request');
      const tenantAdmin = await createTestKey(stack.pool, { tenantId: 'default', role: 'admin' });
      expectError(await disable('kl-rot', true, tenantAdmin), 403, 'insufficient_role');

      // Other test files may have left permanent platform-admin keys in other tenants: they expire for this test.
      const { rows: parked } = await stack.pool.query<{ key_id: string }>(
        `UPDATE api_keys SET expires_at = now() + interval '1 hour'
         WHERE platform_admin AND tenant_id <> 'default' AND expires_at IS NULL AND revoked_at IS NULL RETURNING key_id`,
      );
      await createTestTenant(stack.pool, 'kl-ops');
      await createTestTenant(stack.pool, 'kl-ops2');
      const expiring = await createTestKey(stack.pool, {
        tenantId: 'kl-ops',
        platformAdmin: true,
        expiresAt: new Date(Date.now() + 3600_000),
      });
      try {
        // Every permanent platform-admin key is in default: disabling it would leave only one that expires.
        const refused = await disable('default', true, expiring);
        expectError(refused, 409, 'last_platform_admin');
        expect((await useKey(api.key)).status).to.equal(200);

        // With a permanent one in another enabled tenant, default may be disabled (and its keys are refused).
        const permanent = await createTestKey(stack.pool, { tenantId: 'kl-ops2', platformAdmin: true });
        expect((await disable('default', true, permanent)).status).to.equal(200);
        expectError(await useKey(api.key), 403, 'tenant_disabled');
        // ...but then not kl-ops2, the last enabled tenant holding a permanent one.
        expectError(await disable('kl-ops2', true, expiring), 409, 'last_platform_admin');
        // Nor can its last permanent key be revoked: keys of a disabled tenant do not count.
        expectError(
          await request(api, 'DELETE', `/api/v1/api-keys/${idOf(permanent)}`, undefined, bearer(permanent)),
          409,
          'last_platform_admin',
        );
        expect((await disable('default', false, permanent)).status).to.equal(200);
        expect((await useKey(api.key)).status).to.equal(200);
      } finally {
        await stack.pool.query(`UPDATE tenants SET disabled_at = NULL WHERE id = 'default'`);
        await stack.pool.query('UPDATE api_keys SET expires_at = NULL WHERE key_id = ANY($1::text[])', [
          parked.map((r) => r.key_id),
        ]);
      }
    });
  });
});
