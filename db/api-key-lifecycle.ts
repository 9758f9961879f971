import type { Role } from '../common/auth/roles';
import {
  API_KEY_ENTITY,
  type ApiKeyRecord,
  type ApiKeyRow,
  createApiKey,
  lastWayInLost,
  record,
  usableAt,
} from './api-keys';
import { type Queryable } from './pool';
import { lockTenantAdmins, tenantAdminRemains } from './tenant-admins';

/** The longest grace period a rotation grants the old key: one day, in seconds. */
export const MAX_ROTATION_GRACE_SECONDS = 86_400;

/** Who changes a key: the caller's principal id, tenant and platform-admin flag. */
export interface KeyChanger {
  id: string;
  tenantId: string;
  platformAdmin: boolean;
}

/**
 * Why a key cannot be changed: `not_found` (the caller's tenant has no key with this id), `platform_admin` (a
 * platform-admin key and the caller is not one), `revoked`, `expired`, `replaced` (already rotated: it works only
 * until its grace period ends, and its successor is the key to rotate or change).
 */
export type KeyRefusal = 'not_found' | 'platform_admin' | 'revoked' | 'expired' | 'replaced';

/** The caller's tenant's key, locked for the rest of the transaction, with the database's clock. */
async function lockKey(
  db: Queryable,
  tenantId: string,
  keyId: string,
): Promise<{ key: ApiKeyRow; now: Date } | undefined> {
  const { rows } = await db.query<ApiKeyRow & { db_now: Date }>(
    'SELECT *, now() AS db_now FROM api_keys WHERE tenant_id = $1 AND key_id = $2 FOR UPDATE',
    [tenantId, keyId],
  );
  const row = rows[0];
  return row ? { key: row, now: row.db_now } : undefined;
}

/** The refusal of a change of `key` by `caller`, or undefined when it may go ahead. */
function refusalOf(key: ApiKeyRow, now: Date, caller: KeyChanger): KeyRefusal | undefined {
  if (key.platform_admin && !caller.platformAdmin) return 'platform_admin';
  if (key.replaced_by !== null) return 'replaced';
  if (!usableAt(key, now.getTime())) return key.revoked_at !== null && key.revoked_at <= now ? 'revoked' : 'expired';
  return undefined;
}

/**
 * What rotateApiKey did: the new key (its secret, shown once) and the old key's record after it, or why not
 * (`last_platform_admin`, `last_tenant_admin`: a rotation without grace of the last way in, see rotateApiKey).
 */
export type RotateOutcome =
  | { outcome: 'rotated'; key: string; record: ApiKeyRecord; previous: ApiKeyRecord }
  | { outcome: KeyRefusal | 'last_platform_admin' | 'last_tenant_admin' };

/**
 * Rotates a key of the caller's tenant: creates a new key (new id and secret) with the old one's name, tenant, role,
 * platform-admin flag and expiry, and revokes the old one `graceSeconds` from now (0: at once), recording its
 * successor in `replaced_by`. Audited: `created` on the new key (details.rotatedFrom) and `rotated` on the old one
 * (details: replacedBy, graceSeconds, revokedAt), `caller` as actor. The same rules as revokeApiKey: another tenant's
 * key is not found, and a platform-admin key needs a platform-admin caller. A revoked, expired or already rotated key
 * is refused. The successor is as usable as the old key, but only its answer holds the new secret: were that answer
 * lost (client gone, proxy timeout), a rotation without grace of the last way in would lock it out for good. So with
 * `graceSeconds` 0 the revocation's last-way-in checks apply (as revokeApiKey, same lock order: key row, platform lock,
 * tenant lock): `last_platform_admin` when no other usable platform-admin key without an expiry remains,
 * `last_tenant_admin` for an admin key when the tenant keeps no other way in as admin (db/tenant-admins.ts, SSO members
 * counting those of `ssoIssuer`, the issuer SSO trusts). With a grace the old key keeps working until the new one is
 * in hand. `db` must be a transaction's client: the old key's row stays locked until it ends, so of two concurrent rotations of one key the
 * second sees the first's `replaced_by` and is refused (`replaced`).
 */
