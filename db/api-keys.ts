import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role } from '../common/auth/roles';
import { type Queryable } from './pool';
import { lockTenantAdmins, tenantAdminRemains } from './tenant-admins';

/** `kiln_<keyId>_<secret>`: 16 hex characters of key id, then 32 random bytes as base64url (43 characters). */
const KEY_PATTERN = /^kiln_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** An API key split into its id (looked up) and secret (hashed and compared); undefined when it is not one. */
export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(token);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

/**
 * sha256 of the secret. No pepper and no slow hash: the secret is 256 random bits, so a leaked hash cannot be
 * brute-forced whatever the hash costs, and a plain hash needs no server-side secret that replicas must share.
 */
export function secretSha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, stored: Buffer): boolean {
  const presented = secretSha256(secret);
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** A stored key as authentication and the admin routes read it (never its hash). */
export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  name: string;
  role: Role;
  platformAdmin: boolean;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  /**
   * When it stops (or stopped) working by revocation. In the future while a rotation's grace period runs (the key
   * still works until then; `replacedBy` names its successor).
   */
  revokedAt: string | null;
  /**
   * Who revoked or rotated it, from its latest `revoked` or `rotated` audit event (null: neither, or revoked before
   * keys were audited).
   */
  revokedBy: string | null;
  /** The key that replaced it when it was rotated (rotateApiKey), else null. */
  replacedBy: string | null;
  lastUsedAt: string | null;
}

/**
 * The audit trail's entity type for keys: events `created`, `revoked`, `rotated` (on the old key: its successor and
 * grace in the details) and `updated` (role or name: before and after), entity id the key id.
 */
export const API_KEY_ENTITY = 'api_key';

export interface NewApiKey {
  tenantId: string;
  name: string;
  role: Role;
  platformAdmin?: boolean;
  /** The principal creating it (`key:<id>`, `sso:<subject>`, or `bootstrap`): the `created` event's actor too. */
  createdBy: string;
  /** The creator's tenant when it is not the key's (a platform admin creating a tenant): in the event's details. */
  createdFromTenant?: string;
  expiresAt?: Date;
  /** The key this one replaces (a rotation): in the `created` event's details. */
  rotatedFrom?: string;
}

/** A row of api_keys as queried (db/api-key-lifecycle.ts reads them too). */
export interface ApiKeyRow {
  key_id: string;
  tenant_id: string;
  name: string;
  role: Role;
  platform_admin: boolean;
  secret_sha256: Buffer;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
  last_used_at: Date | null;
  /** Only where the query joins the audit trail. */
  revoked_by?: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The record of a row (never its hash). */
export function record(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    tenantId: row.tenant_id,
    name: row.name,
    role: row.role,
    platformAdmin: row.platform_admin,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    revokedBy: row.revoked_by ?? null,
    replacedBy: row.replaced_by,
    lastUsedAt: iso(row.last_used_at),
  };
}

/**
 * Creates a key and its `created` audit event in one statement (both or neither): the answer's `key` is the only time
 * its secret exists outside the caller.
 */
export async function createApiKey(db: Queryable, input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const details = {
    name: input.name,
    role: input.role,
    platformAdmin: input.platformAdmin ?? false,
    expiresAt: input.expiresAt?.toISOString() ?? null,
    ...(input.createdFromTenant !== undefined ? { actorTenantId: input.createdFromTenant } : {}),
    ...(input.rotatedFrom !== undefined ? { rotatedFrom: input.rotatedFrom } : {}),
  };
  const { rows } = await db.query<ApiKeyRow>(
    `WITH created AS (
       INSERT INTO api_keys (key_id, tenant_id, name, role, platform_admin, secret_sha256, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT tenant_id, '${API_KEY_ENTITY}', key_id, 'created', created_by, $9 FROM created
     )
     SELECT * FROM created`,
    [
      keyId,
      input.tenantId,
      input.name,
      input.role,
      input.platformAdmin ?? false,
      secretSha256(secret),
      input.createdBy,
      input.expiresAt ?? null,
      JSON.stringify(details),
    ],
  );
  return { key: `kiln_${keyId}_${secret}`, record: record(rows[0]!) };
}

