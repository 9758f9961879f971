import Router from '@koa/router';
import { ConflictError, ValidationError } from '../../common/errors';
import { createApiKey } from '../../db/api-keys';
import { inTransaction } from '../../db/pool';
import { createTenant, listTenants } from '../../db/tenants';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { createTenantRequest, tenantSlug } from '../schemas/tenants';
import { parseWith } from '../schemas/validate';

/**
 * Tenants (platform admins): create one with its first admin key (shown once), list them. A creation is audited in the
 * new tenant: events `tenant` created and `api_key` created (its first key), the platform admin as actor.
 */
export function tenantsRouter(deps: Pick<ApiDeps, 'pool' | 'bodyLimits'>): Router {
  const router = new Router();

  router.post('/tenants', requires('platform-admin'), async (ctx) => {
    const caller = principalOf(ctx);
    const body = parseWith(createTenantRequest, await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes));
    const id = body.id ?? tenantSlug(body.name);
    if (id === undefined) {
      throw new ValidationError('id: the name gives no usable id; give one matching ^[a-z][a-z0-9-]{1,31}$', 'id');
    }
    // The tenant and its first admin key together: a tenant nobody can administer is never left behind.
    const created = await inTransaction(deps.pool, async (client) => {
      const tenant = await createTenant(client, { id, name: body.name }, caller);
      if (!tenant) return undefined;
      const { key, record } = await createApiKey(client, {
        tenantId: id,
        name: 'admin',
        role: 'admin',
        createdBy: caller.id,
        createdFromTenant: caller.tenantId,
      });
      return { ...tenant, adminKey: { ...record, key } };
    });
    if (!created) throw new ConflictError(`tenant ${JSON.stringify(id)} exists`, 'conflict', 'id');
    ctx.status = 201;
    ctx.body = created;
  });

  router.get('/tenants', requires('platform-admin'), async (ctx) => {
    ctx.body = { tenants: await listTenants(deps.pool) };
  });

  return router;
}
