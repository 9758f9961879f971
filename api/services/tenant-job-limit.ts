import type { Pool } from 'pg';
import { TooManyRequestsError } from '../../common/errors';
import { tenantMaxRunningJobs } from '../../db/tenant-job-limit';
import type { JobService } from './jobs';

/** What the per-tenant running-job cap reads. */
export interface TenantJobLimitDeps {
  pool: Pick<Pool, 'query'>;
  jobs: Pick<JobService, 'countRunning' | 'statusOf'>;
  /** The cap of a tenant whose `tenants.max_running_jobs` is NULL (KILN_MAX_RUNNING_JOBS_PER_TENANT). */
  maxRunningJobsPerTenant: number;
}

/**
 * Seconds a refused submission is told to wait (Retry-After): jobs take seconds to hours, so this is a polling
 * interval for a client that queues on its side, not a promise that a slot frees by then.
 */
export const TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS = 30;

/**
 * Refuses a new job of a tenant that runs as many as it may: TooManyRequestsError (429, code `tenant_job_limit`,
 * Retry-After TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS). The cap is `tenants.max_running_jobs`, else
 * `maxRunningJobsPerTenant`; the count is JobService.countRunning (visibility: a burst of submissions within its lag,
 * about a second, can pass the cap by the jobs started in that second). `jobId` is the id the start will use: when it
 * already exists (an Idempotency-Key replay) nothing new would start, so the cap does not apply.
 */
export async function checkTenantJobLimit(deps: TenantJobLimitDeps, tenantId: string, jobId?: string): Promise<void> {
  const [own, running] = await Promise.all([
    tenantMaxRunningJobs(deps.pool, tenantId),
    deps.jobs.countRunning(tenantId),
  ]);
  const max = own ?? deps.maxRunningJobsPerTenant;
  if (running < max) return;
  if (jobId !== undefined && (await deps.jobs.statusOf(jobId)) !== undefined) return;
  throw new TooManyRequestsError(
    `tenant ${tenantId} runs ${running} jobs, its limit is ${max}; submit again when one has ended`,
    TENANT_JOB_LIMIT_RETRY_AFTER_SECONDS,
    'tenant_job_limit',
  );
}