/**
 * The key with this id, its stored hash and whether its tenant is disabled (tenants.disabled_at, read in the same
 * primary-key lookup), for authentication (any tenant: the key names its tenant).
 */
export async function findApiKeyForAuth(
  pool: Pick<Pool, 'query'>,
  keyId: string,
): Promise<{ record: ApiKeyRecord; secretSha256: Buffer; tenantDisabled: boolean } | undefined> {
  const { rows } = await pool.query<ApiKeyRow & { tenant_disabled: boolean }>(
    `SELECT k.*, t.disabled_at IS NOT NULL AS tenant_disabled
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_id = $1`,
    [keyId],
  );
  const row = rows[0];
  return row
    ? { record: record(row), secretSha256: row.secret_sha256, tenantDisabled: row.tenant_disabled }
    : undefined;
}

/**
 * A tenant's keys, oldest first, at most `limit`, revoked and expired ones included (never a hash), each with who
 * revoked it (its latest `revoked` audit event).
 */
export async function listApiKeys(db: Queryable, tenantId: string, limit: number): Promise<ApiKeyRecord[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT k.*, r.actor AS revoked_by FROM api_keys k
     LEFT JOIN LATERAL (
       SELECT actor FROM audit_events e
       WHERE e.tenant_id = k.tenant_id AND e.entity_type = '${API_KEY_ENTITY}' AND e.entity_id = k.key_id
         AND e.action IN ('revoked', 'rotated')
       ORDER BY e.id DESC LIMIT 1
     ) r ON true
     WHERE k.tenant_id = $1 ORDER BY k.created_at, k.key_id LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map(record);
}

/**
 * Whether a usable `key` going away (revoked, or rotated without grace) would take the last way in: `last_platform_admin`
 * when it is a platform-admin key and no other usable one without an expiry remains, `last_tenant_admin` when it is
 * an admin key and its tenant keeps no other way in as admin (db/tenant-admins.ts tenantAdminRemains, SSO members
 * counted for `ssoIssuer`); else undefined. Takes PLATFORM_ADMIN_LOCK, then the tenant's admin lock, in that order
 * (after the key's row lock), and holds them to the end of the transaction: `db` must be a transaction's client and
 * the change must follow in it.
 */
export async function lastWayInLost(
  db: Queryable,
  key: Pick<ApiKeyRow, 'key_id' | 'tenant_id' | 'role' | 'platform_admin'>,
  ssoIssuer: string | undefined,
): Promise<'last_platform_admin' | 'last_tenant_admin' | undefined> {
  if (key.platform_admin) {
    await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [PLATFORM_ADMIN_LOCK]);
    if (!(await platformAdminKeyExists(db, key.key_id, { permanent: true }))) return 'last_platform_admin';
  }
  if (key.role === 'admin') {
    await lockTenantAdmins(db, key.tenant_id);
    if (!(await tenantAdminRemains(db, key.tenant_id, { keyId: key.key_id }, ssoIssuer))) return 'last_tenant_admin';
  }
  return undefined;
}

/**
 * What revokeApiKey did: `revoked` (now, or already before: then no new event), `not_found` (the tenant has no key
 * with this id), `platform_admin` (a platform-admin key and the caller is not one), `last_platform_admin` (revoking it
 * would leave no usable platform-admin key without an expiry: nobody to manage tenants, now or once the expiring ones
 * expire), `last_tenant_admin` (a usable admin key whose revocation would leave its tenant no way in as admin:
 * db/tenant-admins.ts tenantAdminRemains).
 */
export type RevokeOutcome =
  | { outcome: 'revoked'; record: ApiKeyRecord }
  | { outcome: 'not_found' | 'platform_admin' | 'last_platform_admin' | 'last_tenant_admin' };

