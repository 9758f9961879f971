import Router from '@koa/router';
import { DEFAULT_MAX_RUNNING_JOBS_PER_TENANT } from '../../common/config';
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

/**
 * The answer: the stored overrides and what each budget comes to for the tenant; the running-jobs cap likewise, the
 * override (`maxRunningJobs`, null: none) and the cap that applies (`effectiveMaxRunningJobs`).
 */
function limitsView(limits: TenantLimits, defaults: BudgetSizes, defaultMaxRunningJobs: number) {
  return {
    tenantId: limits.tenantId,
    rateLimits: limits.rateLimits,
    effectiveRateLimits: Object.fromEntries(
      BUDGETS.map((budget) => [budget, limits.rateLimits[budget] ?? defaults[budget]]),
    ) as BudgetSizes,
    maxRunningJobs: limits.maxRunningJobs,
    effectiveMaxRunningJobs: limits.maxRunningJobs ?? defaultMaxRunningJobs,
  };
}

/**
 * A tenant's limits, for platform admins: `GET` and `PATCH /tenants/:id/limits` (rate-limit overrides by budget,
 * running-jobs cap). The API's replicas read the overrides again within TENANT_LIMITS_CACHE_MS (api/auth/rate-limits.ts).
 */
export function tenantLimitsRouter(deps: ApiDeps): Router {
  const router = new Router();
  const defaults = deps.rateLimits ?? DEFAULT_BUDGET_SIZES;
  // The same default the cap check uses (services/submit-job.ts).
  const defaultMaxRunningJobs = deps.maxRunningJobsPerTenant ?? DEFAULT_MAX_RUNNING_JOBS_PER_TENANT;

  router.get('/tenants/:id/limits', requires('platform-admin'), async (ctx) => {
    const id = parseWith(tenantId, ctx.params.id, 'id');
    const limits = await getTenantLimits(deps.pool, id);
    if (!limits) throw new NotFoundError('tenant', id, 'id');
    ctx.body = limitsView(limits, defaults, defaultMaxRunningJobs);
  });

  router.patch('/tenants/:id/limits', requires('platform-admin'), async (ctx) => {
    const id = parseWith(tenantId, ctx.params.id, 'id');
    const change = parseWith(tenantLimitsChange, await readJsonBody(ctx, LIMITS_BODY_BYTES));
    ctx.body = limitsView(await updateTenantLimits(deps.pool, id, change), defaults, defaultMaxRunningJobs);
  });

  return router;
}
