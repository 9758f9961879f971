import Router from '@koa/router';
import type { Context } from 'koa';
import type { Principal } from '../../common/auth/principal';
import { UnauthorizedError } from '../../common/errors';
import { principalOf, requires } from '../auth/access';
import { presentedToken } from '../auth/gate';
import { clearSessionCookie, COOKIE_SAFE_TOKEN, setSessionCookie } from '../auth/session-cookie';
import { whoamiView } from '../auth/whoami';
import { readJsonBody } from '../body';
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
 * The console's sign-in (issue 13):
 *
 * - `POST /session {apiKey}`: authenticates the key (or SSO token) and sets the HttpOnly session cookie holding it
 *   (api/auth/session-cookie.ts); answers whoami's view. A bad key is 401 and sets nothing.
 * - `DELETE /session`: clears the cookie (204), signed in or not.
 * - `GET /whoami`: the caller (whatever credentials it sent) and what its role may do.
 *
 * The session routes are public: they take the key from the body, and signing out needs nothing.
 */
export function sessionRouter(): Router {
  const router = new Router();

  router.post('/session', requires('public'), async (ctx) => {
    const { apiKey } = parseWith(sessionRequest, await readJsonBody(ctx, SESSION_BODY_MAX_BYTES));
    const token = apiKey.trim();
    if (!COOKIE_SAFE_TOKEN.test(token)) throw new UnauthorizedError('not an API key or token', 'invalid_credentials');
    const principal = await authenticateToken(ctx, token);
    setSessionCookie(ctx, token);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = whoamiView(principal);
  });

  router.delete('/session', requires('public'), (ctx) => {
    clearSessionCookie(ctx);
    ctx.status = 204;
  });

  router.get('/whoami', requires('viewer'), (ctx) => {
    // A request without credentials is not signed in, whatever the gate makes of it (while gate.ts still lets such a
    // request act as the default tenant's admin, the console must show its sign-in form all the same).
    if (presentedToken(ctx) === undefined) throw new UnauthorizedError('sign in with an API key', 'unauthenticated');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = whoamiView(principalOf(ctx));
  });

  return router;
}
