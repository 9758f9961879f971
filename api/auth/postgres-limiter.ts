import type { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { TooManyRequestsError } from '../../common/errors';
import type { BudgetSize } from '../../common/rate-limit-budgets';
import type { ApiMetrics } from '../metrics';

/** rate-limiter-flexible's table (migrations/0008_auth.sql), UNLOGGED: an upsert does not wait for a WAL flush. */
export const RATE_LIMIT_TABLE = 'rate_limit_points';

export interface PostgresLimiterOptions {
  pool: Pool;
  /** The rows' key prefix (`<keyPrefix>:<key>`), which keeps one user of the table apart from the others. */
  keyPrefix: string;
  /** Points per window and the window's length (s). */
  size: BudgetSize;
  /**
   * Whether this limiter runs the library's sweep (rows expired an hour ago, every 5 minutes): one limiter per process
   * is enough, the table being the same for all.
   */
  sweepExpired: boolean;
}

/**
 * A fixed-window limiter on RATE_LIMIT_TABLE over the API's pool (the table exists: migrations create it). Past the
 * budget, the key is refused from this process's memory until the window ends (no query per refused request).
 */
export function createPostgresLimiter(options: PostgresLimiterOptions): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: options.pool,
    // 'pool': the library calls pool.query per statement and never checks a client out itself.
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    keyPrefix: options.keyPrefix,
    points: options.size.points,
    duration: options.size.durationSeconds,
    inMemoryBlockOnConsumed: options.size.points + 1,
    clearExpiredByTimeout: options.sweepExpired,
  });
}

/** One point taken from a key: where its window stands, and whether the point was refused (the budget spent). */
export interface PointTaken {
  res: RateLimiterRes;
  refused: boolean;
}

/**
 * Takes one point of `key`. A spent budget is an answer (`refused`), not an error; anything else the library throws
 * (Postgres down or too slow) is rethrown as it came.
 */
export async function takePoint(limiter: RateLimiterPostgres, key: string): Promise<PointTaken> {
  try {
    return { res: await limiter.consume(key), refused: false };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { res: err, refused: true };
    throw err;
  }
}

/** Whole seconds until a window ends (Retry-After, RateLimit-Reset): rounded up, at least 1. */
export function secondsBeforeNext(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

/**
 * A refusal for a spent budget: counts kiln_rate_limited_total{route, budget} and answers TooManyRequestsError (429,
 * code `rate_limited`, Retry-After `retryAfterSeconds`) with `message`.
 */
export function rateLimited(
  metrics: Pick<ApiMetrics, 'rateLimited'> | undefined,
  labels: { route: string; budget: string },
  message: string,
  retryAfterSeconds: number,
): TooManyRequestsError {
  metrics?.rateLimited.inc(labels);
  return new TooManyRequestsError(message, retryAfterSeconds, 'rate_limited');
}
