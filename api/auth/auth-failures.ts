import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { Logger } from '../../common/logger';
import type { BudgetSize } from '../../common/rate-limit-budgets';
import type { ApiMetrics } from '../metrics';
import { createPostgresLimiter, rateLimited, secondsBeforeNext, takePoint } from './postgres-limiter';

/** rate-limiter-flexible's rows in rate_limit_points: `authfail:<client IP>` (apart from the callers' `kiln:` rows). */
const KEY_PREFIX = 'authfail';

/** The kiln_rate_limited_total budget label of refusals for too many failed authentications. */
export const AUTH_FAILURES_BUDGET = 'auth_failures';

/** Client IPs this process remembers as blocked at once (least recently refused leave first). */
const BLOCKED_IPS = 100_000;

/**
 * Each client IP's budget of failed authentications, counted in Postgres (every replica draws on one budget). A
 * request that authenticates costs nothing; one whose credentials do not verify costs a point. Past the budget the IP
 * is refused from this process's memory until the window ends, before any credential is looked at.
 */
export interface AuthFailureLimit {
  /** Throws TooManyRequestsError (`rate_limited`, Retry-After) when this process has `ip` blocked; never queries. */
  check(ip: string, route: string): void;
  /**
   * Counts one failure of `ip`. Past the budget: blocks the IP here until the window ends and throws
   * TooManyRequestsError (counted in kiln_rate_limited_total{budget="auth_failures"}). A failure to count (Postgres) is
   * logged and swallowed: the request's own 401 stands.
   */
  charge(ip: string, route: string): Promise<void>;
}

export interface AuthFailureLimitDeps {
  pool: Pool;
  size: BudgetSize;
  metrics?: Pick<ApiMetrics, 'rateLimited'>;
  log: Logger;
}

/** An AuthFailureLimit over rate-limiter-flexible's RateLimiterPostgres on table rate_limit_points. */
export function createAuthFailureLimit(deps: AuthFailureLimitDeps): AuthFailureLimit {
  const { size } = deps;
  // The callers' limiters (rate-limits.ts) already sweep expired rows of this table.
  const limiter = createPostgresLimiter({ pool: deps.pool, keyPrefix: KEY_PREFIX, size, sweepExpired: false });
  // ip -> when its block ends (epoch ms); each entry lives until then.
  const blocked = new LRUCache<string, number>({ max: BLOCKED_IPS, ttlAutopurge: false });

  const refusal = (route: string, msBeforeNext: number) => {
    const retryAfterSeconds = secondsBeforeNext(msBeforeNext);
    return rateLimited(
      deps.metrics,
      { route, budget: AUTH_FAILURES_BUDGET },
      `rate limit: this address's budget of ${size.points} failed authentications per ${size.durationSeconds} s ` +
        `is spent; retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    );
  };

  return {
    check(ip, route) {
      const until = blocked.get(ip);
      if (until !== undefined && until > Date.now()) throw refusal(route, until - Date.now());
    },
    async charge(ip, route) {
      let point;
      try {
        point = await takePoint(limiter, ip);
      } catch (err) {
        deps.log.warn({ err }, 'could not count a failed authentication');
        return;
      }
      if (point.refused) {
        const { msBeforeNext } = point.res;
        blocked.set(ip, Date.now() + msBeforeNext, { ttl: Math.max(1, msBeforeNext) });
        throw refusal(route, msBeforeNext);
      }
    },
  };
}
