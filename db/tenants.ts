import type { Pool } from 'pg';
import { PLATFORM_ADMIN_LOCK, platformAdminKeyExists } from './api-keys';
import type { Queryable } from './pool';

/** Tenant ids: a lower-case letter, then 1 to 31 lower-case letters, digits or dashes (no dots: job ids use one). */
export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;

/** A tenant as the platform-admin routes show it. */
export interface TenantRecord {
  id: string;
  name: string;
  createdAt: string;
  /** A disabled tenant's keys, sessions and SSO members are refused (403 tenant_disabled); its data stays. */
  disabled: boolean;
  /** Since when it is disabled; null when enabled. */
  disabledAt: string | null;
}

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
  disabled_at: Date | null;
}

const record = (row: TenantRow): TenantRecord => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at.toISOString(),
  disabled: row.disabled_at !== null,
  disabledAt: row.disabled_at ? row.disabled_at.toISOString() : null,
});

/**
 * The audit trail's entity type for tenants: events `created`, `disabled` and `enabled`, entity id (and tenant) the
 * tenant's id.
 */
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
       INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING
       RETURNING id, name, created_at, disabled_at
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
  const { rows } = await pool.query<TenantRow>(
    'SELECT id, name, created_at, disabled_at FROM tenants ORDER BY created_at, id',
  );
  return rows.map(record);
}

/**
 * What setTenantDisabled did: `updated` (`changed` false when the tenant already was in that state: no event), or why
 * not: `not_found`, `own_tenant` (a caller never disables its own tenant: it would lock itself out mid-request),
 * `last_platform_admin` (no usable platform-admin key without an expiry would remain in an enabled tenant: nobody could
 * enable it again).
 */
export type DisableOutcome =
  | { outcome: 'updated'; tenant: TenantRecord; changed: boolean }
  | { outcome: 'not_found' | 'own_tenant' | 'last_platform_admin' };

/**
 * Disables (`disabled` true) or enables a tenant and writes a `disabled` or `enabled` audit event in it with the
 * caller as actor (their tenant in the details). Disabling is refused for the caller's own tenant and when it would
 * leave no usable platform-admin key without an expiry in an enabled tenant; it holds the platform-admin lock that
 * revokeApiKey takes, so that revoking and disabling at once cannot together lock every platform admin out. The
 * tenant `default` follows the same rules (it may be disabled while another enabled tenant holds such a key). Data and
 * running jobs are left as they are. `db` must be a transaction's client.
 */
export async function setTenantDisabled(
  db: Queryable,
  caller: { id: string; tenantId: string },
  tenantId: string,
  disabled: boolean,
): Promise<DisableOutcome> {
  if (disabled) await db.query('SELECT pg_advisory_xact_lock($1::bigint)', [PLATFORM_ADMIN_LOCK]);
  const { rows: found } = await db.query<TenantRow>(
    'SELECT id, name, created_at, disabled_at FROM tenants WHERE id = $1 FOR UPDATE',
    [tenantId],
  );
  const tenant = found[0];
  if (!tenant) return { outcome: 'not_found' };
  if ((tenant.disabled_at !== null) === disabled) return { outcome: 'updated', tenant: record(tenant), changed: false };
  if (disabled) {
    if (tenantId === caller.tenantId) return { outcome: 'own_tenant' };
    if (!(await platformAdminKeyExists(db, undefined, { permanent: true, exceptTenant: tenantId }))) {
      return { outcome: 'last_platform_admin' };
    }
  }
  const { rows } = await db.query<TenantRow>(
    `WITH changed AS (
       UPDATE tenants SET disabled_at = CASE WHEN $2 THEN now() END WHERE id = $1
       RETURNING id, name, created_at, disabled_at
     ), event AS (
       INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       SELECT id, '${TENANT_ENTITY}', id, $3, $4, $5 FROM changed
     )
     SELECT * FROM changed`,
    [
      tenantId,
      disabled,
      disabled ? 'disabled' : 'enabled',
      caller.id,
      JSON.stringify({ actorTenantId: caller.tenantId }),
    ],
  );
  return { outcome: 'updated', tenant: record(rows[0]!), changed: true };
}
