import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role } from '../common/auth/roles';

/**
 * Console sessions (table sessions, migration 0009). A session id is 32 random bytes as base64url (43 characters): the
 * value of the `kiln_session` cookie, never stored. The table holds sha256 of it (no pepper, no slow hash: 256 random
 * bits cannot be brute-forced from a leaked hash, as for API key secrets in db/api-keys.ts).
 */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** True when `value` is shaped like a session id (a malformed cookie is refused before any query). */
export function isSessionId(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

/** sha256 of a session id: the table's key. */
export function sessionIdSha256(sessionId: string): Buffer {
  return createHash('sha256').update(sessionId, 'utf8').digest();
}

/**
 * Who a session acts for: an API key (its role and state are the key's, read on every request), or an SSO subject
 * `<issuer>|<sub>` with the role its membership had at sign-in (a record only: api/auth/session-store.ts reads the
 * membership's role on every request).
 */
export type SessionOwner = { kind: 'key'; keyId: string } | { kind: 'sso'; subject: string; role: Role };

export interface SessionRecord {
  tenantId: string;
  owner: SessionOwner;
  createdAt: string;
  expiresAt: string;
  /** expires_at is past, by the database's clock. */
  expired: boolean;
}

export interface NewSession {
  tenantId: string;
  owner: SessionOwner;
  expiresAt: Date;
}

interface SessionRow {
  tenant_id: string;
  kind: 'key' | 'sso';
  key_id: string | null;
  subject: string | null;
  role: Role | null;
  created_at: Date;
  expires_at: Date;
  expired: boolean;
}

function record(row: SessionRow): SessionRecord {
  return {
    tenantId: row.tenant_id,
    owner:
      row.kind === 'key'
        ? { kind: 'key', keyId: row.key_id! }
        : { kind: 'sso', subject: row.subject!, role: row.role! },
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    expired: row.expired,
  };
}

/**
 * Opens a session; the answer's `sessionId` is the only time the id exists outside the caller (it goes into the
 * cookie). Sweeps the tenant's sessions that expired more than a day ago on the way, so that the table holds roughly
 * the sessions of the last day, without a job of its own.
 */
export async function createSession(
  pool: Pick<Pool, 'query'>,
  input: NewSession,
): Promise<{ sessionId: string; record: SessionRecord }> {
  await pool.query(`DELETE FROM sessions WHERE tenant_id = $1 AND expires_at < now() - interval '1 day'`, [
    input.tenantId,
  ]);
  const sessionId = randomBytes(32).toString('base64url');
  const { owner } = input;
  const { rows } = await pool.query<SessionRow>(
    `INSERT INTO sessions (id_sha256, tenant_id, kind, key_id, subject, role, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *, expires_at <= now() AS expired`,
    [
      sessionIdSha256(sessionId),
      input.tenantId,
      owner.kind,
      owner.kind === 'key' ? owner.keyId : null,
      owner.kind === 'sso' ? owner.subject : null,
      owner.kind === 'sso' ? owner.role : null,
      input.expiresAt,
    ],
  );
  return { sessionId, record: record(rows[0]!) };
}

/**
 * The session with this id, expired or not (`expired` says), for authentication: any tenant, since the session names
 * its tenant. Undefined for an id never issued or signed out.
 */
export async function findSessionForAuth(
  pool: Pick<Pool, 'query'>,
  sessionId: string,
): Promise<SessionRecord | undefined> {
  const { rows } = await pool.query<SessionRow>(
    'SELECT *, expires_at <= now() AS expired FROM sessions WHERE id_sha256 = $1',
    [sessionIdSha256(sessionId)],
  );
  return rows[0] ? record(rows[0]) : undefined;
}

/** Deletes a tenant's session (signing out); false when the tenant has no session with this id. */
export async function deleteSession(pool: Pick<Pool, 'query'>, tenantId: string, sessionId: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM sessions WHERE tenant_id = $1 AND id_sha256 = $2', [
    tenantId,
    sessionIdSha256(sessionId),
  ]);
  return (rowCount ?? 0) > 0;
}
