import type { Context } from 'koa';

/**
 * The console's session cookie: the API key (or SSO token) itself, HttpOnly, so that the page's scripts never hold it
 * and EventSource (which cannot send headers) carries it. The gate reads it after Authorization and X-API-Key.
 */
export const SESSION_COOKIE = 'kiln_session';

/** How long a browser keeps a session: 12 hours, in milliseconds (a key's own expiry or revocation ends it sooner). */
export const SESSION_MAX_AGE_MS = 12 * 3600 * 1000;

/**
 * A token's characters as a cookie value may carry them (RFC 6265 cookie-octet: visible ASCII but `"`, `,`, `;` and
 * `\`). Every Kiln key (`kiln_<hex>_<base64url>`) and every JWT (base64url and dots) is one.
 */
export const COOKIE_SAFE_TOKEN = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

/**
 * SameSite=Strict: a page of another site never sends it (no cross-site request forgery with it; browserGuard refuses
 * other origins' state-changing requests besides). Secure when the request came over https (behind a proxy: Koa's
 * `app.proxy` and X-Forwarded-Proto decide `ctx.secure`).
 */
function cookieOptions(ctx: Pick<Context, 'secure'>) {
  return { httpOnly: true, sameSite: 'strict' as const, path: '/', secure: ctx.secure, overwrite: true };
}

/** Sets the session cookie to `token` (already authenticated by the caller) for SESSION_MAX_AGE_MS. */
export function setSessionCookie(ctx: Pick<Context, 'cookies' | 'secure'>, token: string): void {
  ctx.cookies.set(SESSION_COOKIE, token, { ...cookieOptions(ctx), maxAge: SESSION_MAX_AGE_MS });
}

/** Clears the session cookie (an empty value that expired in 1970). */
export function clearSessionCookie(ctx: Pick<Context, 'cookies' | 'secure'>): void {
  ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
}
