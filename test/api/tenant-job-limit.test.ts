import { expect } from 'chai';
import { TooManyRequestsError } from '../../common/errors';
import { checkTenantJobLimit, TenantJobLimitDeps } from '../../api/services/tenant-job-limit';
import type { JobStatus } from '../../api/services/jobs';

describe('per-tenant running-job cap', () => {
  /** A tenant row with `own` (null: NULL) as max_running_jobs, `running` jobs now and the ids that exist. */
  const deps = (own: number | null | 'no row', running: number, existing: string[] = []): TenantJobLimitDeps => ({
    pool: {
      query: (async () => ({ rows: own === 'no row' ? [] : [{ max_running_jobs: own }] })) as never,
    },
    jobs: {
      countRunning: async () => running,
      statusOf: async (jobId: string): Promise<JobStatus | undefined> =>
        existing.includes(jobId) ? 'RUNNING' : undefined,
    },
    maxRunningJobsPerTenant: 5,
  });

  const refusal = async (p: Promise<void>): Promise<TooManyRequestsError> => {
    try {
      await p;
    } catch (err) {
      expect(err).to.be.instanceOf(TooManyRequestsError);
      return err as TooManyRequestsError;
    }
    throw new Error('expected a refusal');
  };

  it('refuses a tenant at its own cap with 429 tenant_job_limit and a Retry-After, below it passes', async () => {
    await checkTenantJobLimit(deps(2, 1), 'acme');
    const err = await refusal(checkTenantJobLimit(deps(2, 2), 'acme'));
    expect(err.code).to.equal('tenant_job_limit');
    expect(err.retryAfterSeconds).to.be.greaterThan(0);
    expect(err.message).to.include('acme').and.include('2');
  });

  it('uses the server default when the row has no cap (NULL) or there is no row', async () => {
    await checkTenantJobLimit(deps(null, 4), 'acme');
    await refusal(checkTenantJobLimit(deps(null, 5), 'acme'));
    await refusal(checkTenantJobLimit(deps('no row', 5), 'acme'));
    // A tenant's own cap may be above the default.
    await checkTenantJobLimit(deps(10, 9), 'acme');
  });

  it('lets an Idempotency-Key replay through: its job exists, nothing new starts', async () => {
    await checkTenantJobLimit(deps(1, 1, ['clustering-x']), 'acme', 'clustering-x');
    await refusal(checkTenantJobLimit(deps(1, 1, ['clustering-x']), 'acme', 'clustering-y'));
  });

  it('keeps the default code of other 429s', () => {
    expect(new TooManyRequestsError('busy', 5).code).to.equal('too_many_requests');
  });
});
