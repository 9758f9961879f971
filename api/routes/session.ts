import Router from '@koa/router';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import type { Principal } from '../../common/auth/principal';
import { UnauthorizedError } from '../../common/errors';
import { principalOf, requires } from '../auth/access';
import { clearSessionCookie, sessionCookieOf, setSessionCookie } from '../auth/session-cookie';
import { closeSession, openSession } from '../auth/session-store';
import { whoamiView } from '../auth/whoami';
import { readJsonBody } from '../body';
import type { ApiDeps } from '../context';
import { SESSION_BODY_MAX_BYTES, sessionRequest } from '../schemas/session';
import { parseWith } from '../schemas/validate';

/**
 * The principal `token` authenticates, by the app's own gate as if the request had sent `Authorization: Bearer
 * <token>`: the same checks as every route (key lookup and constant-time compare, revocation, expiry, SSO tokens where
 * configured), not a second copy of them. The gate sees a view of this request whose Authorization is the token and
 * whose state is its own, so the sign-in request itself stays unauthenticated (its route is public). 401 when the
 * gate refuses the token.
 */
async function authenticateToken(ctx: Context, token: string): Promise<Principal> {
  if (!ctx.accessGate) throw new Error('no access gate on this app (createApp installs one)');
  const probe = Object.create(ctx) as Context;
  probe.state = {};
  probe.get = (field: string) => (field.toLowerCase() === 'authorization' ? `Bearer ${token}` : ctx.get(field));
  await ctx.accessGate.authorize(probe, { access: 'viewer', budget: 'write' });
  return principalOf(probe);
}

/**
 * When an SSO token expires (its `exp`, seconds since the epoch), read after the gate verified it; undefined for an
 * API key (the key's own expiry and revocation are checked on every request of its session instead).
 */
function tokenExpiry(principal: Principal, token: string): Date | undefined {
  if (principal.subject === undefined) return undefined;
  const { exp } = decodeJwt(token);
  // The verifier requires exp (api/auth/sso-token.ts); a token without one would not have signed in.
  if (exp === undefined) throw new UnauthorizedError('the token has no expiry', 'invalid_token');
  return new Date(exp * 1000);
}

/**
 * The console's sign-in (issue 13; server-side sessions since the fix round):
 *
 * - `POST /session {apiKey}`: authenticates the key (or SSO token), opens a server-side session for it (12 hours, an
 *   SSO token's exp at the latest: api/auth/session-store.ts) and sets the HttpOnly session cookie to the session's
 *   opaque id (api/auth/session-cookie.ts); answers whoami's view. A bad key is 401 and sets nothing.
 * - `DELETE /session`: deletes the cookie's session (its id opens nothing any more) and clears the cookie (204),
 *   signed in or not.
 * - `GET /whoami`: the caller (whatever credentials it sent) and what its role may do.
 *
 * The session routes are public: they take the key from the body, and signing out needs nothing.
 */
export function sessionRouter(deps: Pick<ApiDeps, 'pool'>): Router {
  const router = new Router();

  router.post('/session', requires('public'), async (ctx) => {
    const { apiKey } = parseWith(sessionRequest, await readJsonBody(ctx, SESSION_BODY_MAX_BYTES));
    const token = apiKey.trim();
    const principal = await authenticateToken(ctx, token);
    const { sessionId, expiresAt } = await openSession(deps.pool, principal, tokenExpiry(principal, token));
    setSessionCookie(ctx, sessionId, expiresAt);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = whoamiView(principal);
  });

  router.delete('/session', requires('public'), async (ctx) => {
    const sessionId = sessionCookieOf(ctx);
    if (sessionId !== undefined) await closeSession(deps.pool, sessionId);
    clearSessionCookie(ctx);
    ctx.status = 204;
  });

  router.get('/whoami', requires('viewer'), (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = whoamiView(principalOf(ctx));
  });

  return router;
}
