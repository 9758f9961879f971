import { z } from 'zod';
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

/** How a caller presents an API key: `Authorization: Bearer kiln_…` or `X-API-Key: kiln_…` (api/auth/gate.ts). */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'kiln_<keyId>_<secret>',
    description:
      'An API key (README: Authentication) as `Authorization: Bearer <key>`, or an SSO token (JWT) when configured',
  },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same API key in X-API-Key' },
} as const;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: z.toJSONSchema(errorBody, { io: 'input', unrepresentable: 'any' }) } },
});

/**
 * The document's paths with each non-public operation requiring either scheme and documenting 401 (no, unknown,
 * revoked or expired key) and 403 (a role too low; the browser checks too). Public operations are left as they are.
 */
export function withSecurity<P extends Record<string, Record<string, unknown>>>(paths: P): P {
  const secured: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(paths)) {
    secured[path] = Object.fromEntries(
      Object.entries(item).map(([method, operation]) => {
        if (!HTTP_METHODS.has(method) || PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`)) {
          return [method, operation];
        }
        const op = operation as { responses?: Record<string, unknown> };
        return [
          method,
          {
            ...op,
            security: [{ bearer: [] }, { apiKey: [] }],
            responses: {
              ...op.responses,
              '401': errorResponse('No credentials, or an unknown, malformed, revoked or expired key'),
              '403':
                (op.responses?.['403'] as object | undefined) ?? errorResponse('The key’s role does not allow this'),
            },
          },
        ];
      }),
    );
  }
  return secured as P;
}
