import { createHash, randomUUID } from 'node:crypto';
import { ScheduleAlreadyRunning, ScheduleOptionsStartWorkflowAction, ScheduleUpdateOptions } from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { z } from 'zod';
import type { Principal } from '../../common/auth/principal';
import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  prefixField,
  ValidationError,
  withField,
} from '../../common/errors';
import { DstWarning, dstWarnings } from '../../common/schedule/dst-warnings';
import { formatDurationMs } from '../../common/schedule/duration';
import { fixedOffsetWarning, formatLocal } from '../../common/schedule/time-zone';
import { KilnAlgorithm, KilnKind, KilnModelName, KilnTenant } from '../../common/search-attributes';
import { tenantIdPrefix } from '../../common/job-tenant';
import {
  backfillRequest,
  createScheduleRequest,
  listSchedulesQuery,
  pauseRequest,
  previewRequest,
  SCHEDULE_LIMITS,
  ScheduleActionKind,
  scheduleAction,
  updateScheduleRequest,
} from '../schemas/schedules';
import { parseWith } from '../schemas/validate';
import { jobLinks } from './accepted';
import { checkWorkflowStartSize, JobStatus } from './jobs';
import AsyncLock from 'async-lock';
import { checkScheduleCaller, ScheduleCaller, scheduleJobLimitDeps } from './schedule-caller';
import { updateScheduleIfUnchanged } from './schedule-conflict-update';
import { temporalFireTimes } from './schedule-fire-times';
import {
  checkScheduleTenant,
  describeOr404,
  KilnSchedule,
  MAX_REVISIONS,
  orNotFound,
  runSecond,
  ScheduleDeps,
  ScheduleMemo,
} from './schedule-handle';
import { apiOverlap, compilePolicy, CompiledSpec, compileSpec, temporalOverlap } from './schedule-spec';
import { prepareClustering } from './submit-clustering';
import { prepareBatchPredict } from './submit-batch-predict';
import { PreparedJob } from './submit-job';
import {
  checkPromotionStarter,
  prepareFullPipeline,
  prepareValidationPipeline,
  type PromotionFacts,
} from './submit-pipeline';
import { prepareTraining } from './submit-training';
import { reserveTenantJobSlots } from './tenant-job-limit';

export type { ScheduleDeps, ScheduleMemo } from './schedule-handle';
export { triggerSchedule } from './schedule-trigger';

/**
 * Kiln's recurring jobs on Temporal Schedules: the schedule is Temporal's (durable, on the Temporal UI's Schedules
 * page, surviving restarts), and every run is an ordinary job, the same workflow with the same validated input that
 * the kind's own POST route would start. What Kiln needs beyond Temporal's own description (the request as given, the
 * spec as written, the description) travels in the action's memo under `schedule`, so there is one source of truth.
 * Triggers are in schedule-trigger.ts.
 */

type ScheduleAction = z.infer<typeof scheduleAction>;

/**
 * Who creates or updates a schedule: the principal its runs are attributed to while the definition stands (each run's
 * memo `startedBy`, so an approver never decides a run of a schedule they defined), and whose role the action is
 * checked against (a full pipeline moving a protected alias without approval: an approver's only), since scheduled
 * runs start without a caller.
 */
export type ScheduleDefiner = Pick<Principal, 'id' | 'role'>;

/**
 * Validates the action's request with its route's own prepare half (services/submit-*.ts) and builds the start,
 * touching nothing; its errors name fields from the schedule request (`action.request.params.k`, `action.model`).
 * Inline clustering data is refused: a schedule runs on stored data.
 */
async function prepareAction(
  deps: ScheduleDeps,
  tenantId: string,
  action: ScheduleAction,
  definer: ScheduleDefiner,
): Promise<PreparedJob> {
  if (action.model !== undefined && action.kind !== 'batch-predict')
    throw new ValidationError('action.model: only batch-predict actions name a model', 'action.model');
  try {
    switch (action.kind) {
      case 'clustering':
        return await prepareClustering(deps, tenantId, action.request, { inlineData: false });
      case 'training':
        return await prepareTraining(deps, tenantId, action.request);
      case 'pipeline-validation':
        return await prepareValidationPipeline(deps, tenantId, action.request);
      case 'pipeline-full':
        return await prepareFullPipeline(deps, tenantId, action.request, definer);
      case 'batch-predict':
        if (action.model === undefined)
          throw new ValidationError(
            'action.model: required for batch-predict (the model of POST /api/v1/models/{name}/batch-predict)',
            'action.model',
          );
        return await prepareBatchPredict(deps, tenantId, action.model, action.request);
    }
  } catch (err) {
    // A dependency down is about no field of the request.
    if (!(err instanceof DomainError) || err instanceof DependencyUnavailableError || err.field?.startsWith('action.'))
      throw err;
    // The model named in the route's path is the action's `model`.
    if (action.kind === 'batch-predict' && err.field === 'name') throw withField(err, 'action.model');
    throw prefixField(err, 'action.request');
  }
}

