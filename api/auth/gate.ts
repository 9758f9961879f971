import type { Context } from 'koa';
import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { roleAllows } from '../../common/auth/roles';
import { ForbiddenError, UnauthorizedError } from '../../common/errors';
import { BudgetSizes, DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import { findApiKeyForAuth, parseApiKey, secretMatches } from '../../db/api-keys';
import type { ApiMetrics } from '../metrics';
import type { AccessDeclaration, AccessGate } from './access';
import { SsoVerifier, TENANT_HEADER } from './sso';
import { budgetOf, createRateLimits, routeOf } from './rate-limits';

/**
 * TEMPORARY (issue 12 in progress): a request without credentials acts as this platform admin of the default tenant,
 * so that the suite keeps passing while routes, services and tests move to keys. Removed once the test helpers send
 * keys.
 */
const ANONYMOUS_ADMIN: Principal = { id: 'anonymous', tenantId: 'default', role: 'admin', platformAdmin: true };

/** The credentials a request carries: `Authorization: Bearer <token>` or `X-API-Key: <key>`. */
export function presentedToken(ctx: Pick<Context, 'get'>): string | undefined {
  const authorization = ctx.get('Authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('Authorization must be "Bearer <API key or token>"', 'invalid_credentials');
    return match[1];
  }
  return ctx.get('X-API-Key') || undefined;
}

/**
 * The access gate over API keys in Postgres, and SSO tokens (JWTs) when `sso` is configured; `rateLimits`: each
 * caller's budgets (default DEFAULT_BUDGET_SIZES), counted in the same database.
 */
export function createAccessGate(deps: {
  pool: Pool;
  sso?: SsoVerifier;
  rateLimits?: BudgetSizes;
  metrics?: Pick<ApiMetrics, 'rateLimited'>;
}): AccessGate {
  const rateLimits = createRateLimits({
    pool: deps.pool,
    defaults: deps.rateLimits ?? DEFAULT_BUDGET_SIZES,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  async function authenticate(ctx: Context): Promise<Principal> {
    const token = presentedToken(ctx);
    if (token === undefined) return ANONYMOUS_ADMIN;
    const parsed = parseApiKey(token);
    // Anything not shaped like a Kiln key is an SSO token when SSO is on (a mistyped key stays a key's 401).
    if (!parsed && deps.sso && !token.startsWith('kiln_')) {
      return deps.sso.authenticate(token, ctx.get(TENANT_HEADER) || undefined);
    }
    if (!parsed) throw new UnauthorizedError('not a Kiln API key', 'invalid_credentials');
    const found = await findApiKeyForAuth(deps.pool, parsed.keyId);
    if (!found || !secretMatches(parsed.secret, found.secretSha256)) {
      throw new UnauthorizedError('unknown API key', 'invalid_credentials');
    }
    const key = found.record;
    if (key.revokedAt) throw new UnauthorizedError('this API key was revoked', 'key_revoked');
    if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) {
      throw new UnauthorizedError('this API key has expired', 'key_expired');
    }
    return {
      id: `key:${key.keyId}`,
      tenantId: key.tenantId,
      role: key.role,
      platformAdmin: key.platformAdmin,
      keyId: key.keyId,
    };
  }

  return {
    async authorize(ctx: Context, declaration: AccessDeclaration) {
      const principal = await authenticate(ctx);
      ctx.state.principal = principal;
      const { access } = declaration;
      if (access === 'platform-admin') {
        if (!principal.platformAdmin) throw new ForbiddenError('this needs a platform admin', 'insufficient_role');
      } else if (access !== 'public' && !roleAllows(principal.role, access)) {
        throw new ForbiddenError(
          `this needs the ${access} role (the caller is ${principal.role})`,
          'insufficient_role',
        );
      }
      await rateLimits.consume(principal, budgetOf(declaration, ctx.method), routeOf(ctx));
    },
  };
}
