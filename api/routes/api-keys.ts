import Router from '@koa/router';
import type { Context } from 'koa';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError } from '../../common/errors';
import { KeyRefusal, rotateApiKey, updateApiKey } from '../../db/api-key-lifecycle';
import { createApiKey, listApiKeys, revokeApiKey } from '../../db/api-keys';
import { inTransaction } from '../../db/pool';
import { lastTenantAdminError } from '../../db/tenant-admins';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { noStore } from '../no-store';
import {
  createApiKeyRequest,
  KEY_ID_PATTERN,
  listApiKeysQuery,
  rotateApiKeyRequest,
  updateApiKeyRequest,
} from '../schemas/api-keys';
import { parseWith } from '../schemas/validate';

/** The route's `:keyId`, checked (400 naming `keyId`). Never echoed: a whole key pasted there would leak its secret. */
function keyIdOf(ctx: Context): string {
  const keyId = ctx.params.keyId!;
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new ValidationError('keyId: must be a key id (16 hex digits: kiln_<keyId>_...), not a key', 'keyId');
  }
  return keyId;
}

/** The error for a key that cannot be rotated or changed (db/api-key-lifecycle.ts): as revoke's where they meet. */
function refusalError(refusal: KeyRefusal, keyId: string, action: 'rotate' | 'change'): DomainError {
  const [doing, done] = action === 'rotate' ? ['rotating', 'rotated'] : ['changing', 'changed'];
  switch (refusal) {
    case 'not_found':
      return new NotFoundError('API key', keyId, 'keyId');
    case 'platform_admin':
      return new ForbiddenError(`${doing} a platform-admin key needs a platform admin`, 'insufficient_role');
    case 'revoked':
      return new ConflictError(`the key is revoked: it cannot be ${done}; create a new one`, 'key_revoked', 'keyId');
    case 'expired':
      return new ConflictError(`the key has expired: it cannot be ${done}; create a new one`, 'key_expired', 'keyId');
    case 'replaced':
      return new ConflictError(
        `the key was already rotated (it works until its revokedAt: the end of the rotation's grace period, if any): ` +
          `${action} its successor ` +
          '(replacedBy in GET /api/v1/api-keys) instead',
        'key_rotated',
        'keyId',
      );
  }
}

/**
 * The conflict (409, naming `graceSeconds`) for a rotation without grace of the last usable permanent platform-admin
 * key or of the tenant's last way in as admin: were its answer lost, nobody would hold a working key.
 */
function lastWayInRotationError(code: 'last_platform_admin' | 'last_tenant_admin'): ConflictError {
  const what =
    code === 'last_platform_admin'
      ? 'the last usable platform-admin key without an expiry'
      : "the tenant's last way in as admin (no other admin key without an expiry, no admin SSO member)";
  const second =
    code === 'last_platform_admin'
      ? 'POST /api/v1/api-keys {"role": "admin", "platformAdmin": true} with no expiresAt'
      : 'POST /api/v1/api-keys {"role": "admin"} with no expiresAt';
  return new ConflictError(
    `this key is ${what}: rotated with no grace it would stop working at once, and were the answer with the new ` +
      'key lost (client gone, proxy timeout) nobody could get in again. Rotate it with a grace (e.g. ' +
      '{"graceSeconds": 300}) so that it keeps working until the new key is in hand (it stops when the grace ' +
      `ends); or create a second admin key first (${second})`,
    code,
    'graceSeconds',
  );
}

/**
 * API keys of the caller's tenant (admins): create (the key is in the answer, once), list (never a secret or hash),
 * revoke, rotate (a new key in its place, the old one revoked at once or after a grace period), change a key's role or
 * name. Another tenant's key is a 404, as a key that does not exist. Every change is audited (entity `api_key`).
 * Platform-admin keys are created, revoked, rotated and changed by platform admins only, and a usable one is revoked
 * only while a usable one without an expiry remains; likewise a tenant's usable admin key is revoked or loses the role
 * admin only while the tenant keeps another admin key without an expiry or an admin SSO member (409
 * `last_tenant_admin`, db/tenant-admins.ts), and the last of either is rotated only with a grace period (409: were
 * the answer lost, nobody would hold a working key). Answers with a key are never cached (Cache-Control: no-store).
 * A revocation, rotation or change applies in this process at
 * once (its cached row is forgotten); other replicas within KEY_CACHE_MS (5 s, api/auth/gate.ts).
 */