/**
 * The advisory lock (pg_advisory_xact_lock's bigint) serialising revocations of platform-admin keys and disabling of
 * tenants across replicas, so that two admins revoking the last two keys (or disabling the tenants holding them) at
 * once cannot both succeed. 'kiln' then 'padm'.
 */
export const PLATFORM_ADMIN_LOCK = '7739836656005277037';

/**
 * Revokes a tenant's key (sets revoked_at and writes a `revoked` audit event with `actor`; revoking again keeps the
 * first time and writes nothing; a rotated key still in its grace period is revoked now). Another tenant's key is not
 * found, whoever asks. A platform-admin key needs a platform-admin caller, and a usable one is revoked only while
 * another usable one without an expiry remains in an enabled tenant (an expiring key would lock the platform out when
 * it expires). Likewise a usable admin key is revoked only while its tenant keeps another admin key without an expiry or
 * an admin SSO member of `ssoIssuer` where SSO is on (under the tenant's admin lock, db/tenant-admins.ts). `db` must be a transaction's client (the
 * checks and the change hold the locks together).
 */
export async function revokeApiKey(
  db: Queryable,
  caller: { tenantId: string; id: string; platformAdmin: boolean },
  keyId: string,
  ssoIssuer: string | undefined,
): Promise<RevokeOutcome> {
  const { rows: found } = await db.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE tenant_id = $1 AND key_id = $2 FOR UPDATE',
    [caller.tenantId, keyId],
  );
  const key = found[0];
  if (!key) return { outcome: 'not_found' };
  if (key.platform_admin && !caller.platformAdmin) return { outcome: 'platform_admin' };
  if (usableAt(key, Date.now())) {
    const lost = await lastWayInLost(db, key, ssoIssuer);
    if (lost) return { outcome: lost };
  }
  const { rows } = await db.query<ApiKeyRow>(
    `WITH revoked AS (
       UPDATE api_keys SET revoked_at = now()
       WHERE tenant_id = $1 AND key_id = $2 AND (revoked_at IS NULL OR revoked_at > now()) RETURNING *
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT tenant_id, '${API_KEY_ENTITY}', key_id, 'revoked', $3, '{}' FROM revoked
     )
     SELECT * FROM revoked`,
    [caller.tenantId, keyId, caller.id],
  );
  return { outcome: 'revoked', record: record(rows[0] ? { ...rows[0], revoked_by: caller.id } : key) };
}

/**
 * True when the key works at `nowMs` (epoch milliseconds): not revoked by then (a rotated key works until its grace
 * period ends) and not expired.
 */
export function usableAt(key: Pick<ApiKeyRow, 'revoked_at' | 'expires_at'>, nowMs: number): boolean {
  return (
    (key.revoked_at === null || key.revoked_at.getTime() > nowMs) &&
    (key.expires_at === null || key.expires_at.getTime() > nowMs)
  );
}

/** Records that a key was just used (the gate calls it at most once a minute per key). */
export async function touchApiKey(pool: Pick<Pool, 'query'>, tenantId: string, keyId: string): Promise<void> {
  await pool.query('UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND key_id = $2', [tenantId, keyId]);
}

/**
 * True when some platform-admin key of an enabled tenant is usable (neither revoked nor expired), `except` this key id
 * when given; `permanent`: only a key with neither an expiry nor a pending revocation (a rotation's grace) counts;
 * `exceptTenant`: keys of that tenant do not count (it is about to be disabled).
 */
export async function platformAdminKeyExists(
  db: Queryable,
  except?: string,
  options: { permanent?: boolean; exceptTenant?: string } = {},
): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
     WHERE k.platform_admin AND t.disabled_at IS NULL AND t.id IS DISTINCT FROM $3
       AND (k.revoked_at IS NULL OR (NOT $2 AND k.revoked_at > now()))
       AND (k.expires_at IS NULL OR (NOT $2 AND k.expires_at > now()))
       AND k.key_id IS DISTINCT FROM $1 LIMIT 1`,
    [except ?? null, options.permanent ?? false, options.exceptTenant ?? null],
  );
  return rows.length > 0;
}
