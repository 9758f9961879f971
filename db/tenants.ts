import type { Pool } from 'pg';

/** Tenant ids: a lower-case letter, then 1 to 31 lower-case letters, digits or dashes (no dots: job ids use one). */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;

/** A tenant as the platform-admin routes show it. */
export interface TenantRecord {
  id: string;
  name: string;
  createdAt: string;
}

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
}

const record = (row: TenantRow): TenantRecord => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
});

/** The audit trail's entity type for tenants: event `created`, entity id (and tenant) the tenant's id. */
export const TENANT_ENTITY = 'tenant';

/**
 * Creates a tenant and its `created` audit event in one statement (actor: the creating principal's id, their tenant
 * in the details); undefined when the id is taken (the caller answers 409).
 */
export async function createTenant(
  pool: Pick<Pool, 'query'>,
  tenant: { id: string; name: string },
  actor: { id: string; tenantId: string },
): Promise<TenantRecord | undefined> {
  const { rows } = await pool.query<TenantRow>(
    `WITH created AS (
       INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, name, created_at
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT id, '${TENANT_ENTITY}', id, 'created', $3, $4 FROM created
     )
     SELECT * FROM created`,
    [tenant.id, tenant.name, actor.id, JSON.stringify({ name: tenant.name, actorTenantId: actor.tenantId })],
  );
  return rows[0] ? record(rows[0]) : undefined;
}

/** Every tenant, oldest first. */
export async function listTenants(pool: Pick<Pool, 'query'>): Promise<TenantRecord[]> {
  const { rows } = await pool.query<TenantRow>('SELECT id, name, created_at FROM tenants ORDER BY created_at, id');
  return rows.map(record);
}
