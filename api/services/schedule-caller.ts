import type { Principal } from '../../common/auth/principal';
import { DEFAULT_MAX_RUNNING_JOBS_PER_TENANT } from '../../common/config';
import { ForbiddenError } from '../../common/errors';
import type { ScheduleDeps, ScheduleMemo } from './schedule-handle';
import { checkPromotionStarter, type PromotionFacts } from './submit-pipeline';
import type { TenantJobLimitDeps } from './tenant-job-limit';

/**
 * Who triggers or backfills a schedule: runs started that way start at the caller's word, so the caller must be
 * allowed to start the schedule's action directly.
 */
export type ScheduleCaller = Pick<Principal, 'role'>;

/**
 * A trigger or backfill of a schedule whose action is a full pipeline moving a protected alias with no approver's
 * decision (checkPromotionStarter) is an approver's, as a direct start of that pipeline is: ForbiddenError
 * `protected_alias` (field `promote.alias`) for anyone else, its message saying which schedule and why. Checked
 * against the model's protected aliases now.
 */
export async function checkScheduleCaller(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  memo: ScheduleMemo,
  caller: ScheduleCaller,
  verb: 'triggering' | 'backfilling',
): Promise<void> {
  if (memo.action.kind !== 'pipeline-full') return;
  try {
    await checkPromotionStarter(deps, tenantId, memo.action.request as PromotionFacts, caller);
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    throw new ForbiddenError(
      `schedule ${JSON.stringify(id)}: ${verb} it starts its full pipeline now, at the caller's word: ${err.message}`,
      err.code,
      err.field,
    );
  }
}

/** The per-tenant running-job cap's dependencies from a schedule route's (tenant-job-limit.ts). */
export function scheduleJobLimitDeps(deps: ScheduleDeps): TenantJobLimitDeps {
  return {
    pool: deps.pool,
    jobs: deps.jobs,
    maxRunningJobsPerTenant: deps.maxRunningJobsPerTenant ?? DEFAULT_MAX_RUNNING_JOBS_PER_TENANT,
  };
}
