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

/** Creates a tenant; undefined when the id is taken (the caller answers 409). */
export async function createTenant(
  pool: Pick<Pool, 'query'>,
  tenant: { id: string; name: string },
): Promise<TenantRecord | undefined> {
  const { rows } = await pool.query<TenantRow>(
    'INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id, name, created_at',
    [tenant.id, tenant.name],
  );
  return rows[0] ? record(rows[0]) : undefined;
}

/** Every tenant, oldest first. */
export async function listTenants(pool: Pick<Pool, 'query'>): Promise<TenantRecord[]> {
  const { rows } = await pool.query<TenantRow>('SELECT id, name, created_at FROM tenants ORDER BY created_at, id');
  return rows.map(record);
}
