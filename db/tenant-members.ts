import type { Pool } from 'pg';
import type { Role } from '../common/auth/roles';

/**
 * SSO members of tenants (table tenant_members, migration 0008): a verified token's subject `<issuer>|<sub>` has one
 * role in each tenant it is a member of. Every query but membershipsOf names its tenant.
 */
export interface TenantMember {
  tenantId: string;
  /** `<issuer>|<sub>` of the member's tokens. */
  subject: string;
  role: Role;
  /** The principal who last set the membership (`key:<id>`, `sso:<subject>`). */
  createdBy: string;
  createdAt: string;
}

interface MemberRow {
  tenant_id: string;
  subject: string;
  role: Role;
  created_by: string;
  created_at: Date;
}

function member(row: MemberRow): TenantMember {
  return {
    tenantId: row.tenant_id,
    subject: row.subject,
    role: row.role,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

/**
 * The tenants a subject is a member of, by tenant id, for authentication (across tenants: the token names no tenant
 * that could be trusted), each with whether the tenant is disabled (read in the same query). At most two (the caller
 * only needs to tell none, one and several apart, and to find one).
 */
export async function membershipsOf(
  pool: Pick<Pool, 'query'>,
  subject: string,
  tenantId?: string,
): Promise<Array<{ tenantId: string; role: Role; tenantDisabled: boolean }>> {
  const { rows } = await pool.query<{ tenant_id: string; role: Role; tenant_disabled: boolean }>(
    `SELECT m.tenant_id, m.role, t.disabled_at IS NOT NULL AS tenant_disabled
     FROM tenant_members m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.subject = $1 AND ($2::text IS NULL OR m.tenant_id = $2)
     ORDER BY m.tenant_id LIMIT 2`,
    [subject, tenantId ?? null],
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, role: row.role, tenantDisabled: row.tenant_disabled }));
}

/** The tenant's members, by subject. */
export async function listTenantMembers(pool: Pick<Pool, 'query'>, tenantId: string): Promise<TenantMember[]> {
  const { rows } = await pool.query<MemberRow>('SELECT * FROM tenant_members WHERE tenant_id = $1 ORDER BY subject', [
    tenantId,
  ]);
  return rows.map(member);
}

/**
 * Makes `subject` a member of the tenant with `role`, or changes its role (createdBy then names who changed it).
 * `created` tells the two apart.
 */
export async function putTenantMember(
  pool: Pick<Pool, 'query'>,
  tenantId: string,
  subject: string,
  role: Role,
  createdBy: string,
): Promise<{ member: TenantMember; created: boolean }> {
  // xmax = 0 only on a row this statement inserted (an updated row carries the updating transaction's id).
  const { rows } = await pool.query<MemberRow & { inserted: boolean }>(
    `INSERT INTO tenant_members (tenant_id, subject, role, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, subject) DO UPDATE SET role = EXCLUDED.role, created_by = EXCLUDED.created_by
     RETURNING *, (xmax = 0) AS inserted`,
    [tenantId, subject, role, createdBy],
  );
  const row = rows[0]!;
  return { member: member(row), created: row.inserted };
}

/**
 * Removes the membership and ends the subject's console sessions in the tenant (table sessions, in the same statement:
 * a removed member keeps no session row); false when there was no membership.
 */
export async function deleteTenantMember(
  pool: Pick<Pool, 'query'>,
  tenantId: string,
  subject: string,
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `WITH ended AS (DELETE FROM sessions WHERE tenant_id = $1 AND kind = 'sso' AND subject = $2)
     DELETE FROM tenant_members WHERE tenant_id = $1 AND subject = $2`,
    [tenantId, subject],
  );
  return (rowCount ?? 0) > 0;
}