/**
 * The id the runs of a schedule's action start from (`<base>-<scheduled time>`): `<idPrefix>-<uuid>` with the
 * tenant's prefix (common/job-tenant.ts), so every run is a job id of the schedule's tenant.
 */
function runIdBase(prepared: PreparedJob): string {
  return `${tenantIdPrefix(prepared.attributes.tenantId)}${prepared.idPrefix}-${randomUUID()}`;
}

/**
 * The action Temporal stores: the prepared job's start, its run ids `<base>-<scheduled time>`, Kiln's memo and the
 * definer as `startedBy` (what a job route records of its caller). PayloadTooLargeError when its input and memo exceed
 * the bound every workflow start keeps (MAX_WORKFLOW_START_BYTES): each run starts with exactly these.
 */
function scheduleActionOf(
  deps: ScheduleDeps,
  prepared: PreparedJob,
  workflowIdBase: string,
  memo: ScheduleMemo,
  definer: ScheduleDefiner,
): ScheduleOptionsStartWorkflowAction<Workflow> {
  const { workflowType, ...options } = deps.jobs.startOptions(prepared);
  const runMemo = { ...options.memo, startedBy: definer.id, schedule: memo };
  checkWorkflowStartSize(prepared.kind, prepared.input, runMemo);
  return {
    type: 'startWorkflow',
    workflowType,
    workflowId: workflowIdBase,
    ...options,
    memo: runMemo,
  };
}

/** The schedule's own search attributes: whose it is and what it runs (the Temporal UI and the list filter on them). */
function scheduleAttributes(prepared: PreparedJob): SearchAttributePair[] {
  const a = prepared.attributes;
  return [
    { key: KilnTenant, value: a.tenantId },
    { key: KilnKind, value: a.kind },
    ...(a.algorithm ? [{ key: KilnAlgorithm, value: a.algorithm }] : []),
    ...(a.modelName ? [{ key: KilnModelName, value: a.modelName }] : []),
  ];
}

/** The action kind of a schedule from its search attributes (the list has no memo). */
function actionKindOf(kind: string | undefined, algorithm: string | undefined): ScheduleActionKind | undefined {
  if (kind === 'pipeline') return algorithm === 'full' ? 'pipeline-full' : 'pipeline-validation';
  return kind === 'clustering' || kind === 'training' || kind === 'batch-predict' ? kind : undefined;
}

/** Temporal refusing a spec Kiln's own checks let through: a 400 about the spec rather than a 500. */
function specRefused(err: unknown): unknown {
  if (err instanceof TypeError || (err as { code?: number }).code === 3)
    return new ValidationError(`spec: Temporal refused it: ${(err as Error).message}`, 'spec');
  return err;
}

/** A run of a schedule: its job, its nominal second and when it started, its status now. */
export interface ScheduleRunView {
  jobId: string;
  /** The run's nominal second (ISO): the one its job id and GET /api/v1/jobs carry (a trigger's: when Temporal took it). */
  scheduledTime: string;
  startedAt: string;
  status: JobStatus | 'UNKNOWN';
  links: ReturnType<typeof jobLinks> & { temporalUi?: string };
}

/** A fire time in UTC and in the schedule's zone. */
export interface FireTimeView {
  utc: string;
  local: string;
}

function timesIn(zone: string, times: Date[]): FireTimeView[] {
  return times.map((t) => ({ utc: t.toISOString(), local: formatLocal(zone, t.getTime()) }));
}

/**
 * Something a client should know about a spec that Kiln accepts: a DST gap or repeat (dst-warnings.ts), a spec that
 * never fires (`never-fires`), a zone that is a fixed offset (`fixed-offset-zone`).
 */
export type ScheduleWarning = DstWarning | { kind: 'never-fires' | 'fixed-offset-zone'; message: string };