export async function rotateApiKey(
  db: Queryable,
  caller: KeyChanger,
  keyId: string,
  graceSeconds: number,
  ssoIssuer: string | undefined,
): Promise<RotateOutcome> {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
    throw new RangeError(`graceSeconds must be an integer in [0, ${MAX_ROTATION_GRACE_SECONDS}]`);
  }
  const locked = await lockKey(db, caller.tenantId, keyId);
  if (!locked) return { outcome: 'not_found' };
  const { key: old, now } = locked;
  const refusal = refusalOf(old, now, caller);
  if (refusal) return { outcome: refusal };
  if (graceSeconds === 0) {
    const lost = await lastWayInLost(db, old, ssoIssuer);
    if (lost) return { outcome: lost };
  }
  const created = await createApiKey(db, {
    tenantId: old.tenant_id,
    name: old.name,
    role: old.role,
    platformAdmin: old.platform_admin,
    createdBy: caller.id,
    rotatedFrom: old.key_id,
    ...(old.expires_at ? { expiresAt: old.expires_at } : {}),
  });
  const newKeyId = created.record.keyId;
  const { rows } = await db.query<ApiKeyRow>(
    `WITH rotated AS (
       UPDATE api_keys SET replaced_by = $3, revoked_at = now() + make_interval(secs => $4::int)
       WHERE tenant_id = $1 AND key_id = $2 RETURNING *
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT tenant_id, '${API_KEY_ENTITY}', key_id, 'rotated', $5,
              jsonb_build_object('replacedBy', replaced_by, 'graceSeconds', $4::int, 'revokedAt', revoked_at)
       FROM rotated
     )
     SELECT * FROM rotated`,
    [caller.tenantId, keyId, newKeyId, graceSeconds, caller.id],
  );
  return {
    outcome: 'rotated',
    key: created.key,
    record: created.record,
    previous: record({ ...rows[0]!, revoked_by: caller.id }),
  };
}

/** A change of a key: its role, its name, or both. */
export interface ApiKeyChange {
  role?: Role;
  name?: string;
}

/**
 * What updateApiKey did: the key after the change, or why not (`platform_admin_role`: a platform-admin key keeps the
 * role admin; `last_tenant_admin`: demoting this admin key would leave its tenant no way in as admin,
 * db/tenant-admins.ts).
 */
export type UpdateOutcome =
  { outcome: 'updated'; record: ApiKeyRecord } | { outcome: KeyRefusal | 'platform_admin_role' | 'last_tenant_admin' };

/**
 * Changes the role and/or name of a key of the caller's tenant and writes an `updated` audit event (details: before
 * and after) when anything changed. Nobody grants more than they hold: the route needs an admin of the tenant (who may
 * set any tenant role), only a platform admin changes a platform-admin key, and such a key keeps the role admin (the
 * platform-admin flag itself never changes here). A revoked, expired or rotated key is refused (a change would
 * not outlive it). An admin key loses the role admin only while its tenant keeps another admin key without an expiry
 * or an admin SSO member of `ssoIssuer` (under the tenant's admin lock, as revokeApiKey). `db` must be a transaction's client (the
 * checks and the change hold the locks together).
 */
export async function updateApiKey(
  db: Queryable,
  caller: KeyChanger,
  keyId: string,
  change: ApiKeyChange,
  ssoIssuer: string | undefined,
): Promise<UpdateOutcome> {
  const locked = await lockKey(db, caller.tenantId, keyId);
  if (!locked) return { outcome: 'not_found' };
  const { key, now } = locked;
  const refusal = refusalOf(key, now, caller);
  if (refusal) return { outcome: refusal };
  if (key.platform_admin && change.role !== undefined && change.role !== 'admin') {
    return { outcome: 'platform_admin_role' };
  }
  const role = change.role ?? key.role;
  const name = change.name ?? key.name;
  if (role === key.role && name === key.name) return { outcome: 'updated', record: record(key) };
  if (key.role === 'admin' && role !== 'admin') {
    await lockTenantAdmins(db, key.tenant_id);
    if (!(await tenantAdminRemains(db, key.tenant_id, { keyId }, ssoIssuer))) return { outcome: 'last_tenant_admin' };
  }
  const details = { before: { role: key.role, name: key.name }, after: { role, name } };
  const { rows } = await db.query<ApiKeyRow>(
    `WITH updated AS (
       UPDATE api_keys SET role = $3, name = $4 WHERE tenant_id = $1 AND key_id = $2 RETURNING *
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT tenant_id, '${API_KEY_ENTITY}', key_id, 'updated', $5, $6 FROM updated
     )
     SELECT * FROM updated`,
    [caller.tenantId, keyId, role, name, caller.id, JSON.stringify(details)],
  );
  return { outcome: 'updated', record: record(rows[0]!) };
}
