import Router from '@koa/router';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../common/errors';
import { createApiKey, listApiKeys, revokeApiKey } from '../../db/api-keys';
import { inTransaction } from '../../db/pool';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { createApiKeyRequest, KEY_ID_PATTERN, listApiKeysQuery } from '../schemas/api-keys';
import { parseWith } from '../schemas/validate';

/**
 * API keys of the caller's tenant (admins): create (the key is in the answer, once), list (never a secret or hash),
 * revoke. Another tenant's key is a 404, as a key that does not exist. Creations and revocations are audited
 * (entity `api_key`). Platform-admin keys are created and revoked by platform admins only, and a usable one is
 * revoked only while a usable one without an expiry remains.
 */
export function apiKeysRouter(deps: Pick<ApiDeps, 'pool' | 'bodyLimits'>): Router {
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
    ctx.status = 201;
    ctx.body = { ...record, key };
  });

  router.get('/api-keys', requires('admin'), async (ctx) => {
    const { limit } = parseWith(listApiKeysQuery, ctx.query, 'query');
    ctx.body = { apiKeys: await listApiKeys(deps.pool, principalOf(ctx).tenantId, limit) };
  });

  router.delete('/api-keys/:keyId', requires('admin'), async (ctx) => {
    const keyId = ctx.params.keyId!;
    // Never echoed: a whole key pasted here would put its secret in the answer.
    if (!KEY_ID_PATTERN.test(keyId)) {
      throw new ValidationError('keyId: must be a key id (16 hex digits: kiln_<keyId>_...), not a key', 'keyId');
    }
    const caller = principalOf(ctx);
    const revoked = await inTransaction(deps.pool, (client) => revokeApiKey(client, caller, keyId));
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
      case 'revoked':
        break;
    }
    // This process stops accepting it now; other replicas when their cached row expires (api/auth/gate.ts).
    ctx.accessGate?.forgetKey(keyId);
    ctx.status = 204;
  });

  return router;
}
