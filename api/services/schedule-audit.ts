import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { AuditEntry, insertAuditEvent, listAuditEvents } from '../../db/audit';
import { describeOr404, runSecond } from './schedule-handle';
import type { ScheduleDeps } from './schedule-handle';

/**
 * The audit trail of schedules (issue 12: every schedule event records the principal that caused it). Temporal holds
 * the schedules, so the API writes an `audit_events` row (entity_type `schedule`, entity_id the schedule id) once a
 * change has taken effect; the trail outlives a deleted schedule.
 */

/** What a schedule event says happened. */
export type ScheduleEventAction = 'create' | 'update' | 'pause' | 'unpause' | 'trigger' | 'backfill' | 'delete';

/** The actions that define what a schedule runs (each names who made its runs what they are from then on). */
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

/** Events read per query while walking a schedule's trail. */
const TRAIL_PAGE = 500;

/**
 * The principals besides its definer that started run `jobId` of schedule `scheduleId`, from the schedule's trail:
 * whoever triggered it (the `trigger` event names the run's job id), and whoever backfilled a window holding its
 * nominal second (a backfill's runs are not named one by one; a scheduled run of a second in that window counts too,
 * which only ever refuses a decision). With `definers`, also every principal that ever created or updated the schedule:
 * for a run whose memo does not name its definer (started before runs carried one), any of them may have been it.
 */
export async function scheduleRunStarters(
  pool: Pool,
  tenantId: string,
  scheduleId: string,
  jobId: string,
  definers: boolean,
): Promise<Set<string>> {
  const second = runSecond(jobId);
  const starters = new Set<string>();
  for (let after = 0; ;) {
    const page = await listAuditEvents(pool, tenantId, 'schedule', scheduleId, after, TRAIL_PAGE);
    for (const event of page) {
      const d = event.details;
      if (event.action === 'trigger' && d.jobId === jobId) starters.add(event.actor);
      else if (event.action === 'backfill' && second !== undefined && inWindow(second, d.start, d.end))
        starters.add(event.actor);
      else if (definers && (DEFINING_ACTIONS as readonly string[]).includes(event.action)) starters.add(event.actor);
    }
    if (page.length < TRAIL_PAGE) return starters;
    after = page[page.length - 1].id;
  }
}

/** Whether `t` (ms) lies in [start, end], both ISO times as a backfill event records them (inclusive, as Temporal). */
function inWindow(t: number, start: unknown, end: unknown): boolean {
  if (typeof start !== 'string' || typeof end !== 'string') return false;
  return Date.parse(start) <= t && t <= Date.parse(end);
}
