import type { Context } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { roleAllows } from '../../common/auth/roles';
import { ForbiddenError, TenantDisabledError, UnauthorizedError, withField } from '../../common/errors';
import { type Logger, rootLogger } from '../../common/logger';
import { type ApiKeyRecord, findApiKeyForAuth, parseApiKey, secretMatches, touchApiKey } from '../../db/api-keys';
import type { ApiMetrics } from '../metrics';
import { BudgetSizes, DEFAULT_AUTH_FAILURE_BUDGET, DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import type { Access, AccessDeclaration, AccessGate } from './access';
import { createAuthFailureLimit } from './auth-failures';
import { budgetOf, createRateLimits, routeOf } from './rate-limits';
import { sessionCookieOf } from './session-cookie';
import { createSessionResolver, SessionResolver } from './session-store';
import { SsoVerifier, TENANT_HEADER } from './sso';

/**
 * Milliseconds a verified key's row (with its tenant's disabled flag) stays cached in this process. Revoking, rotating
 * or changing a key, or disabling its tenant, through this process forgets it at once; another replica keeps its
 * cached row for up to this long (the key still accepted, with its old role, or its tenant still enabled).
 */
export const KEY_CACHE_MS = 5_000;

/** A key's last_used_at is written at most this often (milliseconds), so that a busy key costs no write per request. */
export const LAST_USED_INTERVAL_MS = 60_000;

/** Keys whose rows the cache holds at most (least recently used ones leave first). */
const KEY_CACHE_SIZE = 10_000;

export interface GateDeps {
  pool: Pool;
  /** Counts refusals (kiln_auth_failures_total, kiln_rate_limited_total); absent in tests that build a gate alone. */
  metrics?: Pick<ApiMetrics, 'authFailures' | 'rateLimited'>;
  /** SSO bearer tokens (KILN_JWT_*: sso.ts); absent: only API keys authenticate. */
  sso?: SsoVerifier;
  /**
   * Each caller's rate-limit budgets (KILN_RATE_LIMIT_*), counted in the same database; default DEFAULT_BUDGET_SIZES.
   * `authFailures`: each client IP's failed authentications (default DEFAULT_AUTH_FAILURE_BUDGET).
   */
  rateLimits?: BudgetSizes;
  log?: Logger;
  /** KEY_CACHE_MS unless given; 0 reads the key's row on every request. */
  keyCacheMs?: number;
}

/**
/**
 * The key or token a request carries: `Authorization: Bearer <token>`, else `X-API-Key: <key>`. The console's session
 * cookie is no token (it names a server-side session: authenticate reads it when there is none of these). A header
 * that is present but empty is a malformed credential (401 invalid_credentials), never taken for an absent one.
 */
export function presentedToken(ctx: Pick<Context, 'get' | 'headers'>): string | undefined {
  const authorization = ctx.get('Authorization');
  if (authorization || ctx.headers.authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('Authorization must be "Bearer <API key or token>"', 'invalid_credentials');
    return match[1];
  }
  if (ctx.headers['x-api-key'] !== undefined && !ctx.get('X-API-Key')) {
    // withField prefixes the field: the message itself does not name it again.
    throw withField(
      new UnauthorizedError(
        'the header is empty (an unset shell variable?): send a key in it, or leave it out',
        'invalid_credentials',
      ),
      'X-API-Key',
    );
  }
  return ctx.get('X-API-Key') || undefined;
}

/** Verifies `kiln_` API keys against Postgres, with a short cache of the rows it read. */
export interface KeyVerifier {
  /**
   * The key's principal. Throws UnauthorizedError: invalid_credentials, key_revoked, key_expired; TenantDisabledError
   * (403 tenant_disabled) for a usable key of a disabled tenant.
   */
  verify(token: string): Promise<Principal>;
  /**
   * The principal of the key with this id, its secret not presented: for a session opened with the key (its secret
   * was verified then). Throws UnauthorizedError: invalid_credentials (no such key), key_revoked, key_expired;
   * TenantDisabledError as verify.
   */
  verifyKeyId(keyId: string): Promise<Principal>;
  /** Drops a key's cached row (this process revoked or changed it). */
  forget(keyId: string): void;
  /** Drops the cached rows of a tenant's keys (this process disabled or enabled the tenant). */
  forgetTenant(tenantId: string): void;
}

/** A KeyVerifier over the api_keys table (db/api-keys.ts). */
export function createKeyVerifier(deps: GateDeps): KeyVerifier {
  const log = deps.log ?? rootLogger();
  const cacheMs = deps.keyCacheMs ?? KEY_CACHE_MS;
  const rows =
    cacheMs > 0
      ? new LRUCache<string, { record: ApiKeyRecord; secretSha256: Buffer; tenantDisabled: boolean }>({
          max: KEY_CACHE_SIZE,
          ttl: cacheMs,
        })
      : undefined;
  const touched = new LRUCache<string, true>({ max: KEY_CACHE_SIZE, ttl: LAST_USED_INTERVAL_MS });

  const lookUp = async (keyId: string) => {
    let found = rows?.get(keyId);
    if (!found) {
      found = await findApiKeyForAuth(deps.pool, keyId);
      // Only keys that exist are cached: unknown ids cannot fill the cache.
      if (found) rows?.set(keyId, found);
    }
    return found;
  };
  // A usable key's principal (key_revoked, key_expired, tenant_disabled otherwise), its last use recorded now and
  // then. A rotated key's revokedAt lies in the future until its grace period ends: compared on every request.
  const principalOfKey = ({
    record: key,
    tenantDisabled,
  }: {
    record: ApiKeyRecord;
    tenantDisabled: boolean;
  }): Principal => {
    if (key.revokedAt && Date.parse(key.revokedAt) <= Date.now()) {
      // The same code for both: a rotated key is revoked, at the end of its grace period (or earlier by DELETE).
      throw new UnauthorizedError(
        key.replacedBy
          ? 'this API key was rotated and no longer works (its grace period, if any, is over): use its successor, ' +
              'named in replacedBy of GET /api/v1/api-keys'
          : 'this API key was revoked',
        'key_revoked',
      );
    }
    if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
      throw new UnauthorizedError('this API key has expired', 'key_expired');
    }
    if (tenantDisabled) throw new TenantDisabledError(key.tenantId);
    if (!touched.has(key.keyId)) {
      touched.set(key.keyId, true);
      // Fire and forget: a failed bookkeeping write must not fail the request.
      void touchApiKey(deps.pool, key.tenantId, key.keyId).catch((err: unknown) =>
        log.warn({ err, keyId: key.keyId }, 'could not record the API key last use'),
      );
    }
    return {
      id: `key:${key.keyId}`,
      tenantId: key.tenantId,
      role: key.role,
      platformAdmin: key.platformAdmin,
      keyId: key.keyId,
    };
  };

  return {
    async verify(token) {
      const parsed = parseApiKey(token);
      if (!parsed) throw new UnauthorizedError('not a Kiln API key', 'invalid_credentials');
      const found = await lookUp(parsed.keyId);
      // The secret is compared on every request, cached row or not.
      if (!found || !secretMatches(parsed.secret, found.secretSha256)) {
        throw new UnauthorizedError('unknown API key', 'invalid_credentials');
      }
      return principalOfKey(found);
    },
    async verifyKeyId(keyId) {
      const found = await lookUp(keyId);
      if (!found) throw new UnauthorizedError('unknown API key', 'invalid_credentials');
      return principalOfKey(found);
    },
    forget(keyId) {
      rows?.delete(keyId);
    },
    forgetTenant(tenantId) {
      for (const [keyId, found] of rows?.entries() ?? []) if (found.record.tenantId === tenantId) rows?.delete(keyId);
    },
  };
}