/** The warning for a zone that is a fixed offset (EST, Etc/GMT+3), if the spec names one. */
function zoneWarnings(spec: CompiledSpec): ScheduleWarning[] {
  const message = spec.temporal.timezone ? fixedOffsetWarning(spec.fire.timezone) : undefined;
  return message ? [{ kind: 'fixed-offset-zone', message }] : [];
}

/** The warning for a spec with no fire time after `after` (ms). */
function neverFires(after: number, spec: CompiledSpec): ScheduleWarning {
  const end =
    spec.fire.endAt && spec.fire.endAt.getTime() <= after
      ? ` (its endAt, ${spec.fire.endAt.toISOString()}, is past)`
      : '';
  return {
    kind: 'never-fires',
    message:
      `the spec has no fire time after ${new Date(after).toISOString()}${end}: the schedule starts no run unless ` +
      'triggered or backfilled',
  };
}

function scheduleLinks(deps: ScheduleDeps, id: string) {
  const self = `/api/v1/schedules/${id}`;
  return {
    self,
    pause: `${self}/pause`,
    unpause: `${self}/unpause`,
    trigger: `${self}/trigger`,
    backfill: `${self}/backfill`,
    runs: `/api/v1/jobs?scheduleId=${id}`,
    ...(deps.temporalUiUrl ? { temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/schedules/${id}` } : {}),
  };
}

/**
 * GET /api/v1/schedules/:id: the action (kind, model, the request as given), the spec as written, the policy, paused
 * and its note, the runs left (null: no limit), the next 10 fire times (Temporal's, jitter included) in UTC and in the
 * schedule's zone (none while paused: no run is due), the recent runs (newest first, at most Temporal's 10) with their
 * job ids, nominal seconds, status and links, and the counts of runs taken, skipped by the overlap policy and missed by
 * the catch-up window.
 */
export async function describeSchedule(deps: ScheduleDeps, tenantId: string, id: string) {
  return scheduleView(deps, await describeOr404(deps, tenantId, id));
}

async function scheduleView(deps: ScheduleDeps, { description: d, memo }: Pick<KilnSchedule, 'description' | 'memo'>) {
  const zone = memo.spec.timezone ?? 'UTC';
  const recent = [...d.info.recentActions].reverse();
  const statuses = await Promise.all(
    recent.map((r) => deps.jobs.statusOf(r.action.workflow.workflowId).catch(() => undefined)),
  );
  const runs: ScheduleRunView[] = recent.map((r, i) => ({
    jobId: r.action.workflow.workflowId,
    scheduledTime: new Date(runSecond(r.action.workflow.workflowId) ?? r.scheduledAt.getTime()).toISOString(),
    startedAt: r.takenAt.toISOString(),
    status: statuses[i] ?? 'UNKNOWN',
    links: {
      ...jobLinks(r.action.workflow.workflowId),
      ...(deps.temporalUiUrl
        ? { temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${r.action.workflow.workflowId}` }
        : {}),
    },
  }));
  return {
    scheduleId: d.scheduleId,
    ...(memo.description !== undefined ? { description: memo.description } : {}),
    action: memo.action,
    spec: memo.spec,
    policy: {
      overlap: apiOverlap(d.policies.overlap),
      catchupWindow: formatDurationMs(d.policies.catchupWindow),
      pauseOnFailure: d.policies.pauseOnFailure,
    },
    paused: d.state.paused,
    note: d.state.note ?? '',
    remainingRuns: d.state.remainingActions ?? null,
    timezone: zone,
    nextFireTimes: d.state.paused ? [] : timesIn(zone, d.info.nextActionTimes.slice(0, 10)),
    counts: {
      runs: d.info.numActionsTaken,
      skippedByOverlap: d.info.numActionsSkippedOverlap,
      missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    },
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recentRuns: runs,
    createdAt: d.info.createdAt.toISOString(),
    ...(d.info.lastUpdatedAt ? { updatedAt: d.info.lastUpdatedAt.toISOString() } : {}),
    links: scheduleLinks(deps, d.scheduleId),
  };
}

/** The answer of GET /api/v1/schedules/:id (and of pause, unpause). */
export type ScheduleView = Awaited<ReturnType<typeof describeSchedule>>;

/** The answer of create and PATCH: the schedule, and warnings about its spec when there are any. */
export type ScheduleChangeView = ScheduleView & { warnings?: ScheduleWarning[] };

