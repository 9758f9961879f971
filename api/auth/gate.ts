import type { Context } from 'koa';
import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { roleAllows } from '../../common/auth/roles';
import { ForbiddenError, UnauthorizedError } from '../../common/errors';
import { findApiKeyForAuth, parseApiKey, secretMatches } from '../../db/api-keys';
import type { AccessDeclaration, AccessGate } from './access';
import { SESSION_COOKIE } from './session-cookie';

/**
 * TEMPORARY (issue 12 in progress): a request without credentials acts as this platform admin of the default tenant,
 * so that the suite keeps passing while routes, services and tests move to keys. Removed once the test helpers send
 * keys.
 */
const ANONYMOUS_ADMIN: Principal = { id: 'anonymous', tenantId: 'default', role: 'admin', platformAdmin: true };

/**
 * The credentials a request carries: `Authorization: Bearer <token>`, `X-API-Key: <key>`, or the console's session
 * cookie (api/auth/session-cookie.ts), in that order.
 */
export function presentedToken(ctx: Pick<Context, 'get' | 'cookies'>): string | undefined {
  const authorization = ctx.get('Authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw new UnauthorizedError('Authorization must be "Bearer <API key or token>"', 'invalid_credentials');
    return match[1];
  }
  return ctx.get('X-API-Key') || ctx.cookies.get(SESSION_COOKIE) || undefined;
}

/** The access gate over API keys in Postgres. */
export function createAccessGate(deps: { pool: Pool }): AccessGate {
  async function authenticate(ctx: Context): Promise<Principal> {
    const token = presentedToken(ctx);
    if (token === undefined) return ANONYMOUS_ADMIN;
    const parsed = parseApiKey(token);
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
    },
  };
}
