import { z } from 'zod';
import type { AccessDeclaration } from './auth/access';
import { SESSION_COOKIE } from './auth/session-cookie';
import { errorBody } from './schemas/common';

/**
 * Operations anyone may call, without credentials (their routes declare `requires('public')`); every other operation
 * of the document needs an API key. test/api/auth-routes.test.ts checks this list against the routers.
 */
export const PUBLIC_OPERATIONS: ReadonlySet<string> = new Set([
  'GET /api/v1/openapi.json',
  'GET /api/v1/algorithms',
  'GET /api/algorithms',
  'GET /health',
  'GET /ready',
  'GET /metrics',
  'POST /api/v1/session',
  'DELETE /api/v1/session',
]);

/**
 * How a caller presents an API key: `Authorization: Bearer kiln_…`, `X-API-Key: kiln_…`, or the console's session
 * cookie (api/auth/gate.ts reads them in that order).
 */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'kiln_<keyId>_<secret>',
    description:
      'An API key (README: Authentication) as `Authorization: Bearer <key>`, or an SSO token (JWT) when configured',
  },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same API key in X-API-Key' },
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description:
      'The console’s session: POST /api/v1/session sets it (HttpOnly, SameSite=Strict) to the key or SSO token it was ' +
      'given; a state-changing request with it must come from the API’s own origin',
  },
} as const;

/** Each non-public operation accepts any one of the schemes. */
const SECURITY = Object.keys(SECURITY_SCHEMES).map((name) => ({ [name]: [] }));

/**
 * The response headers of a rate-limited route (api/auth/rate-limits.ts; draft-ietf-httpapi-ratelimit-headers), as
 * the document's `components.headers`; its answers refer to them.
 */
export const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { description: 'Requests of this budget per window', schema: { type: 'integer', minimum: 1 } },
  'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'Seconds until the window ends', schema: { type: 'integer', minimum: 1 } },
  'RateLimit-Policy': { description: '`<limit>;w=<window seconds>`', schema: { type: 'string' } },
} as const;

const RATE_LIMIT_HEADER_REFS = Object.fromEntries(
  Object.keys(RATE_LIMIT_HEADERS).map((name) => [name, { $ref: `#/components/headers/${name}` }]),
);

/** An operation's answers with the RateLimit-* headers on each 2xx (every answer past the gate carries them). */
function withRateLimitHeaders(responses: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(responses ?? {}).map(([code, response]) => {
      if (!code.startsWith('2')) return [code, response];
      const r = response as { headers?: Record<string, unknown> };
      return [code, { ...r, headers: { ...r.headers, ...RATE_LIMIT_HEADER_REFS } }];
    }),
  );
}

const RATE_LIMITED =
  '`rate_limited`: the caller’s budget for this kind of request (start, predict, read, write; README: Rate limits) ' +
  'is spent; Retry-After (s) says when the window ends';

const IDP_UNAVAILABLE =
  '`identity_provider_unavailable`: SSO is configured and the identity provider’s keys (KILN_JWT_JWKS_URL) cannot ' +
  'be fetched, so no SSO token can be verified; Retry-After (s) says when to try again';

/** What an operation's caller needs, in words: `requires(...)` of its route. */
function accessText(declaration: AccessDeclaration): string {
  const who =
    declaration.access === 'platform-admin'
      ? 'a platform admin’s key'
      : `the \`${declaration.access}\` role or above (viewer < operator < editor < approver < admin)`;
  return declaration.budget ? `Needs ${who}; draws on the \`${declaration.budget}\` budget.` : `Needs ${who}.`;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: z.toJSONSchema(errorBody, { io: 'input', unrepresentable: 'any' }) } },
});

/**
 * The document's paths with each non-public operation requiring one of the schemes and documenting 401 (no, unknown,
 * revoked or expired key), 403 (a role too low; the browser checks too) and 429 (`rate_limited`, beside any 429 of
 * its own, with the RateLimit-* and Retry-After headers) and 503 (`identity_provider_unavailable` with Retry-After,
 * beside any 503 of its own). With the routes' declarations (`access`, from
 * route-access.ts: `METHOD /path` → requires()), each such operation also states the role it needs: `x-kiln-role`
 * (a role, or `platform-admin`), `x-kiln-budget` when the route names one, and a sentence in its description. Public
 * operations are left as they are.
 */
export function withSecurity<P extends Record<string, Record<string, unknown>>>(
  access: ReadonlyMap<string, AccessDeclaration> | undefined,
  paths: P,
): P {
  const secured: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(paths)) {
    secured[path] = Object.fromEntries(
      Object.entries(item).map(([method, operation]) => {
        const route = `${method.toUpperCase()} ${path}`;
        if (!HTTP_METHODS.has(method) || PUBLIC_OPERATIONS.has(route)) return [method, operation];
        const op = operation as { description?: string; responses?: Record<string, unknown> };
        const declaration = access?.get(route);
        const own429 = op.responses?.['429'] as { description?: string; content?: unknown } | undefined;
        const own503 = op.responses?.['503'] as { description?: string; headers?: object } | undefined;
        return [
          method,
          {
            ...op,
            ...(declaration
              ? {
                  description: op.description
                    ? `${op.description}\n\n${accessText(declaration)}`
                    : accessText(declaration),
                  'x-kiln-role': declaration.access,
                  ...(declaration.budget ? { 'x-kiln-budget': declaration.budget } : {}),
                }
              : {}),
            security: SECURITY,
            responses: {
              ...withRateLimitHeaders(op.responses),
              '401': errorResponse('No credentials, or an unknown, malformed, revoked or expired key'),
              '403':
                (op.responses?.['403'] as object | undefined) ?? errorResponse('The key’s role does not allow this'),
              '429': {
                ...errorResponse(
                  own429?.description && own429.description !== 'Error'
                    ? `${own429.description}; or ${RATE_LIMITED}`
                    : `Too many requests: ${RATE_LIMITED}`,
                ),
                headers: {
                  'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } },
                  ...RATE_LIMIT_HEADER_REFS,
                },
              },
              '503': {
                ...errorResponse(
                  !own503
                    ? `Service unavailable: ${IDP_UNAVAILABLE}`
                    : own503.description && own503.description !== 'Error'
                      ? `${own503.description}; or ${IDP_UNAVAILABLE}`
                      : `Service unavailable: \`dependency_unavailable\` (README: Outages); or ${IDP_UNAVAILABLE}`,
                ),
                headers: {
                  ...own503?.headers,
                  'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } },
                },
              },
            },
          },
        ];
      }),
    );
  }
  return secured as P;
}