/** The view with the spec's warnings: a fixed-offset zone, no fire time to come (with runs left to take). */
async function changedView(deps: ScheduleDeps, schedule: KilnSchedule): Promise<ScheduleChangeView> {
  const view = await scheduleView(deps, schedule);
  const spec = compileSpec(schedule.memo.spec);
  const d = schedule.description;
  const warnings = [
    ...zoneWarnings(spec),
    ...(d.info.nextActionTimes.length === 0 && d.state.remainingActions !== 0 ? [neverFires(Date.now(), spec)] : []),
  ];
  return warnings.length ? { ...view, warnings } : view;
}

/**
 * POST /api/v1/schedules: validates everything first (the spec, the policy, the action's request through its route's
 * own checks) and only then creates the Temporal schedule of `tenantId`: its id (the given one, else
 * `schedule-<uuid>`) and its runs' ids carry the tenant's prefix (`T.`; none for the default tenant), and it and its
 * runs carry KilnTenant. ConflictError (409, field `id`) for an id in use; ValidationError for a given id with a '.'.
 * The answer carries `warnings` for a spec that never fires or names a fixed-offset zone. `definer` (the caller) is
 * who its runs are attributed to (ScheduleDefiner).
 */
export async function createSchedule(
  deps: ScheduleDeps,
  tenantId: string,
  body: unknown,
  definer: ScheduleDefiner,
): Promise<ScheduleChangeView> {
  const request = parseWith(createScheduleRequest, body);
  // The part of an id before a '.' names its tenant (common/job-tenant.ts): a given id is one tenant's own name.
  if (request.id?.includes('.'))
    throw new ValidationError(
      "id: must not contain '.' (Kiln prefixes another tenant's schedule ids with '<tenant>.')",
      'id',
    );
  const spec = compileSpec(request.spec);
  const policies = compilePolicy(request.policy);
  const prepared = await prepareAction(deps, tenantId, request.action, definer);
  const id = `${tenantIdPrefix(tenantId)}${request.id ?? `schedule-${randomUUID()}`}`;
  const memo: ScheduleMemo = {
    action: request.action,
    spec: request.spec,
    ...(request.description !== undefined ? { description: request.description } : {}),
  };
  try {
    await deps.temporal.schedule.create({
      scheduleId: id,
      spec: spec.temporal,
      action: scheduleActionOf(deps, prepared, runIdBase(prepared), memo, definer),
      policies,
      state: {
        paused: request.paused,
        ...(request.note !== undefined ? { note: request.note } : {}),
        ...(request.remainingRuns !== undefined ? { remainingActions: request.remainingRuns } : {}),
      },
      typedSearchAttributes: scheduleAttributes(prepared),
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning)
      throw new ConflictError(`schedule ${JSON.stringify(id)} already exists`, 'schedule_exists', 'id');
    throw specRefused(err);
  }
  return changedView(deps, await describeOr404(deps, tenantId, id));
}

/**
 * Changes of one schedule through this process, one at a time (PATCH, pause, unpause): an update rewrites the whole
 * schedule, so one computed while another change lands would undo it. Across processes the conflict token guards it.
 */
const changes = new AsyncLock({ maxPending: Infinity });

/** Updates of one PATCH that lost to a concurrent change and were sent again before it gives up (409 schedule_busy). */
const UPDATE_ATTEMPTS = 8;

/**
 * PATCH /api/v1/schedules/:id: any part; what is given replaces what was (the policy field by field), the rest
 * stays, and so do the run history and counts (it is the same Temporal schedule). A new action is validated like a
 * new schedule's; its runs keep their id prefix unless the kind changes. `remainingRuns: null` lifts the limit.
 *
 * Every part not given is taken from one description of the schedule, the same one the update is sent against with
 * its conflict token (schedule-conflict-update.ts), so Kiln's memo always describes the action Temporal runs and a
 * concurrent change (a PATCH of another field, a pause, from this process or another) is never undone: an update that
 * lost to one is built again from the newer description and sent again, up to UPDATE_ATTEMPTS times, then
 * ConflictError `schedule_busy`. NotFoundError when the schedule is gone (deleted meanwhile, too).
 *
 * `definer` (the caller) is who the schedule's runs are attributed to from now on (ScheduleDefiner); an update that
 * keeps the action still answers for it, so a kept full pipeline is checked against the caller as a new one is
 * (keptActionStarter).
 */
export async function updateSchedule(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  body: unknown,
  definer: ScheduleDefiner,
): Promise<ScheduleChangeView> {
  checkScheduleTenant(tenantId, id);
  const request = parseWith(updateScheduleRequest, body);
  const spec = request.spec ? compileSpec(request.spec) : undefined;
  // The new policy fields are checked now; the ones not given come from the description each attempt reads.
  if (request.policy)
    compilePolicy({
      overlap: request.policy.overlap ?? 'skip',
      catchupWindow: request.policy.catchupWindow ?? '10m',
      pauseOnFailure: request.policy.pauseOnFailure ?? false,
    });
  await describeOr404(deps, tenantId, id);
  const prepared = request.action ? await prepareAction(deps, tenantId, request.action, definer) : undefined;
  return changes.acquire(id, async () => {
    for (let attempt = 1; ; attempt++) {
      const current = await describeOr404(deps, tenantId, id);
      if (!prepared) await keptActionStarter(deps, tenantId, current.memo.action, definer);
      const revision = randomUUID().slice(0, 12);
      const updated = updatedOptions(deps, request, spec, prepared, current, revision, definer);
      try {
        await orNotFound(id, updateScheduleIfUnchanged(deps.temporal, deps.namespace, current.description, updated));
      } catch (err) {
        throw specRefused(err);
      }
      const after = await describeOr404(deps, tenantId, id);
      if (after.memo.revisions?.includes(revision)) return changedView(deps, after);
      if (attempt >= UPDATE_ATTEMPTS)
        throw new ConflictError(
          `schedule ${JSON.stringify(id)} changed ${UPDATE_ATTEMPTS} times while this update was being applied; try again`,
          'schedule_busy',
        );
    }
  });
}

/**
 * An update that keeps a full pipeline action makes the caller its definer: ForbiddenError `protected_alias` (field
 * `action.request.promote.alias`) when that pipeline moves a protected alias without approval and the caller is no
 * approver (checkPromotionStarter, against the model's protected aliases now).
 */
async function keptActionStarter(
  deps: ScheduleDeps,
  tenantId: string,
  action: ScheduleAction,
  definer: ScheduleDefiner,
): Promise<void> {
  if (action.kind !== 'pipeline-full') return;
  try {
    await checkPromotionStarter(deps, tenantId, action.request as PromotionFacts, definer);
  } catch (err) {
    throw err instanceof DomainError ? prefixField(err, 'action.request') : err;
  }
}

/** The whole schedule after a PATCH: the request's parts, everything else from `current` alone, `definer` its runs'. */
function updatedOptions(
  deps: ScheduleDeps,
  request: z.infer<typeof updateScheduleRequest>,
  spec: CompiledSpec | undefined,
  prepared: PreparedJob | undefined,
  { description: previous, memo: old }: KilnSchedule,
  revision: string,
  definer: ScheduleDefiner,
): ScheduleUpdateOptions {
  const description = request.description === null ? undefined : (request.description ?? old.description);
  const memo: ScheduleMemo = {
    action: request.action ?? old.action,
    spec: request.spec ?? old.spec,
    ...(description !== undefined ? { description } : {}),
    revisions: [...(old.revisions ?? []).slice(-(MAX_REVISIONS - 1)), revision],
  };
  const base = previous.action.workflowId!;
  const action = prepared
    ? scheduleActionOf(
        deps,
        prepared,
        base.startsWith(`${tenantIdPrefix(prepared.attributes.tenantId)}${prepared.idPrefix}-`) &&
          /-[0-9a-f-]{36}$/.test(base)
          ? base
          : runIdBase(prepared),
        memo,
        definer,
      )
    : { ...previous.action, memo: { ...previous.action.memo, startedBy: definer.id, schedule: memo } };
  const policies = request.policy
    ? compilePolicy({
        overlap: request.policy.overlap ?? apiOverlap(previous.policies.overlap),
        catchupWindow: request.policy.catchupWindow ?? formatDurationMs(previous.policies.catchupWindow),
        pauseOnFailure: request.policy.pauseOnFailure ?? previous.policies.pauseOnFailure,
      })
    : previous.policies;
  const remaining =
    request.remainingRuns === null ? undefined : (request.remainingRuns ?? previous.state.remainingActions);
  return {
    spec: (spec ?? compileSpec(old.spec)).temporal,
    action: action as ScheduleUpdateOptions['action'],
    policies,
    state: {
      paused: request.paused ?? previous.state.paused,
      note: request.note ?? previous.state.note,
      ...(remaining !== undefined ? { remainingActions: remaining } : {}),
    },
    typedSearchAttributes: prepared ? scheduleAttributes(prepared) : previous.typedSearchAttributes,
  };
}

/** The notes pause and unpause leave when the request gives none (Temporal ignores an empty one: no change at all). */
export const DEFAULT_PAUSE_NOTE = 'Paused through the Kiln API';
export const DEFAULT_UNPAUSE_NOTE = 'Unpaused through the Kiln API';

/**
 * POST .../pause and .../unpause, with an optional note: none or an empty one becomes DEFAULT_PAUSE_NOTE or
 * DEFAULT_UNPAUSE_NOTE, since Temporal reads an empty note as "no pause requested". NotFoundError for an unknown
 * schedule, or one deleted meanwhile.
 */
export async function setPaused(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  paused: boolean,
  body: unknown,
): Promise<ScheduleView> {
  checkScheduleTenant(tenantId, id);
  const { note } = parseWith(pauseRequest, body);
  return changes.acquire(id, async () => {
    const { handle } = await describeOr404(deps, tenantId, id);
    if (paused) await orNotFound(id, handle.pause(note || DEFAULT_PAUSE_NOTE));
    else await orNotFound(id, handle.unpause(note || DEFAULT_UNPAUSE_NOTE));
    return describeSchedule(deps, tenantId, id);
  });
}

/**
 * POST .../backfill: runs for every fire time in [start, end] (both inclusive, as Temporal counts them; start == end
 * is a window of one second), as if the time passed now; each run's scheduled time is its fire time, so `latest`
 * datasets resolve as of then. The answer's times are Temporal's own (schedule-fire-times.ts: its search from 1 ms
 * before start, as its backfill searches), DST days included. Temporal only runs fire times within the schedule's own
 * startAt..endAt, so the answer's times are the window clipped to them (`clippedTo` says so) and a window wholly
 * outside them is a ValidationError naming `start` (or `end`). The window must not reach into the future (end after
 * now: a ValidationError naming `end`): Temporal would run those fire times at once, long before they are due. Overlap
 * default buffer-all: every one runs, one after another. At most SCHEDULE_LIMITS.maxBackfillRuns runs.
 *
 * The runs are the caller's starts: ForbiddenError `protected_alias` when the action is a full pipeline only an
 * approver may start and the caller is none (schedule-caller.ts); TooManyRequestsError `tenant_job_limit`
 * (Retry-After) naming the places free when the tenant's cap on running jobs has fewer than the backfill may start at
 * once: every run with overlap `allow-all`, else one (the later ones start as earlier ones end, as timed fires do). Those
 * places are reserved under the runs' ids before the backfill, as a job route's start reserves its one.
 */
export async function backfillSchedule(
  deps: ScheduleDeps,
  tenantId: string,
  id: string,
  body: unknown,
  caller: ScheduleCaller,
) {
  checkScheduleTenant(tenantId, id);
  const request = parseWith(backfillRequest, body);
  const start = new Date(request.start);
  const end = new Date(request.end);
  if (end.getTime() < start.getTime()) throw new ValidationError('end: must not be before start', 'end');
  if (end.getTime() > Date.now())
    throw new ValidationError(
      `end: ${end.toISOString()} is in the future: a backfill runs fire times that have passed (Temporal would start ` +
        'later ones now, not when they are due); end it at now at the latest',
      'end',
    );
  const { handle, description, memo } = await describeOr404(deps, tenantId, id);
  await checkScheduleCaller(deps, tenantId, id, memo, caller, 'backfilling');
  const spec = compileSpec(memo.spec);
  const fire = spec.fire;
  const from = new Date(Math.max(start.getTime(), fire.startAt?.getTime() ?? -Infinity));
  const to = new Date(Math.min(end.getTime(), fire.endAt?.getTime() ?? Infinity));
  if (fire.startAt && end.getTime() < fire.startAt.getTime())
    throw new ValidationError(
      `end: the window ends before the schedule's startAt (${fire.startAt.toISOString()}): Temporal would run nothing`,
      'end',
    );
  if (fire.endAt && start.getTime() > fire.endAt.getTime())
    throw new ValidationError(
      `start: the window starts after the schedule's endAt (${fire.endAt.toISOString()}): Temporal would run nothing`,
      'start',
    );
  const limit = SCHEDULE_LIMITS.maxBackfillRuns;
  const { times } = await temporalFireTimes(deps, spec.temporal, start.getTime() - 1, limit + 1, end.getTime());
  if (times.length > limit)
    throw new ValidationError(`end: the window holds more than ${limit} fire times; backfill it in parts`, 'end');
  // Temporal names each run `<base>-<its fire second>`; those it starts at once each need a place under the cap.
  const atOnce = request.overlap === 'allow-all' ? times.length : Math.min(1, times.length);
  const runIds = times
    .slice(0, atOnce)
    .map((t) => `${description.action.workflowId ?? id}-${new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  const slot = runIds.length
    ? await reserveTenantJobSlots(
        scheduleJobLimitDeps(deps),
        tenantId,
        runIds,
        request.overlap === 'allow-all'
          ? `this backfill (overlap allow-all) may start its ${atOnce} runs at once`
          : `this backfill needs one for its first run (overlap ${request.overlap}: one at a time)`,
      )
    : undefined;
  try {
    await orNotFound(id, handle.backfill({ start, end, overlap: temporalOverlap(request.overlap) }));
  } catch (err) {
    slot?.release();
    throw err;
  }
  const clipped = from.getTime() !== start.getTime() || to.getTime() !== end.getTime();
  return {
    scheduleId: id,
    start: start.toISOString(),
    end: end.toISOString(),
    ...(clipped
      ? {
          clippedTo: {
            start: from.toISOString(),
            end: to.toISOString(),
            reason: "the schedule's spec.startAt/endAt: Temporal runs no fire time outside them",
          },
        }
      : {}),
    overlap: request.overlap,
    runs: times.length,
    scheduledTimes: times.map((t) => new Date(t).toISOString()),
    links: { schedule: `/api/v1/schedules/${id}`, runs: `/api/v1/jobs?scheduleId=${id}` },
  };
}

/** DELETE /api/v1/schedules/:id: removes the Temporal schedule; runs already started go on. */
export async function deleteSchedule(deps: ScheduleDeps, tenantId: string, id: string): Promise<void> {
  const { handle } = await describeOr404(deps, tenantId, id);
  await orNotFound(id, handle.delete());
}

/**
 * POST /api/v1/schedules/preview: the spec checked as a schedule's would be, its next `count` fire times after
 * `from` (default now) as Temporal computes them (schedule-fire-times.ts: a schedule created at `from` would fire
 * exactly so), in UTC and in its zone, and warnings: a zone that is a fixed offset, a spec that never fires after
 * `from`, and one per DST change up to the last of those times that skips or repeats local times a cron or calendar
 * names (dst-warnings.ts: the interval, how many named local times fall in it, what Temporal runs there), at most
 * MAX_DST_WARNINGS of them (`warningsOmitted` counts the rest). Nominal times: jitter comes on top. ValidationError for
 * a bad spec (or one Temporal refuses), as create's.
 */
export async function previewSchedule(deps: ScheduleDeps, body: unknown) {
  const request = parseWith(previewRequest, body);
  const spec = compileSpec(request.spec);
  const from = request.from ? Date.parse(request.from) : Date.now();
  let fired: Awaited<ReturnType<typeof temporalFireTimes>>;
  try {
    fired = await temporalFireTimes(deps, spec.temporal, from, request.count);
  } catch (err) {
    throw specRefused(err);
  }
  const times = fired.times.slice(0, request.count);
  const until = times.length === request.count ? times[times.length - 1] : (spec.fire.endAt?.getTime() ?? Infinity);
  const zone = spec.fire.timezone;
  const dst = dstWarnings(spec.fire, fired.times, { after: from, until, covered: fired.covered });
  const warnings: ScheduleWarning[] = [
    ...zoneWarnings(spec),
    ...(times.length === 0 ? [neverFires(from, spec)] : []),
    ...dst.warnings,
  ];
  return {
    timezone: zone,
    from: new Date(from).toISOString(),
    fireTimes: timesIn(
      zone,
      times.map((t) => new Date(t)),
    ),
    warnings,
    ...(dst.omitted ? { warningsOmitted: dst.omitted } : {}),
  };
}

/** Bytes of the check a page token carries before Temporal's own token. */
const PAGE_TOKEN_CHECK_BYTES = 8;

/** The check of a page token: the start of a sha256 of the query it pages through and Temporal's token. */
function pageTokenCheck(query: string, token: Uint8Array): Buffer {
  return createHash('sha256')
    .update(`kiln schedules page|${query}|`)
    .update(token)
    .digest()
    .subarray(0, PAGE_TOKEN_CHECK_BYTES);
}

/**
 * GET /api/v1/schedules: the schedules of `tenantId` (KilnTenant) from Temporal's visibility (eventually consistent: one created a moment ago
 * may lag), filtered by action kind and paused, a page at a time. `nextPageToken` is Temporal's token behind a check
 * of it and the query's filters, so a token this API did not hand out for these filters is a 400 naming
 * `query.pageToken` rather than an empty page. Each schedule's next fire times are `{utc, local}` in its zone, as
 * GET /api/v1/schedules/:id gives them (none while paused).
 */
export async function listSchedules(deps: ScheduleDeps, tenantId: string, rawQuery: unknown) {
  const query = parseWith(listSchedulesQuery, rawQuery, 'query');
  // Values come from enums and the caller's tenant id (^[a-z][a-z0-9-]{1,31}$: no quote), never from free text.
  const clauses = [`${KilnTenant.name} = '${tenantId}'`];
  if (query.kind) {
    const [kind, algorithm] = query.kind.startsWith('pipeline-')
      ? ['pipeline', query.kind.slice('pipeline-'.length)]
      : [query.kind, undefined];
    clauses.push(`${KilnKind.name} = '${kind}'`);
    if (algorithm) clauses.push(`${KilnAlgorithm.name} = '${algorithm}'`);
  }
  if (query.paused) clauses.push(`TemporalSchedulePaused = ${query.paused}`);
  const filter = clauses.join(' AND ');
  const foreignToken = () =>
    new ValidationError(
      'query.pageToken: not a page token this API handed out for these filters (use nextPageToken from the previous ' +
        'page of the same query)',
      'query.pageToken',
    );
  let temporalToken: Buffer | undefined;
  if (query.pageToken) {
    const bytes = Buffer.from(query.pageToken, 'base64url');
    temporalToken = bytes.subarray(PAGE_TOKEN_CHECK_BYTES);
    if (
      temporalToken.length === 0 ||
      !pageTokenCheck(filter, temporalToken).equals(bytes.subarray(0, PAGE_TOKEN_CHECK_BYTES))
    )
      throw foreignToken();
  }
  let response: Awaited<ReturnType<typeof deps.temporal.workflowService.listSchedules>>;
  try {
    response = await deps.temporal.workflowService.listSchedules({
      namespace: deps.namespace,
      maximumPageSize: query.limit,
      query: filter,
      ...(temporalToken ? { nextPageToken: temporalToken } : {}),
    });
  } catch (err) {
    // UNKNOWN or INVALID_ARGUMENT with a token that passed the check: Temporal no longer decodes it (a server reset).
    if (temporalToken && [2, 3].includes((err as { code?: number }).code ?? 0)) throw foreignToken();
    throw err;
  }
  const schedules = (response.schedules ?? []).map((raw) => {
    const attributes = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
    const info = raw.info;
    const last = info?.recentActions?.[info.recentActions.length - 1];
    const lastJob = last?.startWorkflowResult?.workflowId;
    const zone = info?.spec?.timezoneName || 'UTC';
    const paused = info?.paused === true;
    return {
      scheduleId: raw.scheduleId!,
      kind: actionKindOf(attributes.get(KilnKind), attributes.get(KilnAlgorithm)),
      ...(attributes.get(KilnModelName) ? { model: attributes.get(KilnModelName) } : {}),
      paused,
      note: info?.notes ?? '',
      nextFireTimes: paused
        ? []
        : timesIn(
            zone,
            (info?.futureActionTimes ?? []).map(
              (t) => new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)),
            ),
          ),
      ...(lastJob ? { lastRun: { jobId: lastJob, links: jobLinks(lastJob) } } : {}),
      links: scheduleLinks(deps, raw.scheduleId!),
    };
  });
  const next = response.nextPageToken?.length ? Buffer.from(response.nextPageToken) : undefined;
  const token = next ? Buffer.concat([pageTokenCheck(filter, next), next]).toString('base64url') : undefined;
  return { schedules, ...(token ? { nextPageToken: token } : {}) };
}
