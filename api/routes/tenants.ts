import Router from '@koa/router';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors';
import { createApiKey } from '../../db/api-keys';
import { inTransaction } from '../../db/pool';
import { createTenant, listTenants, setTenantDisabled } from '../../db/tenants';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { noStore } from '../no-store';
import { tenantId } from '../schemas/tenant-limits';
import { createTenantRequest, tenantSlug, updateTenantRequest } from '../schemas/tenants';
import { parseWith } from '../schemas/validate';
import { setTenantSchedulesPaused } from '../services/tenant-schedules';

/**
 * Tenants (platform admins): create one with its first admin key (shown once), list them, disable or enable one. A
 * creation is audited in the new tenant: events `tenant` created and `api_key` created (its first key), the platform
 * admin as actor; disabling and enabling as `tenant` disabled / enabled. A disabled tenant's keys, console sessions
 * and SSO members are refused (403 tenant_disabled) on every route: at once in this process, within KEY_CACHE_MS (5 s,
 * api/auth/gate.ts) for keys in other replicas (sessions of SSO members and SSO tokens at once everywhere: their
 * membership is read on every request). Its data and running jobs are left alone; its schedules are paused with it
 * (and unpaused with it, those its disabling paused: services/tenant-schedules.ts), since their runs start through
 * Temporal, never through the gate.
 */
export function tenantsRouter(deps: Pick<ApiDeps, 'pool' | 'bodyLimits' | 'temporal'>): Router {
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
    // The answer carries the first admin key's secret.
    noStore(ctx);
    ctx.status = 201;
    ctx.body = created;
  });

  router.get('/tenants', requires('platform-admin'), async (ctx) => {
    ctx.body = { tenants: await listTenants(deps.pool) };
  });

  router.patch('/tenants/:id', requires('platform-admin'), async (ctx) => {
    const id = parseWith(tenantId, ctx.params.id, 'id');
    const { disabled } = parseWith(updateTenantRequest, await readJsonBody(ctx, deps.bodyLimits.maxRegistryBodyBytes));
    const caller = principalOf(ctx);
    const result = await inTransaction(deps.pool, (client) => setTenantDisabled(client, caller, id, disabled));
    switch (result.outcome) {
      case 'not_found':
        throw new NotFoundError('tenant', id, 'id');
      case 'own_tenant':
        throw new ConflictError(
          `tenant ${JSON.stringify(id)} is the caller's own: a platform admin of another tenant disables it`,
          'own_tenant',
          'id',
        );
      case 'last_platform_admin':
        throw new ConflictError(
          `disabling tenant ${JSON.stringify(id)} would leave no usable platform-admin key without an expiry in an ` +
            'enabled tenant, and nobody to enable it again: create one first (POST /api/v1/api-keys with ' +
            '"platformAdmin": true and no expiresAt)',
          'last_platform_admin',
          'id',
        );
      case 'updated':
        break;
    }
    ctx.accessGate?.forgetTenant?.(id);
    // Scheduled runs start through Temporal, not through the gate: the tenant's schedules pause with it.
    const changed = await setTenantSchedulesPaused(deps.temporal, id, disabled);
    ctx.body = { ...result.tenant, ...(disabled ? { schedulesPaused: changed } : { schedulesUnpaused: changed }) };
  });

  return router;
}
