import type { Queryable } from './pool';

/**
 * The audit trail of entities that live outside Postgres (Temporal holds schedules): rows of `audit_events` keyed by
 * (tenant, entity type, entity id), written by the API after the change took effect. The registry writes its own
 * events inside its transactions (db/models.ts, db/registry.ts, db/promotion.ts).
 */

export interface AuditRecord {
  tenantId: string;
  /** `schedule`, ... (`model` is the registry's). */
  entityType: string;
  entityId: string;
  /** What happened: `create`, `update`, `pause`, ... */
  action: string;
  /** The principal id that caused it (`key:<keyId>`, `sso:<issuer>|<sub>`). */
  actor: string;
  details?: Record<string, unknown>;
}

/** One audit event as the API lists it. */
export interface AuditEntry {
  /** Increasing over all events (a bigserial, read as a number: exact below 2^53). */
  id: number;
  action: string;
  actor: string;
  details: Record<string, unknown>;
  createdAt: string;
}

/** Appends an event. */
export async function insertAuditEvent(db: Queryable, record: AuditRecord): Promise<void> {
  await db.query(
    `INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details) VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      record.tenantId,
      record.entityType,
      record.entityId,
      record.action,
      record.actor,
      JSON.stringify(record.details ?? {}),
    ],
  );
}

/** An entity's events with an id above `after`, oldest first, at most `limit`. */
export async function listAuditEvents(
  db: Queryable,
  tenantId: string,
  entityType: string,
  entityId: string,
  after: number,
  limit: number,
): Promise<AuditEntry[]> {
  const { rows } = await db.query<AuditEntry>(
    `SELECT id::float8 AS id, action, actor, details, created_at AS "createdAt" FROM audit_events
     WHERE tenant_id = $1 AND entity_type = $2 AND entity_id = $3 AND id > $4 ORDER BY id LIMIT $5`,
    [tenantId, entityType, entityId, after, limit],
  );
  return rows;
}

/** The most recent event of an entity among `actions`, or undefined. */
export async function lastAuditEvent(
  db: Queryable,
  tenantId: string,
  entityType: string,
  entityId: string,
  actions: readonly string[],
): Promise<AuditEntry | undefined> {
  const { rows } = await db.query<AuditEntry>(
    `SELECT id::float8 AS id, action, actor, details, created_at AS "createdAt" FROM audit_events
     WHERE tenant_id = $1 AND entity_type = $2 AND entity_id = $3 AND action = ANY($4::text[]) ORDER BY id DESC LIMIT 1`,
    [tenantId, entityType, entityId, actions],
  );
  return rows[0];
}
