import type { Context } from 'koa';

/**
 * The console's session cookie: an opaque session id (api/auth/session-store.ts), never a key or token. HttpOnly, so
 * that the page's scripts never hold it, and EventSource (which cannot send headers) carries it. The gate reads it
 * when a request has neither Authorization nor X-API-Key.
 */
export const SESSION_COOKIE = 'kiln_session';

/**
 * SameSite=Strict: a page of another site never sends it (no cross-site request forgery with it; browserGuard refuses
 * other origins' state-changing requests besides). Secure when the request came over https (behind a proxy: Koa's
 * `app.proxy` and X-Forwarded-Proto decide `ctx.secure`).
 */
function cookieOptions(ctx: Pick<Context, 'secure'>) {
  return { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: ctx.secure, overwrite: true };
}

/** Sets the session cookie to `sessionId`, for the browser to drop at `expiresAt` (the session's own expiry). */
export function setSessionCookie(ctx: Pick<Context, 'cookies' | 'secure'>, sessionId: string, expiresAt: Date): void {
  ctx.cookies.set(SESSION_COOKIE, sessionId, { ...cookieOptions(ctx), expires: expiresAt });
}

/** The session id the request's cookie carries, if any. */
export function sessionCookieOf(ctx: Pick<Context, 'cookies'>): string | undefined {
  return ctx.cookies.get(SESSION_COOKIE) || undefined;
}

/** Clears the session cookie (an empty value that expired in 1970). */
export function clearSessionCookie(ctx: Pick<Context, 'cookies' | 'secure'>): void {
  ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
}
