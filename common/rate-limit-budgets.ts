/**
 * Rate-limit budgets: how many requests of each kind one caller (an API key, or an SSO subject) may make per window.
 * In common/ because the configuration (common/config.ts) sets the defaults from the environment and tenants may
 * override them (tenants.rate_limits); the API enforces them (api/auth/rate-limits.ts).
 */

/** The budgets: starting jobs and pipelines, online predict, reads (GET, HEAD), other writes. */
export const BUDGETS = ['start', 'predict', 'read', 'write'] as const;

export type BudgetName = (typeof BUDGETS)[number];

/** One budget's size: `points` requests per fixed window of `durationSeconds` (the window starts at the first). */
export interface BudgetSize {
  points: number;
  durationSeconds: number;
}

/**
 * Every budget's size; `authFailures` is the server's budget of failed authentications per client IP
 * (KILN_RATE_LIMIT_AUTH_FAILURES; DEFAULT_AUTH_FAILURE_BUDGET when absent), not a caller's budget: tenants never
 * override it.
 */
export type BudgetSizes = Record<BudgetName, BudgetSize> & { authFailures?: BudgetSize };

/**
 * Failed authentications (a key or token that does not verify) one client IP may cause per window: 60 a minute. A
 * person mistyping a key never meets it; a script guessing keys is refused after it, before any key is looked up.
 */
export const DEFAULT_AUTH_FAILURE_BUDGET: Readonly<BudgetSize> = Object.freeze({ points: 60, durationSeconds: 60 });

/**
 * The defaults (KILN_RATE_LIMIT_*), per caller: 120 starts, 6000 predictions, 3000 reads and 600 other writes a
 * minute. Generous: a person or a script polling never meets them, a runaway loop does.
 */
export const DEFAULT_BUDGET_SIZES: Readonly<BudgetSizes> = Object.freeze({
  start: Object.freeze({ points: 120, durationSeconds: 60 }),
  predict: Object.freeze({ points: 6000, durationSeconds: 60 }),
  read: Object.freeze({ points: 3000, durationSeconds: 60 }),
  write: Object.freeze({ points: 600, durationSeconds: 60 }),
});

/** Bounds of a budget's size, in the configuration and in a tenant's override alike. */
export const MAX_BUDGET_POINTS = 1_000_000_000;
export const MAX_BUDGET_SECONDS = 86_400;

/** `<points>/<seconds>` as written in KILN_RATE_LIMIT_* (`120/60`); undefined when malformed or out of bounds. */
export function parseBudgetSize(raw: string): BudgetSize | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(raw.trim());
  if (!match) return undefined;
  const points = Number(match[1]);
  const durationSeconds = Number(match[2]);
  if (points < 1 || points > MAX_BUDGET_POINTS || durationSeconds < 1 || durationSeconds > MAX_BUDGET_SECONDS) {
    return undefined;
  }
  return { points, durationSeconds };
}

/** `<points>/<seconds>`, the form parseBudgetSize reads. */
export function formatBudgetSize(size: BudgetSize): string {
  return `${size.points}/${size.durationSeconds}`;
}
