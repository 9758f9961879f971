import { decodeJwt } from 'jose';
import type { Pool } from 'pg';
import { createSsoVerifier, type SsoVerifier } from '../../api/auth/sso';
import type { Role } from '../../common/auth/roles';
import { UnauthorizedError } from '../../common/errors';
import { createApiKey } from '../../db/api-keys';

/** A tenant for a test (idempotent): id and name alike. */
export async function createTestTenant(pool: Pick<Pool, 'query'>, tenantId: string): Promise<string> {
  await pool.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [tenantId]);
  return tenantId;
}

/** An API key for a test, straight into the database: `kiln_<id>_<secret>` with the role asked for. */
export async function createTestKey(
  pool: Pick<Pool, 'query'>,
  options: { tenantId?: string; role?: Role; platformAdmin?: boolean; name?: string; expiresAt?: Date } = {},
): Promise<string> {
  const { key } = await createApiKey(pool, {
    tenantId: options.tenantId ?? 'default',
    name: options.name ?? `test-${options.role ?? 'admin'}`,
    role: options.role ?? 'admin',
    platformAdmin: options.platformAdmin ?? false,
    createdBy: 'test',
    ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
  });
  return key;
}

/** `Authorization: Bearer <key>`, for request()'s headers. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/**
 * An SSO verifier for tests whose tokens are signed by no one: their claims are read as they are (`<iss>|<sub>`, an
 * `exp` past is a 401 invalid_token). What the identity provider's signature proves is test/integration/sso.test.ts's
 * business; tests of sessions and memberships need only the subject and the expiry. `issuer` is the one the verifier
 * trusts (members of another are refused).
 */
export function unsignedSsoVerifier(pool: Pick<Pool, 'query'>, issuer: string): SsoVerifier {
  return createSsoVerifier({
    pool,
    config: { jwksUrl: 'http://127.0.0.1:9/unused', issuer, audience: 'kiln', algorithms: ['RS256'] },
    verifyToken: (token) => {
      const { iss, sub, exp } = decodeJwt(token);
      if (!exp || exp * 1000 <= Date.now()) throw new UnauthorizedError('invalid token: expired', 'invalid_token');
      return Promise.resolve(`${iss}|${sub}`);
    },
  });
}
