import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { Principal } from '../../common/auth/principal';
import { BudgetSize, BudgetSizes } from '../../common/rate-limit-budgets';
import { getTenantLimits } from '../../db/tenants-limits';
import { postgresUnavailable } from '../../db/unavailable';
import type { ApiMetrics } from '../metrics';
import type { AccessDeclaration, Budget } from './access';
import { createPostgresLimiter, type PointTaken, rateLimited, secondsBeforeNext, takePoint } from './postgres-limiter';

/** How long a tenant's overrides are reused before they are read again: a change applies within this (ms). */
export const TENANT_LIMITS_CACHE_MS = 5_000;

/** Tenants whose overrides one process keeps at once. */
const TENANT_LIMITS_CACHE_SIZE = 10_000;

/** rate-limiter-flexible's rows in migration 0008's table: `kiln:<budget>:<seconds>s:<principal>`. */
const KEY_PREFIX = 'kiln';

/** Longest principal id used as is in a row key (the column is varchar(255)); longer ones are hashed. */
const MAX_PLAIN_ID = 200;

/**
 * Where a budget stands after a request drew on it, as the IETF draft's response headers say it
 * (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy).
 */
export interface RateLimitState {
  /** The window's size in requests (the budget's points). */
  limit: number;
  /** Requests left in the window after this one (0 once refused). */
  remaining: number;
  /** Seconds until the window ends and the budget is whole again (≥ 1 while a window runs). */
  resetSeconds: number;
  /** The window's length (s). */
  windowSeconds: number;
}

/** Where response headers go (Koa's ctx.set). */
export interface HeaderSink {
  set(name: string, value: string): void;
}

/** Each caller's budgets, counted in Postgres so that every API replica draws on the same ones. */
export interface RateLimits {
  /**
   * Takes one point of `principal`'s `budget` (the tenant's override, else the default) and, when `headers` is given,
   * sets RateLimit-Limit, -Remaining, -Reset (seconds) and -Policy (`<points>;w=<seconds>`) on it, refused or not.
   * Past the budget: throws TooManyRequestsError (code `rate_limited`, naming the budget; retryAfterSeconds until the
   * window ends, ≥ 1) and counts kiln_rate_limited_total{route, budget}. Postgres down or too slow: throws
   * DependencyUnavailableError (no headers set).
   */
  consume(principal: Principal, budget: Budget, route: string, headers?: HeaderSink): Promise<RateLimitState>;
}

/** The RateLimit-* headers of a budget's state (draft-ietf-httpapi-ratelimit-headers, delta-seconds for Reset). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(state.remaining),
    'RateLimit-Reset': String(state.resetSeconds),
    'RateLimit-Policy': `${state.limit};w=${state.windowSeconds}`,
  };
}

/**
 * A budget's row key: `<budget>:<seconds>s:<principal>`. The window's length is part of it so that a tenant's new
 * window length starts a new window (the old row would otherwise keep its old expiry: a 20 s budget answering "retry
 * in 40 s"); the points are not, so a lowered count mid-window still counts what was spent in it.
 */
export function budgetKey(budget: Budget, size: BudgetSize, principalId: string): string {
  return `${budget}:${size.durationSeconds}s:${principalKey(principalId)}`;
}

/** The budget a route draws on: its declaration's, else `read` for GET and HEAD and `write` for anything else. */
export function budgetOf(declaration: AccessDeclaration, method: string): Budget {
  if (declaration.budget) return declaration.budget;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The route template a request matched (the metric label http-metrics uses too), `unmatched` before routing. */
export function routeOf(ctx: Pick<Context, 'state'>): string {
  return String((ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched');
}

/** The row key's principal part: the id itself, or its sha256 when too long for the column. */
function principalKey(id: string): string {
  return id.length <= MAX_PLAIN_ID ? id : `sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}

export interface RateLimitsDeps {
  pool: Pool;
  /** The server's budgets (KILN_RATE_LIMIT_*). */
  defaults: BudgetSizes;
  metrics?: Pick<ApiMetrics, 'rateLimited'>;
  /** How long a tenant's overrides are reused (default TENANT_LIMITS_CACHE_MS). */
  tenantCacheMs?: number;
}

/**
 * Rate limits over rate-limiter-flexible's RateLimiterPostgres on the API's pool: fixed windows per (budget, window
 * length, principal), one row each, incremented by one upsert per request (budgetKey). One limiter per (points,
 * duration) in use, reused; limiters of one window length share their rows, so a tenant's new count of points counts
 * what was already spent in the window, while a new window length starts a fresh window. Once a caller is past a
 * budget, its limiter refuses in memory until the window ends (no query per refused request). Rows expired for an
 * hour are deleted every 5 minutes by one limiter per process.
 */
export function createRateLimits(deps: RateLimitsDeps): RateLimits {
  const limiters = new Map<string, RateLimiterPostgres>();
  const overrides = new LRUCache<string, Promise<Partial<BudgetSizes>>>({
    max: TENANT_LIMITS_CACHE_SIZE,
    ttl: deps.tenantCacheMs ?? TENANT_LIMITS_CACHE_MS,
  });

  function limiterFor(size: BudgetSize): RateLimiterPostgres {
    const id = `${size.points}/${size.durationSeconds}`;
    let limiter = limiters.get(id);
    if (!limiter) {
      // The library's sweep from one limiter is enough: same table.
      limiter = createPostgresLimiter({
        pool: deps.pool,
        keyPrefix: KEY_PREFIX,
        size,
        sweepExpired: limiters.size === 0,
      });
      limiters.set(id, limiter);
    }
    return limiter;
  }

  /** The tenant's overrides, read at most once per cache period (concurrent requests share one read). */
  function tenantOverrides(tenantId: string): Promise<Partial<BudgetSizes>> {
    let pending = overrides.get(tenantId);
    if (!pending) {
      pending = getTenantLimits(deps.pool, tenantId).then((limits) => limits?.rateLimits ?? {});
      // A failed read is not remembered: the next request tries again.
      pending.catch(() => overrides.get(tenantId) === pending && overrides.delete(tenantId));
      overrides.set(tenantId, pending);
    }
    return pending;
  }

  return {
    async consume(principal, budget, route, headers) {
      let size = deps.defaults[budget];
      let point: PointTaken;
      try {
        size = (await tenantOverrides(principal.tenantId))[budget] ?? size;
        point = await takePoint(limiterFor(size), budgetKey(budget, size, principal.id));
      } catch (err) {
        throw postgresUnavailable(err) ?? err;
      }
      const state: RateLimitState = {
        limit: size.points,
        remaining: point.refused ? 0 : Math.max(0, point.res.remainingPoints),
        resetSeconds: secondsBeforeNext(point.res.msBeforeNext),
        windowSeconds: size.durationSeconds,
      };
      if (headers) for (const [name, value] of Object.entries(rateLimitHeaders(state))) headers.set(name, value);
      if (!point.refused) return state;
      throw rateLimited(
        deps.metrics,
        { route, budget },
        `rate limit: the ${budget} budget of ${size.points} requests per ${size.durationSeconds} s is spent; ` +
          `retry in ${state.resetSeconds} s`,
        state.resetSeconds,
      );
    },
  };
}
