import type { Principal } from '../common/auth/principal';
import { ConflictError, ForbiddenError, UnauthorizedError } from '../common/errors';
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
 * expires would lock the tenant out when it does: the platform-admin rule's "permanent"), or, when `ssoIssuer` is
 * set (the API verifies SSO tokens, KILN_JWT_JWKS_URL, of this issuer, KILN_JWT_ISSUER), an SSO member with role admin
 * whose subject is of that issuer (`<ssoIssuer>|<sub>`: they sign in and manage keys and members; without SSO, or of
 * another issuer, a member cannot sign in, so is no way in). Read committed: call it under lockTenantAdmins so that a
 * concurrent change that committed first is seen.
 */
export async function tenantAdminRemains(
  db: Queryable,
  tenantId: string,
  except: { keyId?: string; subject?: string },
  ssoIssuer: string | undefined,
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM api_keys
     WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL AND expires_at IS NULL
       AND key_id IS DISTINCT FROM $2
     UNION ALL
     SELECT 1 FROM tenant_members
     WHERE $4::text IS NOT NULL AND tenant_id = $1 AND role = 'admin' AND subject IS DISTINCT FROM $3
       AND starts_with(subject, $4::text || '|')
     LIMIT 1`,
    [tenantId, except.keyId ?? null, except.subject ?? null, ssoIssuer ?? null],
  );
  return rows.length > 0;
}

/**
 * Tells whether `subject` may stop being an admin SSO member of the tenant (removed, or given another role): true when
 * it is no admin member, when SSO is off (`ssoIssuer` undefined: a member is no way in then), when its subject is of
 * another issuer (it cannot sign in), or when the tenant keeps another way in as admin (tenantAdminRemains). Call it
 * under lockTenantAdmins, taken before the member's row is read (so that a concurrent promotion is seen), with the
 * change following in the same transaction.
 */
export async function memberMayStopBeingAdmin(
  db: Queryable,
  tenantId: string,
  subject: string,
  ssoIssuer: string | undefined,
): Promise<boolean> {
  if (ssoIssuer === undefined || !subject.startsWith(`${ssoIssuer}|`)) return true;
  const { rows } = await db.query<{ role: string }>(
    'SELECT role FROM tenant_members WHERE tenant_id = $1 AND subject = $2',
    [tenantId, subject],
  );
  if (rows[0]?.role !== 'admin') return true;
  return tenantAdminRemains(db, tenantId, { subject }, ssoIssuer);
}

/**
 * Re-checks, inside a transaction holding the tenant's admin lock (lockTenantAdmins), that the caller authenticated
 * at the start of the request is still an admin of its tenant now: a request that authenticated just before its
 * caller was removed or demoted must not act on the stale role (a removed SSO admin putting itself back). An SSO
 * caller (`principal.subject`) must still be a member of `principal.tenantId` with role admin; a key caller
 * (`principal.keyId`) must still be a key of that tenant with role admin, neither revoked (a rotated key's revocation
 * due) nor expired. Throws UnauthorizedError `key_revoked` / `key_expired` / `invalid_credentials` for a key no longer
 * usable, ForbiddenError `insufficient_role` (403) for a caller who is no admin any more (membership removed or role
 * changed), and ForbiddenError `insufficient_role` for a principal that is neither (nothing to re-check it against).
 */
export async function callerStillAdmin(db: Queryable, principal: Principal): Promise<void> {
  const changed = (was: string) =>
    new ForbiddenError(
      `your ${was} changed while this request ran: it is no longer an admin of tenant "${principal.tenantId}"`,
      'insufficient_role',
    );
  if (principal.subject !== undefined) {
    const { rows } = await db.query<{ role: string }>(
      'SELECT role FROM tenant_members WHERE tenant_id = $1 AND subject = $2',
      [principal.tenantId, principal.subject],
    );
    if (rows[0]?.role !== 'admin') throw changed('membership');
    return;
  }
  if (principal.keyId !== undefined) {
    const { rows } = await db.query<{ role: string; revoked: boolean; expired: boolean }>(
      `SELECT role, coalesce(revoked_at <= now(), false) AS revoked, coalesce(expires_at <= now(), false) AS expired
       FROM api_keys WHERE tenant_id = $1 AND key_id = $2`,
      [principal.tenantId, principal.keyId],
    );
    const key = rows[0];
    if (!key) throw new UnauthorizedError('unknown API key', 'invalid_credentials');
    if (key.revoked) throw new UnauthorizedError('this API key was revoked', 'key_revoked');
    if (key.expired) throw new UnauthorizedError('this API key has expired', 'key_expired');
    if (key.role !== 'admin') throw changed("key's role");
    return;
  }
  throw new ForbiddenError('this needs an admin API key or SSO member', 'insufficient_role');
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