/**
 * Who the request acts for: its key or token, else its session cookie (api/auth/session-store.ts). Throws
 * UnauthorizedError: `unauthenticated` without credentials, `invalid_credentials` for a malformed Authorization
 * header or an unknown key, `key_revoked`, `key_expired`, `session_expired` for a cookie naming no live session.
 */
export async function authenticate(
  ctx: Pick<Context, 'get' | 'cookies' | 'headers'>,
  keys: KeyVerifier,
  sso?: SsoVerifier,
  sessions?: SessionResolver,
): Promise<Principal> {
  const token = presentedToken(ctx);
  if (token === undefined) {
    const sessionId = sessionCookieOf(ctx);
    if (sessions && sessionId !== undefined) return sessions.resolve(sessionId);
    throw new UnauthorizedError('this needs credentials: Authorization: Bearer <API key>, or X-API-Key');
  }
  // Anything not shaped like a Kiln key is an SSO token when SSO is on (a mistyped key stays a key's 401).
  if (sso && !parseApiKey(token) && !token.startsWith('kiln_')) {
    return sso.authenticate(token, ctx.get(TENANT_HEADER) || undefined);
  }
  try {
    return await keys.verify(token);
  } catch (err) {
    // presentedToken takes X-API-Key only when there is no Authorization header: the error is about X-API-Key then.
    const fromApiKeyHeader = ctx.headers.authorization === undefined && ctx.get('X-API-Key') === token;
    throw fromApiKeyHeader && err instanceof UnauthorizedError ? withField(err, 'X-API-Key') : err;
  }
}

