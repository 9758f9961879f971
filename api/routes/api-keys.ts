import Router from '@koa/router';
import { NotFoundError } from '../../common/errors';
import { createApiKey, listApiKeys, revokeApiKey } from '../../db/api-keys';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { createApiKeyRequest, KEY_ID_PATTERN } from '../schemas/api-keys';
import { parseWith } from '../schemas/validate';

/**
 * API keys of the caller's tenant (admins): create (the key is in the answer, once), list (never a secret or hash),
 * revoke. Another tenant's key is a 404, as a key that does not exist.
 */
export function apiKeysRouter(deps: Pick<ApiDeps, 'pool' | 'bodyLimits'>): Router {
  const router = new Router();

  router.post('/api-keys', requires('admin'), async (ctx) => {
    const caller = principalOf(ctx);
    const body = parseWith(createApiKeyRequest, await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes));
    const { key, record } = await createApiKey(deps.pool, {
      tenantId: caller.tenantId,
      name: body.name,
      role: body.role,
      createdBy: caller.id,
      ...(body.expiresAt !== undefined ? { expiresAt: new Date(body.expiresAt) } : {}),
    });
    ctx.status = 201;
    ctx.body = { ...record, key };
  });

  router.get('/api-keys', requires('admin'), async (ctx) => {
    ctx.body = { apiKeys: await listApiKeys(deps.pool, principalOf(ctx).tenantId) };
  });

  router.delete('/api-keys/:keyId', requires('admin'), async (ctx) => {
    const keyId = ctx.params.keyId!;
    const revoked = KEY_ID_PATTERN.test(keyId)
      ? await revokeApiKey(deps.pool, principalOf(ctx).tenantId, keyId)
      : undefined;
    if (!revoked) throw new NotFoundError('API key', keyId, 'keyId');
    // This process stops accepting it now; other replicas when their cached row expires (api/auth/gate.ts).
    ctx.accessGate?.forgetKey(keyId);
    ctx.status = 204;
  });

  return router;
}
