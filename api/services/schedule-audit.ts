import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { AuditEntry, insertAuditEvent, lastAuditEvent, listAuditEvents } from '../../db/audit';
import { describeOr404 } from './schedule-handle';
import type { ScheduleDeps } from './schedule-handle';

/**
 * The audit trail of schedules (issue 12: every schedule event records the principal that caused it). Temporal holds
 * the schedules, so the API writes an `audit_events` row (entity_type `schedule`, entity_id the schedule id) once a
 * change has taken effect; the trail outlives a deleted schedule.
 */

/** What a schedule event says happened. */
export type ScheduleEventAction = 'create' | 'update' | 'pause' | 'unpause' | 'trigger' | 'backfill' | 'delete';

/** The actions that define what a schedule runs (its last one names who made its runs what they are). */
const DEFINING_ACTIONS: readonly ScheduleEventAction[] = ['create', 'update'];

/** Records that `principal` did `action` to schedule `scheduleId`, in the principal's tenant. */
export async function recordScheduleEvent(
  pool: Pool,
  principal: Principal,
  scheduleId: string,
  action: ScheduleEventAction,
  details: Record<string, unknown> = {},
): Promise<void> {
  await insertAuditEvent(pool, {
    tenantId: principal.tenantId,
    entityType: 'schedule',
    entityId: scheduleId,
    action,
    actor: principal.id,
    details,
  });
}

/**
 * GET /api/v1/schedules/:id/events: the schedule's events after id `after`, oldest first, at most `limit`, with a
 * `next` link when the page is full. NotFoundError (field `id`) when the schedule neither exists nor has events.
 */
export async function scheduleEvents(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  after: number,
  limit: number,
): Promise<{ events: AuditEntry[]; links: { self: string; next?: string } }> {
  const events = await listAuditEvents(deps.pool, tenantId, 'schedule', id, after, limit);
  if (events.length === 0) {
    // No events (or none past `after`): known when it has a trail, or is a schedule from before the trail.
    const any = after === 0 ? [] : await listAuditEvents(deps.pool, tenantId, 'schedule', id, 0, 1);
    if (any.length === 0) await describeOr404(deps, tenantId, id);
  }
  const self = `/api/v1/schedules/${id}/events`;
  const last = events[events.length - 1];
  return {
    events,
    links: { self, ...(events.length === limit && last ? { next: `${self}?after=${last.id}&limit=${limit}` } : {}) },
  };
}

/**
 * Who last defined what schedule `scheduleId` runs (its create or latest update): the principal a run it started is
 * attributed to, e.g. for the rule that an approver never decides a pipeline they started. Undefined when the trail
 * has no such event (a schedule from before the trail).
 */
export async function scheduleDefinedBy(pool: Pool, tenantId: string, scheduleId: string): Promise<string | undefined> {
  return (await lastAuditEvent(pool, tenantId, 'schedule', scheduleId, DEFINING_ACTIONS))?.actor;
}
