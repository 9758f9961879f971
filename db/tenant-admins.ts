import { ConflictError } from '../common/errors';
import { type Queryable } from './pool';

/**
 * The first half (classid) of the two-int advisory lock (pg_advisory_xact_lock(int, int)) that serialises, per tenant,
 * every change that may take away the tenant's last way in as admin: revoking or demoting an admin key, removing or
 * demoting an admin SSO member. The second half is hashtext(tenant id), so tenants do not wait on each other (a hash
 * collision only serialises two tenants, harmlessly). Two-int keys never collide with the single bigint key of
 * PLATFORM_ADMIN_LOCK (db/api-keys.ts). 'ktad' as an int4.
 */
export const TENANT_ADMIN_LOCK_CLASS = 0x6b746164;

/**
 * Takes the tenant's admin lock until the transaction ends. `db` must be a transaction's client. Lock order: a key's
 * row lock (and PLATFORM_ADMIN_LOCK) before this one, never after it, so that no two paths wait on each other.
 */
export async function lockTenantAdmins(db: Queryable, tenantId: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [TENANT_ADMIN_LOCK_CLASS, tenantId]);
}

/**
 * True when the tenant keeps a way in as admin without `except` (the key or SSO member about to be revoked, demoted
 * or removed): either an admin key (platform-admin keys included: their role is admin) that is neither revoked nor
 * awaiting a revocation (a rotated key's grace period: its successor counts instead) and has no expiry (one that
 * expires would lock the tenant out when it does: the platform-admin rule's "permanent"), or, when `ssoEnabled` (the
 * API verifies SSO tokens: KILN_JWT_JWKS_URL), an SSO member with role admin (tenant_members: they sign in and manage
 * keys and members; without SSO a member cannot sign in, so is no way in). Read committed: call it under
 * lockTenantAdmins so that a concurrent change that committed first is seen.
 */
export async function tenantAdminRemains(
  db: Queryable,
  tenantId: string,
  except: { keyId?: string; subject?: string },
  ssoEnabled: boolean,
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM api_keys
     WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL AND expires_at IS NULL
       AND key_id IS DISTINCT FROM $2
     UNION ALL
     SELECT 1 FROM tenant_members
     WHERE $4 AND tenant_id = $1 AND role = 'admin' AND subject IS DISTINCT FROM $3
     LIMIT 1`,
    [tenantId, except.keyId ?? null, except.subject ?? null, ssoEnabled],
  );
  return rows.length > 0;
}

/**
 * Takes the tenant's admin lock (lockTenantAdmins), then tells whether `subject` may stop being an admin SSO member of
 * the tenant (removed, or given another role): true when it is no admin member, when SSO is off (`ssoEnabled` false:
 * a member is no way in then), or when the tenant keeps another way in as admin (tenantAdminRemains). `db` must be a transaction's client, and the change must follow in the same
 * transaction. The lock comes before the member's row is read, so a concurrent promotion is seen.
 */
export async function memberMayStopBeingAdmin(
  db: Queryable,
  tenantId: string,
  subject: string,
  ssoEnabled: boolean,
): Promise<boolean> {
  if (!ssoEnabled) return true;
  await lockTenantAdmins(db, tenantId);
  const { rows } = await db.query<{ role: string }>(
    'SELECT role FROM tenant_members WHERE tenant_id = $1 AND subject = $2',
    [tenantId, subject],
  );
  if (rows[0]?.role !== 'admin') return true;
  return tenantAdminRemains(db, tenantId, { subject }, true);
}

/**
 * The conflict (409, code `last_tenant_admin`, naming `field`) for a change refused because tenantAdminRemains is
 * false, saying how to make it possible.
 */
export function lastTenantAdminError(field: string): ConflictError {
  return new ConflictError(
    'this would leave the tenant with no usable admin API key without an expiry and no admin SSO member, so nobody ' +
      'could administer it again: create another admin key first (POST /api/v1/api-keys {"role": "admin"} with no ' +
      'expiresAt) or make an SSO member admin (PUT /api/v1/members/:subject {"role": "admin"}), then retry',
    'last_tenant_admin',
    field,
  );
}
