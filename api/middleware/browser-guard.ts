import { Middleware } from 'koa';
import type { BrowserPolicy } from '../../common/config';
import { ForbiddenError } from '../../common/errors';

/** Methods a cross-origin page may not use unless its origin is allowed (they change state). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What an allowed origin's pages may send and read. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'Authorization, X-API-Key, Content-Type, Idempotency-Key, X-Request-Id';
const EXPOSED_HEADERS = 'Location, X-Request-Id, Idempotent-Replayed, Retry-After';
/** Seconds a browser may cache a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The host name of a Host header, lower-case, without port or trailing dot; IPv6 in brackets. */
export function hostName(header: string): string {
  const lower = header.trim().toLowerCase();
  const name = lower.startsWith('[') ? lower.slice(0, lower.indexOf(']') + 1) : lower.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/**
 * Keeps browsers' requests to where they belong, before any route runs:
 *
 * - Host: a request whose Host names a host the API does not serve (`policy.allowedHosts`, `*` for any) is 403
 *   `host_not_allowed`: a page whose DNS name was rebound to 127.0.0.1 still sends its own name, so it cannot reach a
 *   local Kiln. A request without Host (HTTP/1.0; no browser sends one) passes.
 * - Origin (CORS): an origin in `policy.corsOrigins` (`*` for any) gets Access-Control-Allow-Origin (and its
 *   preflights an answer); any other cross-origin request that changes state (POST, PUT, PATCH, DELETE, and every
 *   preflight) is 403 `origin_not_allowed` before its body is read. A `text/csv` POST needs no preflight, so refusing
 *   it here is what keeps other sites' pages from uploading. Same-origin requests (Origin equal to the request's own
 *   scheme and Host) and requests without Origin (curl, servers) pass untouched.
 */
export function browserGuard(policy: BrowserPolicy): Middleware {
  const anyHost = policy.allowedHosts.includes('*');
  const hosts = new Set(policy.allowedHosts);
  const anyOrigin = policy.corsOrigins.includes('*');
  const origins = new Set(policy.corsOrigins);
  return async (ctx, next) => {
    const host = ctx.get('host');
    if (host && !anyHost && !hosts.has(hostName(host))) {
      throw new ForbiddenError(
        `this API does not answer to the host ${JSON.stringify(hostName(host).slice(0, 255))}; allowed: ${[...hosts].join(', ')} (KILN_ALLOWED_HOSTS)`,
        'host_not_allowed',
        'host',
      );
    }
    const origin = ctx.get('origin');
    if (!origin) return next();
    ctx.vary('Origin');
    const sameOrigin = host !== '' && origin.toLowerCase() === `${ctx.protocol}://${host.toLowerCase()}`;
    if (sameOrigin) return next();
    const allowed = anyOrigin || origins.has(origin.toLowerCase());
    const preflight = ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '';
    if (!allowed) {
      if (preflight || !SAFE_METHODS.has(ctx.method)) {
        throw new ForbiddenError(
          `cross-origin requests from ${JSON.stringify(origin.slice(0, 255))} are not allowed (KILN_CORS_ORIGINS)`,
          'origin_not_allowed',
          'origin',
        );
      }
      return next(); // a safe request: answered without CORS headers, so the page cannot read it
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    if (preflight) {
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    return next();
  };
}
