import { Client, ScheduleDescription, ScheduleHandle, ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { NotFoundError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { KilnTenant } from '../../common/search-attributes';
import { tenantOfJobId } from '../../common/job-tenant';
import { DEFAULT_TENANT } from '../../common/tenant';
import { scheduleAction } from '../schemas/schedules';
import { TemporalUi } from './accepted';
import type { ScheduleSpecRequest } from './schedule-spec';
import { ClusteringDeps } from './submit-clustering';

/**
 * A Kiln schedule as Temporal holds it: the handle, its description, and Kiln's memo, every Temporal call on it with a
 * schedule that is gone (deleted a moment ago, by another request too) answered as a 404 naming `id`.
 */

/** What the schedule routes read: the job submit dependencies, the Temporal client, where the UI is, a logger. */
export interface ScheduleDeps extends ClusteringDeps, TemporalUi {
  temporal: Client;
  log?: Logger;
}

type ScheduleAction = z.infer<typeof scheduleAction>;

/** Kiln's part of a schedule, in its action's memo (`schedule`), hence in every run's memo too. */
export interface ScheduleMemo {
  action: ScheduleAction;
  spec: ScheduleSpecRequest;
  description?: string;
  /**
   * The last few updates' ids (MAX_REVISIONS, oldest first): an update knows it landed when its id is here, since any
   * later update was built on a description that held it (services/schedules.ts updateSchedule).
   */
  revisions?: string[];
}

/** How many update ids a memo keeps. */
export const MAX_REVISIONS = 10;

/** A schedule's Kiln memo, or undefined for a schedule Kiln did not create. */
export function kilnMemo(description: ScheduleDescription): ScheduleMemo | undefined {
  const memo = description.action.memo?.schedule as ScheduleMemo | undefined;
  return memo && typeof memo === 'object' && memo.action && memo.spec ? memo : undefined;
}

/** The 404 of an unknown schedule id. */
export function notFound(id: string): NotFoundError {
  return new NotFoundError('schedule', id, 'id');
}

/**
 * `work` (a Temporal call on schedule `id`), with a schedule that is not there (the SDK's ScheduleNotFoundError, or a
 * raw gRPC NOT_FOUND from the workflow service) as NotFoundError naming `id`: a request racing a DELETE gets a 404.
 */
export async function orNotFound<T>(id: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError || (err as { code?: number }).code === 5) throw notFound(id);
    throw err;
  }
}

/**
 * NotFoundError (field `id`) when schedule id `id` names a tenant other than `tenantId` by its prefix: for the routes
 * to check before anything else (a queue of another tenant's schedule included), answered as an unknown id is.
 */
export function checkScheduleTenant(tenantId: string, id: string): void {
  if (tenantOfJobId(id) !== tenantId) throw notFound(id);
}

/** A Kiln schedule read from Temporal. */
export interface KilnSchedule {
  handle: ScheduleHandle;
  description: ScheduleDescription;
  memo: ScheduleMemo;
}

/**
 * The handle and description of a Kiln schedule of `tenantId`; NotFoundError (field `id`) for an unknown id or someone
 * else's: an id whose tenant prefix (`T.`, common/job-tenant.ts) names another tenant before any call to Temporal, and
 * a schedule whose KilnTenant attribute is not `tenantId` (absent: the default tenant's) after it.
 */
export async function describeOr404(deps: ScheduleDeps, tenantId: string, id: string): Promise<KilnSchedule> {
  checkScheduleTenant(tenantId, id);
  const handle = deps.temporal.schedule.getHandle(id);
  const description = await orNotFound(id, handle.describe());
  const memo = kilnMemo(description);
  if (!memo || (description.typedSearchAttributes.get(KilnTenant) ?? DEFAULT_TENANT) !== tenantId) throw notFound(id);
  return { handle, description, memo };
}

const RUN_SECOND = /-([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)$/;

/**
 * The nominal second of a run a schedule started, ms since the epoch, from its workflow id (Temporal names each run
 * `<action's id>-<nominal time, RFC 3339, whole seconds>`, the time TemporalScheduledStartTime holds too); undefined
 * for an id without one.
 */
export function runSecond(workflowId: string): number | undefined {
  const m = RUN_SECOND.exec(workflowId);
  if (!m) return undefined;
  const t = Date.parse(m[1]);
  return Number.isNaN(t) ? undefined : t;
}
