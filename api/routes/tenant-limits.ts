import Router from '@koa/router';
import { NotFoundError } from '../../common/errors';
import { BUDGETS, BudgetSizes, DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import { getTenantLimits, TenantLimits, updateTenantLimits } from '../../db/tenants-limits';
import { requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { tenantId, tenantLimitsChange } from '../schemas/tenant-limits';
import { parseWith } from '../schemas/validate';

/** A limits change is a few numbers: 16 KiB is plenty. */
const LIMITS_BODY_BYTES = 16 * 1024;

/** The answer: the stored overrides, what each budget comes to for the tenant, and the running-jobs cap. */
function limitsView(limits: TenantLimits, defaults: BudgetSizes) {
  return {
    tenantId: limits.tenantId,
    rateLimits: limits.rateLimits,
    effectiveRateLimits: Object.fromEntries(
      BUDGETS.map((budget) => [budget, limits.rateLimits[budget] ?? defaults[budget]]),
    ) as BudgetSizes,
    maxRunningJobs: limits.maxRunningJobs,
  };
}

/**
 * A tenant's limits, for platform admins: `GET` and `PATCH /tenants/:id/limits` (rate-limit overrides by budget,
 * running-jobs cap). The API's replicas read the overrides again within TENANT_LIMITS_CACHE_MS (api/auth/rate-limits.ts).
 */
export function tenantLimitsRouter(deps: ApiDeps): Router {
  const router = new Router();
  const defaults = deps.rateLimits ?? DEFAULT_BUDGET_SIZES;

  router.get('/tenants/:id/limits', requires('platform-admin'), async (ctx) => {
    const id = parseWith(tenantId, ctx.params.id, 'id');
    const limits = await getTenantLimits(deps.pool, id);
    if (!limits) throw new NotFoundError('tenant', id, 'id');
    ctx.body = limitsView(limits, defaults);
  });

  router.patch('/tenants/:id/limits', requires('platform-admin'), async (ctx) => {
    const id = parseWith(tenantId, ctx.params.id, 'id');
    const change = parseWith(tenantLimitsChange, await readJsonBody(ctx, LIMITS_BODY_BYTES));
    ctx.body = limitsView(await updateTenantLimits(deps.pool, id, change), defaults);
  });

  return router;
}
