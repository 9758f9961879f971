import type { Client } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import { KilnTenant } from '../../common/search-attributes';

/**
 * The note a schedule is paused with when its tenant is disabled. Enabling the tenant unpauses exactly the schedules
 * that still carry it: one paused by its owners before (another note) stays paused, and one unpaused or re-paused by
 * hand since (its note replaced) is left as it is.
 */
export const TENANT_DISABLED_PAUSE_NOTE = 'Paused by Kiln: the tenant was disabled';

/** The note left on the schedules enabling the tenant unpauses. */
export const TENANT_ENABLED_UNPAUSE_NOTE = 'Unpaused by Kiln: the tenant was enabled again';

/**
 * Pauses (`paused` true) every running schedule of `tenantId`, or unpauses (false) those its disabling paused
 * (TENANT_DISABLED_PAUSE_NOTE), as Temporal's visibility lists them (KilnTenant; eventually consistent: a schedule
 * created a moment before may be missed, and a repeat of the request takes it). A scheduled run only ever starts
 * through Temporal, never through the API's access gate, so a disabled tenant's schedules would go on firing without
 * this; nobody outside the tenant may pause them (another tenant's schedule is a 404). Runs already started are left
 * alone, as the tenant's other running jobs. Answers how many schedules it changed; a schedule deleted meanwhile is
 * skipped. Temporal errors propagate (the caller answers 503; the tenant's flag is already set and a repeat finishes).
 */
export async function setTenantSchedulesPaused(temporal: Client, tenantId: string, paused: boolean): Promise<number> {
  // The tenant id matches ^[a-z][a-z0-9-]{1,31}$ (no quote) before it reaches here.
  const query = `${KilnTenant.name} = '${tenantId}' AND TemporalSchedulePaused = ${paused ? 'false' : 'true'}`;
  let changed = 0;
  for await (const summary of temporal.schedule.list({ query })) {
    const handle = temporal.schedule.getHandle(summary.scheduleId);
    try {
      if (paused) {
        await handle.pause(TENANT_DISABLED_PAUSE_NOTE);
      } else {
        // The list's note may lag; the schedule's own description decides.
        const { state } = await handle.describe();
        if (!state.paused || state.note !== TENANT_DISABLED_PAUSE_NOTE) continue;
        await handle.unpause(TENANT_ENABLED_UNPAUSE_NOTE);
      }
      changed++;
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return changed;
}
