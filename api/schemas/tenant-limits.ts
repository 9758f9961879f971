import { z } from 'zod';
import { MAX_BUDGET_POINTS, MAX_BUDGET_SECONDS } from '../../common/rate-limit-budgets';
import { TENANT_ID_PATTERN } from '../../db/tenants';

/** Tenant ids (issue 12's convention): a lower-case letter, then 1-31 lower-case letters, digits or `-`; no dots. */
export const tenantId = z
  .string()
  .regex(TENANT_ID_PATTERN, 'must be a tenant id: a lower-case letter, then 1-31 lower-case letters, digits or -');

/** One budget's size: `points` requests per window of `durationSeconds`. */
export const budgetSize = z
  .strictObject({
    points: z.number().int().min(1).max(MAX_BUDGET_POINTS),
    durationSeconds: z.number().int().min(1).max(MAX_BUDGET_SECONDS),
  })
  .meta({ description: '`points` requests per fixed window of `durationSeconds` (from the first request)' });

/** A budget's override in a change: a size, or null to go back to the server's default. */
const budgetChange = budgetSize.nullable();

/** PATCH /api/v1/tenants/:id/limits: what is given changes, what is absent stays. */
export const tenantLimitsChange = z
  .strictObject({
    rateLimits: z
      .strictObject({
        start: budgetChange.optional(),
        predict: budgetChange.optional(),
        read: budgetChange.optional(),
        write: budgetChange.optional(),
      })
      .optional()
      .meta({
        description:
          'Overrides by budget (start: job and pipeline starts; predict: online predict; read: GET and HEAD; write: ' +
          'other writes); null removes an override (the server default, KILN_RATE_LIMIT_*, applies again)',
      }),
    maxRunningJobs: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .nullable()
      .optional()
      .meta({ description: "The tenant's cap on running jobs; null: the server default" }),
  })
  .meta({ description: "A change of a tenant's limits" });

/** A tenant's limits as GET and PATCH answer them. */
export const tenantLimitsView = z.object({
  tenantId: z.string(),
  rateLimits: z
    .object({
      start: budgetSize.optional(),
      predict: budgetSize.optional(),
      read: budgetSize.optional(),
      write: budgetSize.optional(),
    })
    .meta({ description: "The tenant's overrides (absent budgets use the server defaults)" }),
  effectiveRateLimits: z
    .object({ start: budgetSize, predict: budgetSize, read: budgetSize, write: budgetSize })
    .meta({ description: "Each budget's size for the tenant's callers: its override, else the default" }),
  maxRunningJobs: z
    .number()
    .int()
    .nullable()
    .meta({ description: "The tenant's own cap on running jobs; null: none (the server default applies)" }),
  effectiveMaxRunningJobs: z.number().int().meta({
    description: 'The cap that applies: the override, else the server default (KILN_MAX_RUNNING_JOBS_PER_TENANT)',
  }),
});
