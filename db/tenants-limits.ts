import type { Pool } from 'pg';
import { NotFoundError } from '../common/errors';
import {
  BUDGETS,
  BudgetName,
  BudgetSize,
  BudgetSizes,
  MAX_BUDGET_POINTS,
  MAX_BUDGET_SECONDS,
} from '../common/rate-limit-budgets';

/** A tenant's own limits: rate-limit overrides by budget (absent: the server's defaults) and its running-jobs cap. */
export interface TenantLimits {
  tenantId: string;
  rateLimits: Partial<BudgetSizes>;
  /** null: the server's default (KILN_MAX_RUNNING_JOBS_PER_TENANT, enforced elsewhere). */
  maxRunningJobs: number | null;
}

/**
 * A change of a tenant's limits: each budget given replaces that budget's override, `null` removes it (back to the
 * default), an absent one stays; `maxRunningJobs` likewise (null: the default).
 */
export interface TenantLimitsChange {
  rateLimits?: Partial<Record<BudgetName, BudgetSize | null>>;
  maxRunningJobs?: number | null;
}

function isBudgetSize(value: unknown): value is BudgetSize {
  const { points, durationSeconds } = (value ?? {}) as Partial<Record<keyof BudgetSize, unknown>>;
  return (
    Number.isInteger(points) &&
    Number.isInteger(durationSeconds) &&
    (points as number) >= 1 &&
    (points as number) <= MAX_BUDGET_POINTS &&
    (durationSeconds as number) >= 1 &&
    (durationSeconds as number) <= MAX_BUDGET_SECONDS
  );
}

/**
 * The overrides in a stored `tenants.rate_limits` document, each budget kept only when well-formed (the column may
 * have been written by hand): a malformed entry means the default, never a failed request.
 */
export function overridesOf(stored: unknown): Partial<BudgetSizes> {
  const overrides: Partial<BudgetSizes> = {};
  if (typeof stored !== 'object' || stored === null) return overrides;
  for (const budget of BUDGETS) {
    const size = (stored as Record<string, unknown>)[budget];
    if (isBudgetSize(size)) overrides[budget] = { points: size.points, durationSeconds: size.durationSeconds };
  }
  return overrides;
}

interface LimitsRow {
  id: string;
  rate_limits: unknown;
  max_running_jobs: number | null;
}

function toLimits(row: LimitsRow): TenantLimits {
  return { tenantId: row.id, rateLimits: overridesOf(row.rate_limits), maxRunningJobs: row.max_running_jobs };
}

/** A tenant's limits; undefined when there is no such tenant. */
export async function getTenantLimits(pool: Pick<Pool, 'query'>, tenantId: string): Promise<TenantLimits | undefined> {
  const { rows } = await pool.query<LimitsRow>('SELECT id, rate_limits, max_running_jobs FROM tenants WHERE id = $1', [
    tenantId,
  ]);
  return rows[0] ? toLimits(rows[0]) : undefined;
}

/**
 * Applies a change of a tenant's limits in one statement (concurrent changes of different budgets both land) and
 * returns the limits after it. Throws NotFoundError (field `id`) when there is no such tenant.
 */
export async function updateTenantLimits(
  pool: Pick<Pool, 'query'>,
  tenantId: string,
  change: TenantLimitsChange,
): Promise<TenantLimits> {
  const set: Record<string, BudgetSize> = {};
  const removed: string[] = [];
  for (const [budget, size] of Object.entries(change.rateLimits ?? {})) {
    if (size === null) removed.push(budget);
    else if (size !== undefined) set[budget] = { points: size.points, durationSeconds: size.durationSeconds };
  }
  const { rows } = await pool.query<LimitsRow>(
    `UPDATE tenants
        SET rate_limits = (rate_limits || $2::jsonb) - $3::text[],
            max_running_jobs = CASE WHEN $4::boolean THEN $5::integer ELSE max_running_jobs END
      WHERE id = $1
      RETURNING id, rate_limits, max_running_jobs`,
    [tenantId, JSON.stringify(set), removed, change.maxRunningJobs !== undefined, change.maxRunningJobs ?? null],
  );
  if (!rows[0]) throw new NotFoundError('tenant', tenantId, 'id');
  return toLimits(rows[0]);
}
