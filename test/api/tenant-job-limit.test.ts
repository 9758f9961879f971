import { expect } from 'chai';
import { TooManyRequestsError } from '../../common/errors';
import { reserveTenantJobSlot, TenantJobLimitDeps, TenantJobSlot } from '../../api/services/tenant-job-limit';
import type { JobStatus } from '../../api/services/jobs';

describe('per-tenant running-job cap', () => {
  /**
   * A tenant row with `own` (null: NULL) as max_running_jobs; visibility counts `running` jobs and lists `listed`;
   * `existing` ids exist (describe). Each call gets a new JobService stand-in, so a fresh ledger of reservations.
   */
  const deps = (
    own: number | null | 'no row',
    running: number | (() => number),
    existing: string[] = [],
    listed: () => string[] = () => [],
  ): TenantJobLimitDeps => ({
    pool: {
      query: (async () => ({ rows: own === 'no row' ? [] : [{ max_running_jobs: own }] })) as never,
    },
    jobs: {
      countRunning: async () => (typeof running === 'number' ? running : running()),
      statusOf: async (jobId: string): Promise<JobStatus | undefined> =>
        existing.includes(jobId) ? 'RUNNING' : undefined,
      visibleAmong: async (ids: readonly string[]) => new Set(ids.filter((id) => listed().includes(id))),
    },
    maxRunningJobsPerTenant: 5,
  });

  const refusal = async (p: Promise<TenantJobSlot>): Promise<TooManyRequestsError> => {
    try {
      await p;
    } catch (err) {
      expect(err).to.be.instanceOf(TooManyRequestsError);
      return err as TooManyRequestsError;
    }
    throw new Error('expected a refusal');
  };

  it('refuses a tenant at its own cap with 429 tenant_job_limit and a Retry-After, below it passes', async () => {
    await reserveTenantJobSlot(deps(2, 1), 'acme', 'acme.clustering-a');
    const err = await refusal(reserveTenantJobSlot(deps(2, 2), 'acme', 'acme.clustering-b'));
    expect(err.code).to.equal('tenant_job_limit');
    expect(err.retryAfterSeconds).to.be.greaterThan(0);
    expect(err.message).to.include('acme').and.include('2');
  });

  it('uses the server default when the row has no cap (NULL) or there is no row', async () => {
    await reserveTenantJobSlot(deps(null, 4), 'acme', 'j');
    await refusal(reserveTenantJobSlot(deps(null, 5), 'acme', 'j'));
    await refusal(reserveTenantJobSlot(deps('no row', 5), 'acme', 'j'));
    // A tenant's own cap may be above the default.
    await reserveTenantJobSlot(deps(10, 9), 'acme', 'j');
  });

  it('lets an Idempotency-Key replay through at the cap: its job exists, nothing new starts', async () => {
    await reserveTenantJobSlot(deps(1, 1, ['clustering-x']), 'acme', 'clustering-x', true);
    await refusal(reserveTenantJobSlot(deps(1, 1, ['clustering-x']), 'acme', 'clustering-y', true));
    // Without a key the id is fresh: an existing one is not looked up.
    await refusal(reserveTenantJobSlot(deps(1, 1, ['clustering-x']), 'acme', 'clustering-x'));
  });

  it('a burst into one process never passes the cap while visibility still counts none of it', async () => {
    const d = deps(3, 0);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => reserveTenantJobSlot(d, 'acme', `acme.clustering-${i}`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).to.have.length(9);
    for (const r of refused) expect((r.reason as TooManyRequestsError).code).to.equal('tenant_job_limit');
    // Other tenants have their own places.
    await reserveTenantJobSlot(d, 'other', 'other.clustering-0');
  });

  it('gives a place back when released, and counts a reserved job once visibility lists it', async () => {
    let visible = 0;
    let listed: string[] = [];
    const d = deps(
      2,
      () => visible,
      [],
      () => listed,
    );
    const a = await reserveTenantJobSlot(d, 'acme', 'a');
    const b = await reserveTenantJobSlot(d, 'acme', 'b');
    await refusal(reserveTenantJobSlot(d, 'acme', 'c'));
    // b's start failed: its place is free again.
    b.release();
    b.release();
    const c = await reserveTenantJobSlot(d, 'acme', 'c');
    await refusal(reserveTenantJobSlot(d, 'acme', 'd'));
    // Visibility catches up with a and c (counted there, no longer as reservations): still full, counted once each.
    visible = 2;
    listed = ['a', 'c'];
    const full = await refusal(reserveTenantJobSlot(d, 'acme', 'd'));
    expect(full.message).to.include('runs 2 jobs');
    // a ends: visibility lists it as closed and no longer counts it.
    visible = 1;
    await reserveTenantJobSlot(d, 'acme', 'd');
    a.release();
    c.release();
  });

  it('keeps the default code of other 429s', () => {
    expect(new TooManyRequestsError('busy', 5).code).to.equal('too_many_requests');
  });
});
