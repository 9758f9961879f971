import Router from '@koa/router';
import { Context } from 'koa';
import { ConflictError, ValidationError } from '../../common/errors';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { scheduleId } from '../schemas/schedules';
import { parseWith } from '../schemas/validate';
import {
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  previewSchedule,
  setPaused,
  triggerSchedule,
  updateSchedule,
} from '../services/schedules';
import { principalOf, requires } from '../auth/access';
import { eventsQuery } from '../schemas/models';
import { recordScheduleEvent, ScheduleEventAction, scheduleEvents } from '../services/schedule-audit';

/**
 * Recurring jobs on Temporal Schedules (services/schedules.ts). Bodies are limited like a pipeline's
 * (KILN_MAX_PIPELINE_BODY_BYTES): an action carries one job route's body, the pipeline's being the largest.
 */
export function schedulesRouter(deps: ApiDeps): Router {
  const router = new Router();
  const limit = deps.bodyLimits.maxPipelineBodyBytes;
  const idOf = (ctx: Context) => parseWith(scheduleId, ctx.params.id, 'id');
  const tenantOf = (ctx: Context) => principalOf(ctx).tenantId;
  // Every body is a JSON object: `null`, an array or a number is a 400 naming `body`, on every route alike.
  const objectBody = async (ctx: Context) => {
    const body = await readJsonBody(ctx, limit);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new ValidationError(
        `body: must be a JSON object, got ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`,
        'body',
      );
    return body;
  };
  // pause, unpause and trigger take an optional body: none at all (no bytes) is the empty object.
  const optionalBody = async (ctx: Context) =>
    ctx.request.length || ctx.get('transfer-encoding') ? objectBody(ctx) : {};
  // Every change is audited with the caller once it has taken effect (services/schedule-audit.ts).
  const audit = (ctx: Context, id: string, action: ScheduleEventAction, details?: Record<string, unknown>) =>
    recordScheduleEvent(deps.pool, principalOf(ctx), id, action, details);

  router.post('/schedules', requires('editor'), async (ctx) => {
    const view = await createSchedule(deps, tenantOf(ctx), await objectBody(ctx), principalOf(ctx));
    await audit(ctx, view.scheduleId, 'create', { action: { kind: view.action.kind }, spec: view.spec });
    ctx.status = 201;
    ctx.set('Location', view.links.self);
    ctx.body = view;
  });

  router.get('/schedules', requires('viewer'), async (ctx) => {
    ctx.body = await listSchedules(deps, tenantOf(ctx), ctx.query);
  });

  router.post('/schedules/preview', requires('viewer', 'read'), async (ctx) => {
    ctx.body = await previewSchedule(deps, await objectBody(ctx));
  });

  router.get('/schedules/:id', requires('viewer'), async (ctx) => {
    ctx.body = await describeSchedule(deps, tenantOf(ctx), idOf(ctx));
  });

  router.patch('/schedules/:id', requires('editor'), async (ctx) => {
    const id = idOf(ctx);
    const body = await objectBody(ctx);
    ctx.body = await updateSchedule(deps, tenantOf(ctx), id, body, principalOf(ctx));
    await audit(ctx, id, 'update', { fields: Object.keys(body) });
  });

  router.delete('/schedules/:id', requires('editor'), async (ctx) => {
    const id = idOf(ctx);
    await deleteSchedule(deps, tenantOf(ctx), id);
    await audit(ctx, id, 'delete');
    ctx.status = 204;
  });

  router.post('/schedules/:id/pause', requires('editor'), async (ctx) => {
    const id = idOf(ctx);
    const view = await setPaused(deps, tenantOf(ctx), id, true, await optionalBody(ctx));
    await audit(ctx, id, 'pause', { note: view.note });
    ctx.body = view;
  });

  router.post('/schedules/:id/unpause', requires('editor'), async (ctx) => {
    const id = idOf(ctx);
    const view = await setPaused(deps, tenantOf(ctx), id, false, await optionalBody(ctx));
    await audit(ctx, id, 'unpause', { note: view.note });
    ctx.body = view;
  });

  router.post('/schedules/:id/trigger', requires('operator', 'start'), async (ctx) => {
    const id = idOf(ctx);
    try {
      const view = await triggerSchedule(deps, tenantOf(ctx), id, await optionalBody(ctx), principalOf(ctx));
      await audit(ctx, id, 'trigger', { jobId: view.jobId, overlap: view.overlap });
      ctx.body = view;
    } catch (err) {
      // The collision lasts at most until the next second; a full queue drains at one trigger a second.
      if (err instanceof ConflictError && ['trigger_collision', 'trigger_queue_full'].includes(err.code))
        ctx.set('Retry-After', '1');
      throw err;
    }
    ctx.status = 202;
  });

  router.post('/schedules/:id/backfill', requires('editor', 'start'), async (ctx) => {
    const id = idOf(ctx);
    const view = await backfillSchedule(deps, tenantOf(ctx), id, await objectBody(ctx), principalOf(ctx));
    await audit(ctx, id, 'backfill', { start: view.start, end: view.end, runs: view.runs });
    ctx.status = 202;
    ctx.body = view;
  });

  router.get('/schedules/:id/events', requires('viewer'), async (ctx) => {
    const id = idOf(ctx);
    const { after, limit } = parseWith(eventsQuery, ctx.query, 'query');
    ctx.body = await scheduleEvents(deps, principalOf(ctx).tenantId, id, after, limit);
  });

  return router;
}