/**
 * Refusals that mean the presented credentials do not verify (unknown key, wrong secret, malformed, bad token, a
 * session cookie naming no live session: each a lookup a guesser makes us do): what the per-IP failure budget counts.
 * Missing credentials and revoked or expired keys (a secret that did match) are not.
 */
const VERIFY_FAILURES: ReadonlySet<string> = new Set(['invalid_credentials', 'invalid_token', 'session_expired']);

/** Throws ForbiddenError (insufficient_role) unless the principal may call a route declared with `access`. */
export function assertAllowed(principal: Principal, access: Access): void {
  if (access === 'public') return;
  if (access === 'platform-admin') {
    if (!principal.platformAdmin) throw new ForbiddenError('this needs a platform admin', 'insufficient_role');
  } else if (!roleAllows(principal.role, access)) {
    throw new ForbiddenError(`this needs the ${access} role (the caller is ${principal.role})`, 'insufficient_role');
  }
}

/**
 * The access gate over API keys in Postgres and SSO tokens (when configured): authenticate, check the role, charge the
 * route's rate-limit budget; refusals counted by route and reason.
 */
export function createAccessGate(deps: GateDeps): AccessGate {
  const keys = createKeyVerifier(deps);
  const sessions = createSessionResolver({ pool: deps.pool, keys });
  const failures = createAuthFailureLimit({
    pool: deps.pool,
    size: deps.rateLimits?.authFailures ?? DEFAULT_AUTH_FAILURE_BUDGET,
    log: deps.log ?? rootLogger(),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const rateLimits = createRateLimits({
    pool: deps.pool,
    defaults: deps.rateLimits ?? DEFAULT_BUDGET_SIZES,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  return {
    async authorize(ctx, declaration: AccessDeclaration) {
      try {
        // An address past its failure budget is refused before its credentials cost a lookup.
        failures.check(ctx.ip, routeOf(ctx));
        const principal = await authenticate(ctx, keys, deps.sso, sessions).catch(async (err: unknown) => {
          if (err instanceof UnauthorizedError && VERIFY_FAILURES.has(err.code))
            await failures.charge(ctx.ip, routeOf(ctx));
          throw err;
        });
        ctx.state.principal = principal;
        assertAllowed(principal, declaration.access);
        await rateLimits.consume(principal, budgetOf(declaration, ctx.method), routeOf(ctx), ctx);
      } catch (err) {
        if (err instanceof UnauthorizedError || err instanceof ForbiddenError) {
          deps.metrics?.authFailures.inc({ route: routeOf(ctx), reason: err.code });
        }
        throw err;
      }
    },
    async reauthorize(ctx, access) {
      const principal = await authenticate(ctx, keys, deps.sso, sessions);
      assertAllowed(principal, access);
      return principal;
    },
    forgetKey: (keyId) => keys.forget(keyId),
    forgetTenant: (tenantId) => keys.forgetTenant(tenantId),
  };
}
