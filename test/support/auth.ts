import type { Pool } from 'pg';
import type { Role } from '../../common/auth/roles';
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