export function apiKeysRouter(deps: Pick<ApiDeps, 'pool' | 'bodyLimits' | 'sso'>): Router {
  const router = new Router();

  router.post('/api-keys', requires('admin'), async (ctx) => {
    const caller = principalOf(ctx);
    const body = parseWith(createApiKeyRequest, await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes));
    if (body.platformAdmin) {
      // A 400 as before this field existed, for a caller who may not set it: the request is one it cannot make.
      if (!caller.platformAdmin) {
        throw new ValidationError('platformAdmin: only a platform admin creates platform-admin keys', 'platformAdmin');
      }
      if (body.role !== 'admin') throw new ValidationError('role: a platform-admin key has role admin', 'role');
    }
    const { key, record } = await createApiKey(deps.pool, {
      tenantId: caller.tenantId,
      name: body.name,
      role: body.role,
      platformAdmin: body.platformAdmin ?? false,
      createdBy: caller.id,
      ...(body.expiresAt !== undefined ? { expiresAt: new Date(body.expiresAt) } : {}),
    });
    noStore(ctx);
    ctx.status = 201;
    ctx.body = { ...record, key };
  });

  router.get('/api-keys', requires('admin'), async (ctx) => {
    const { limit } = parseWith(listApiKeysQuery, ctx.query, 'query');
    ctx.body = { apiKeys: await listApiKeys(deps.pool, principalOf(ctx).tenantId, limit) };
  });

  router.delete('/api-keys/:keyId', requires('admin'), async (ctx) => {
    const keyId = keyIdOf(ctx);
    const caller = principalOf(ctx);
    const revoked = await inTransaction(deps.pool, (client) => revokeApiKey(client, caller, keyId, deps.sso?.issuer));
    switch (revoked.outcome) {
      case 'not_found':
        throw new NotFoundError('API key', keyId, 'keyId');
      case 'platform_admin':
        throw new ForbiddenError('revoking a platform-admin key needs a platform admin', 'insufficient_role');
      case 'last_platform_admin':
        throw new ConflictError(
          'revoking this key would leave no usable platform-admin key without an expiry (one that expires would ' +
            'leave nobody to manage tenants once it does): create one first (POST /api/v1/api-keys with ' +
            '"platformAdmin": true and no expiresAt), then revoke this one',
          'last_platform_admin',
          'keyId',
        );
      case 'last_tenant_admin':
        throw lastTenantAdminError('keyId');
      case 'revoked':
        break;
    }
    // This process stops accepting it now; other replicas when their cached row expires (api/auth/gate.ts).
    ctx.accessGate?.forgetKey(keyId);
    ctx.status = 204;
  });

  router.post('/api-keys/:keyId/rotate', requires('admin'), async (ctx) => {
    const keyId = keyIdOf(ctx);
    // The body is optional: a request without one (no length, no type) rotates with no grace period.
    const hasBody = Boolean(ctx.request.length || ctx.get('transfer-encoding') || ctx.get('content-type'));
    const body = parseWith(
      rotateApiKeyRequest,
      hasBody ? await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes) : {},
    );
    const caller = principalOf(ctx);
    const rotated = await inTransaction(deps.pool, (client) =>
      rotateApiKey(client, caller, keyId, body.graceSeconds, deps.sso?.issuer),
    );
    if (rotated.outcome === 'last_platform_admin' || rotated.outcome === 'last_tenant_admin') {
      throw lastWayInRotationError(rotated.outcome);
    }
    if (rotated.outcome !== 'rotated') throw refusalError(rotated.outcome, keyId, 'rotate');
    noStore(ctx);
    // Its cached row says "not revoked": this process reads the new revokedAt at once, others within KEY_CACHE_MS.
    ctx.accessGate?.forgetKey(keyId);
    ctx.status = 201;
    ctx.body = { ...rotated.record, key: rotated.key, previous: rotated.previous };
  });

  router.patch('/api-keys/:keyId', requires('admin'), async (ctx) => {
    const keyId = keyIdOf(ctx);
    const change = parseWith(updateApiKeyRequest, await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes));
    const caller = principalOf(ctx);
    const updated = await inTransaction(deps.pool, (client) =>
      updateApiKey(client, caller, keyId, change, deps.sso?.issuer),
    );
    if (updated.outcome === 'platform_admin_role') {
      throw new ValidationError('role: a platform-admin key has role admin', 'role');
    }
    if (updated.outcome === 'last_tenant_admin') throw lastTenantAdminError('role');
    if (updated.outcome !== 'updated') throw refusalError(updated.outcome, keyId, 'change');
    // The old role must not outlive the change here: this process reads the row again at once; others within
    // KEY_CACHE_MS (api/auth/gate.ts).
    ctx.accessGate?.forgetKey(keyId);
    ctx.body = updated.record;
  });

  return router;
}
