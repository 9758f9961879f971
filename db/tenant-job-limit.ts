import type { Pool } from 'pg';

/**
 * The tenant's own cap on running jobs (`tenants.max_running_jobs`, migration 0008): a positive integer, or
 * undefined when the row has none (NULL: the server default, KILN_MAX_RUNNING_JOBS_PER_TENANT, applies) or there is
 * no such tenant.
 */
export async function tenantMaxRunningJobs(pool: Pick<Pool, 'query'>, tenantId: string): Promise<number | undefined> {
  const { rows } = await pool.query<{ max_running_jobs: number | null }>(
    'SELECT max_running_jobs FROM tenants WHERE id = $1',
    [tenantId],
  );
  return rows[0]?.max_running_jobs ?? undefined;
}
