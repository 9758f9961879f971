import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role } from '../common/auth/roles';

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
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface NewApiKey {
  tenantId: string;
  name: string;
  role: Role;
  platformAdmin?: boolean;
  /** The principal creating it (`key:<id>`, `sso:<subject>`, or `bootstrap`). */
  createdBy: string;
  expiresAt?: Date;
}

interface ApiKeyRow {
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
  last_used_at: Date | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function record(row: ApiKeyRow): ApiKeyRecord {
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
    lastUsedAt: iso(row.last_used_at),
  };
}

/** Creates a key: the answer's `key` is the only time its secret exists outside the caller. */
export async function createApiKey(
  pool: Pick<Pool, 'query'>,
  input: NewApiKey,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const { rows } = await pool.query<ApiKeyRow>(
    `INSERT INTO api_keys (key_id, tenant_id, name, role, platform_admin, secret_sha256, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [
      keyId,
      input.tenantId,
      input.name,
      input.role,
      input.platformAdmin ?? false,
      secretSha256(secret),
      input.createdBy,
      input.expiresAt ?? null,
    ],
  );
  return { key: `kiln_${keyId}_${secret}`, record: record(rows[0]!) };
}

/** The key with this id and its stored hash, for authentication (any tenant: the key names its tenant). */
export async function findApiKeyForAuth(
  pool: Pick<Pool, 'query'>,
  keyId: string,
): Promise<{ record: ApiKeyRecord; secretSha256: Buffer } | undefined> {
  const { rows } = await pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_id = $1', [keyId]);
  const row = rows[0];
  return row ? { record: record(row), secretSha256: row.secret_sha256 } : undefined;
}

/** A tenant's keys, oldest first, revoked and expired ones included (never a hash). */
export async function listApiKeys(pool: Pick<Pool, 'query'>, tenantId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await pool.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id',
    [tenantId],
  );
  return rows.map(record);
}

/**
 * Revokes a tenant's key (sets revoked_at; revoking again keeps the first time). Undefined when the tenant has no key
 * with this id (another tenant's key is not found, whoever asks).
 */
export async function revokeApiKey(
  pool: Pick<Pool, 'query'>,
  tenantId: string,
  keyId: string,
): Promise<ApiKeyRecord | undefined> {
  const { rows } = await pool.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
     WHERE tenant_id = $1 AND key_id = $2 RETURNING *`,
    [tenantId, keyId],
  );
  return rows[0] ? record(rows[0]) : undefined;
}

/** Records that a key was just used (the gate calls it at most once a minute per key). */
export async function touchApiKey(pool: Pick<Pool, 'query'>, tenantId: string, keyId: string): Promise<void> {
  await pool.query('UPDATE api_keys SET last_used_at = now() WHERE tenant_id = $1 AND key_id = $2', [tenantId, keyId]);
}

/** True when some platform-admin key is usable (neither revoked nor expired). */
export async function platformAdminKeyExists(pool: Pick<Pool, 'query'>): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT 1 FROM api_keys
     WHERE platform_admin AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
  );
  return rows.length > 0;
}
