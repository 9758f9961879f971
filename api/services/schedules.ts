import { randomUUID } from 'node:crypto';
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleDescription,
  ScheduleHandle,
  ScheduleNotFoundError,
  ScheduleOptionsStartWorkflowAction,
  ScheduleUpdateOptions,
} from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { z } from 'zod';
import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  NotFoundError,
  prefixField,
  ValidationError,
  withField,
} from '../../common/errors';
import { dstWarnings } from '../../common/schedule/dst-warnings';
import type { Logger } from '../../common/logger';
import { formatDurationMs } from '../../common/schedule/duration';
import { formatLocal } from '../../common/schedule/time-zone';
import { KilnAlgorithm, KilnKind, KilnModelName, KilnTenant } from '../../common/search-attributes';
import { DEFAULT_TENANT } from '../../common/tenant';
import {
  backfillRequest,
  createScheduleRequest,
  listSchedulesQuery,
  pauseRequest,
  previewRequest,
  SCHEDULE_LIMITS,
  ScheduleActionKind,
  scheduleAction,
  triggerRequest,
  updateScheduleRequest,
} from '../schemas/schedules';
import { parseWith } from '../schemas/validate';
import { jobLinks, TemporalUi } from './accepted';
import { checkWorkflowStartSize, JobStatus } from './jobs';
import { temporalFireTimes } from './schedule-fire-times';
import { apiOverlap, compilePolicy, compileSpec, ScheduleSpecRequest, temporalOverlap } from './schedule-spec';
import { ClusteringDeps, prepareClustering } from './submit-clustering';
import { prepareBatchPredict } from './submit-batch-predict';
import { PreparedJob } from './submit-job';
import { prepareFullPipeline, prepareValidationPipeline } from './submit-pipeline';
import { prepareTraining } from './submit-training';

/**
 * Kiln's recurring jobs on Temporal Schedules: the schedule is Temporal's (durable, on the Temporal UI's Schedules
 * page, surviving restarts), and every run is an ordinary job, the same workflow with the same validated input that
 * the kind's own POST route would start. What Kiln needs beyond Temporal's own description (the request as given, the
 * spec as written, the description) travels in the action's memo under `schedule`, so there is one source of truth.
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
}

/** A schedule's Kiln memo, or undefined for a schedule Kiln did not create. */
function kilnMemo(description: ScheduleDescription): ScheduleMemo | undefined {
  const memo = description.action.memo?.schedule as ScheduleMemo | undefined;
  return memo && typeof memo === 'object' && memo.action && memo.spec ? memo : undefined;
}

/**
 * Validates the action's request with its route's own prepare half (services/submit-*.ts) and builds the start,
 * touching nothing; its errors name fields from the schedule request (`action.request.params.k`, `action.model`).
 * Inline clustering data is refused: a schedule runs on stored data.
 */
async function prepareAction(deps: ScheduleDeps, action: ScheduleAction): Promise<PreparedJob> {
  if (action.model !== undefined && action.kind !== 'batch-predict')
    throw new ValidationError('action.model: only batch-predict actions name a model', 'action.model');
  try {
    switch (action.kind) {
      case 'clustering':
        return await prepareClustering(deps, action.request, { inlineData: false });
      case 'training':
        return await prepareTraining(deps, action.request);
      case 'pipeline-validation':
        return await prepareValidationPipeline(deps, action.request);
      case 'pipeline-full':
        return await prepareFullPipeline(deps, action.request);
      case 'batch-predict':
        if (action.model === undefined)
          throw new ValidationError(
            'action.model: required for batch-predict (the model of POST /api/v1/models/{name}/batch-predict)',
            'action.model',
          );
        return await prepareBatchPredict(deps, action.model, action.request);
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
 * The action Temporal stores: the prepared job's start, its run ids `<base>-<scheduled time>`, Kiln's memo.
 * PayloadTooLargeError when its input and memo exceed the bound every workflow start keeps (MAX_WORKFLOW_START_BYTES):
 * each run starts with exactly these.
 */
function scheduleActionOf(
  deps: ScheduleDeps,
  prepared: PreparedJob,
  workflowIdBase: string,
  memo: ScheduleMemo,
): ScheduleOptionsStartWorkflowAction<Workflow> {
  const { workflowType, ...options } = deps.jobs.startOptions(prepared);
  const runMemo = { ...options.memo, schedule: memo };
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

function notFound(id: string): NotFoundError {
  return new NotFoundError('schedule', id, 'id');
}

/** The handle and description of a Kiln schedule; NotFoundError (field `id`) for an unknown id or someone else's. */
async function describeOr404(
  deps: ScheduleDeps,
  id: string,
): Promise<{ handle: ScheduleHandle; description: ScheduleDescription; memo: ScheduleMemo }> {
  const handle = deps.temporal.schedule.getHandle(id);
  let description: ScheduleDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(id);
    throw err;
  }
  const memo = kilnMemo(description);
  if (!memo || description.typedSearchAttributes.get(KilnTenant) !== DEFAULT_TENANT) throw notFound(id);
  return { handle, description, memo };
}

/** Temporal refusing a spec Kiln's own checks let through: a 400 about the spec rather than a 500. */
function specRefused(err: unknown): unknown {
  if (err instanceof TypeError || (err as { code?: number }).code === 3)
    return new ValidationError(`spec: Temporal refused it: ${(err as Error).message}`, 'spec');
  return err;
}

/** A run of a schedule: its job, when it was due and when it started, its status now. */
export interface ScheduleRunView {
  jobId: string;
  scheduledTime: string;
  startedAt: string;
  status: JobStatus | 'UNKNOWN';
  links: ReturnType<typeof jobLinks> & { temporalUi?: string };
}

function timesIn(zone: string, times: Date[]) {
  return times.map((t) => ({ utc: t.toISOString(), local: formatLocal(zone, t.getTime()) }));
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
 * and its note, the runs left, the next 10 fire times (Temporal's, jitter included) in UTC and in the schedule's zone,
 * the recent runs (newest first, at most Temporal's 10) with their job ids, status and links, and the counts of runs
 * taken, skipped by the overlap policy and missed by the catch-up window.
 */
export async function describeSchedule(deps: ScheduleDeps, id: string) {
  return scheduleView(deps, await describeOr404(deps, id));
}

async function scheduleView(
  deps: ScheduleDeps,
  { description: d, memo }: { description: ScheduleDescription; memo: ScheduleMemo },
) {
  const zone = memo.spec.timezone ?? 'UTC';
  const recent = [...d.info.recentActions].reverse();
  const statuses = await Promise.all(
    recent.map((r) => deps.jobs.statusOf(r.action.workflow.workflowId).catch(() => undefined)),
  );
  const runs: ScheduleRunView[] = recent.map((r, i) => ({
    jobId: r.action.workflow.workflowId,
    scheduledTime: r.scheduledAt.toISOString(),
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
    ...(d.state.remainingActions !== undefined ? { remainingRuns: d.state.remainingActions } : {}),
    timezone: zone,
    nextFireTimes: timesIn(zone, d.info.nextActionTimes.slice(0, 10)),
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

/** The answer of GET /api/v1/schedules/:id (and of create, update, pause, unpause). */
export type ScheduleView = Awaited<ReturnType<typeof describeSchedule>>;

/**
 * POST /api/v1/schedules: validates everything first (the spec, the policy, the action's request through its route's
 * own checks) and only then creates the Temporal schedule. ConflictError (409, field `id`) for an id in use.
 */
export async function createSchedule(deps: ScheduleDeps, body: unknown): Promise<ScheduleView> {
  const request = parseWith(createScheduleRequest, body);
  const spec = compileSpec(request.spec);
  const policies = compilePolicy(request.policy);
  const prepared = await prepareAction(deps, request.action);
  const id = request.id ?? `schedule-${randomUUID()}`;
  const memo: ScheduleMemo = {
    action: request.action,
    spec: request.spec,
    ...(request.description !== undefined ? { description: request.description } : {}),
  };
  try {
    await deps.temporal.schedule.create({
      scheduleId: id,
      spec: spec.temporal,
      action: scheduleActionOf(deps, prepared, `${prepared.idPrefix}-${randomUUID()}`, memo),
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
  return describeSchedule(deps, id);
}

/**
 * PATCH /api/v1/schedules/:id: any part; what is given replaces what was (the policy field by field), the rest
 * stays, and so do the run history and counts (it is the same Temporal schedule). A new action is validated like a
 * new schedule's; its runs keep their id prefix unless the kind changes. `remainingRuns: null` lifts the limit.
 */
export async function updateSchedule(deps: ScheduleDeps, id: string, body: unknown): Promise<ScheduleView> {
  const request = parseWith(updateScheduleRequest, body);
  const { handle, description: current, memo: old } = await describeOr404(deps, id);
  const spec = request.spec ? compileSpec(request.spec) : undefined;
  const policy = request.policy
    ? compilePolicy({
        overlap: request.policy.overlap ?? apiOverlap(current.policies.overlap),
        catchupWindow: request.policy.catchupWindow ?? formatDurationMs(current.policies.catchupWindow),
        pauseOnFailure: request.policy.pauseOnFailure ?? current.policies.pauseOnFailure,
      })
    : undefined;
  const prepared = request.action ? await prepareAction(deps, request.action) : undefined;
  const memo: ScheduleMemo = {
    action: request.action ?? old.action,
    spec: request.spec ?? old.spec,
    ...(request.description === null
      ? {}
      : request.description !== undefined
        ? { description: request.description }
        : old.description !== undefined
          ? { description: old.description }
          : {}),
  };
  try {
    await handle.update((previous): ScheduleUpdateOptions => {
      const base = previous.action.workflowId!;
      const action = prepared
        ? scheduleActionOf(
            deps,
            prepared,
            base.startsWith(`${prepared.idPrefix}-`) && /-[0-9a-f-]{36}$/.test(base)
              ? base
              : `${prepared.idPrefix}-${randomUUID()}`,
            memo,
          )
        : { ...previous.action, memo: { ...previous.action.memo, schedule: memo } };
      const remaining =
        request.remainingRuns === null ? undefined : (request.remainingRuns ?? previous.state.remainingActions);
      return {
        spec: (spec ?? compileSpec(old.spec)).temporal,
        action: action as ScheduleUpdateOptions['action'],
        policies: policy ?? previous.policies,
        state: {
          paused: request.paused ?? previous.state.paused,
          note: request.note ?? previous.state.note,
          ...(remaining !== undefined ? { remainingActions: remaining } : {}),
        },
        typedSearchAttributes: prepared ? scheduleAttributes(prepared) : previous.typedSearchAttributes,
      };
    });
  } catch (err) {
    throw specRefused(err);
  }
  return describeSchedule(deps, id);
}

/** POST .../pause and .../unpause, with an optional note (default: says it came through Kiln's API). */
export async function setPaused(deps: ScheduleDeps, id: string, paused: boolean, body: unknown): Promise<ScheduleView> {
  const { note } = parseWith(pauseRequest, body ?? {});
  const { handle } = await describeOr404(deps, id);
  if (paused) await handle.pause(note ?? 'Paused through the Kiln API');
  else await handle.unpause(note ?? 'Unpaused through the Kiln API');
  return describeSchedule(deps, id);
}

/**
 * Triggers of one schedule, one after another (the tail of each schedule's chain), and the second of each schedule's
 * last triggered run. A run's id is the schedule's base plus its scheduled second, so two triggers in one second would
 * name the same workflow and Temporal would drop the second one: this process waits for a new second between them.
 */
const triggerChains = new Map<string, Promise<unknown>>();
const lastTriggerSecond = new Map<string, number>();

/** Polls of describe() for the triggered run, and the pause between them (ms): Temporal usually starts it within 1 s. */
const TRIGGER_POLLS = 30;
const TRIGGER_POLL_MS = 100;

/**
 * POST .../trigger: one run now (overlap policy default allow-all, so it starts even while another runs), answered
 * with the run's job id once Temporal has started it. Triggers of one schedule in this process are serialized and at
 * least a wall-clock second apart (see triggerChains). ConflictError `trigger_collision` when no new run appears (its
 * id was taken: another API process triggered the schedule, or it fired, in the same second); the route adds
 * Retry-After.
 */
export async function triggerSchedule(deps: ScheduleDeps, id: string, body: unknown) {
  const { overlap } = parseWith(triggerRequest, body ?? {});
  const previous = triggerChains.get(id) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => triggerOnce(deps, id, overlap));
  triggerChains.set(id, mine);
  try {
    return await mine;
  } finally {
    if (triggerChains.get(id) === mine) triggerChains.delete(id);
  }
}

async function triggerOnce(deps: ScheduleDeps, id: string, overlap: z.infer<typeof triggerRequest>['overlap']) {
  const last = lastTriggerSecond.get(id);
  if (last !== undefined) {
    const wait = (last + 1) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const { handle, description } = await describeOr404(deps, id);
  const seen = new Set(description.info.recentActions.map((a) => a.action.workflow.workflowId));
  const triggeredAt = Date.now();
  await handle.trigger(temporalOverlap(overlap));
  let run: { workflowId: string; scheduledAt: Date } | undefined;
  for (let i = 0; i < TRIGGER_POLLS && !run; i++) {
    const recent = (await handle.describe()).info.recentActions;
    const found = recent.find((a) => !seen.has(a.action.workflow.workflowId));
    if (found) run = { workflowId: found.action.workflow.workflowId, scheduledAt: found.scheduledAt };
    else await new Promise((r) => setTimeout(r, TRIGGER_POLL_MS));
  }
  lastTriggerSecond.set(id, Math.floor((run?.scheduledAt.getTime() ?? Math.max(triggeredAt, Date.now())) / 1000));
  if (!run)
    throw new ConflictError(
      `schedule ${JSON.stringify(id)}: the triggered run did not start (its id, the schedule's plus the second, was ` +
        'taken by another run in the same second); try again in a second',
      'trigger_collision',
    );
  // The run exists under the id Temporal reported (describe throws WorkflowNotFoundError if not).
  await deps.temporal.workflow.getHandle(run.workflowId).describe();
  return {
    scheduleId: id,
    overlap,
    jobId: run.workflowId,
    scheduledTime: run.scheduledAt.toISOString(),
    links: { job: jobLinks(run.workflowId).self, schedule: `/api/v1/schedules/${id}` },
  };
}

/**
 * POST .../backfill: runs for every fire time in [start, end] (both inclusive, as Temporal counts them; start == end
 * is a window of one second), as if the time passed now; each run's scheduled time is its fire time, so `latest`
 * datasets resolve as of then. The answer's times are Temporal's own (schedule-fire-times.ts: its search from 1 ms
 * before start, as its backfill searches), DST days included. Temporal only runs fire times within the schedule's own
 * startAt..endAt, so the answer's times are the window clipped to them (`clippedTo` says so) and a window wholly
 * outside them is a ValidationError naming `start` (or `end`). Overlap default buffer-all: every one runs, one after
 * another. At most SCHEDULE_LIMITS.maxBackfillRuns runs.
 */
export async function backfillSchedule(deps: ScheduleDeps, id: string, body: unknown) {
  const request = parseWith(backfillRequest, body);
  const start = new Date(request.start);
  const end = new Date(request.end);
  if (end.getTime() < start.getTime()) throw new ValidationError('end: must not be before start', 'end');
  const { handle, memo } = await describeOr404(deps, id);
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
  await handle.backfill({ start, end, overlap: temporalOverlap(request.overlap) });
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
export async function deleteSchedule(deps: ScheduleDeps, id: string): Promise<void> {
  const { handle } = await describeOr404(deps, id);
  try {
    await handle.delete();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(id);
    throw err;
  }
}

/**
 * POST /api/v1/schedules/preview: the spec checked as a schedule's would be, its next `count` fire times after
 * `from` (default now) as Temporal computes them (schedule-fire-times.ts: a schedule created at `from` would fire
 * exactly so), in UTC and in its zone, and a warning for each local time of a cron or calendar up to the last of them
 * that falls into a DST gap (no run at that local time) or repeat (saying which of its two instants Temporal runs at).
 * Nominal times: jitter comes on top. ValidationError for a bad spec (or one Temporal refuses), as create's.
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
  return {
    timezone: zone,
    from: new Date(from).toISOString(),
    fireTimes: timesIn(
      zone,
      times.map((t) => new Date(t)),
    ),
    warnings: dstWarnings(spec.fire, fired.times, { after: from, until, covered: fired.covered }),
  };
}

/**
 * GET /api/v1/schedules: Kiln's schedules from Temporal's visibility (eventually consistent: one created a moment ago
 * may lag), filtered by action kind and paused, a page at a time (`nextPageToken`).
 */
export async function listSchedules(deps: ScheduleDeps, rawQuery: unknown) {
  const query = parseWith(listSchedulesQuery, rawQuery, 'query');
  // Values come from enums and the tenant constant, never from free text.
  const clauses = [`${KilnTenant.name} = '${DEFAULT_TENANT}'`];
  if (query.kind) {
    const [kind, algorithm] = query.kind.startsWith('pipeline-')
      ? ['pipeline', query.kind.slice('pipeline-'.length)]
      : [query.kind, undefined];
    clauses.push(`${KilnKind.name} = '${kind}'`);
    if (algorithm) clauses.push(`${KilnAlgorithm.name} = '${algorithm}'`);
  }
  if (query.paused) clauses.push(`TemporalSchedulePaused = ${query.paused}`);
  // Temporal's visibility page tokens are JSON; anything else would come back as UNKNOWN, retried for ~20 s.
  if (query.pageToken && !isJson(Buffer.from(query.pageToken, 'base64url').toString('utf8')))
    throw new ValidationError(
      'query.pageToken: not a page token this API handed out (use nextPageToken from a previous page)',
      'query.pageToken',
    );
  let response: Awaited<ReturnType<typeof deps.temporal.workflowService.listSchedules>>;
  try {
    response = await deps.temporal.workflowService.listSchedules({
      namespace: deps.namespace,
      maximumPageSize: query.limit,
      query: clauses.join(' AND '),
      ...(query.pageToken ? { nextPageToken: Buffer.from(query.pageToken, 'base64url') } : {}),
    });
  } catch (err) {
    // UNKNOWN or INVALID_ARGUMENT with a token: Temporal could not decode it (the query is built from known values;
    // the dev server answers a foreign token with UNKNOWN).
    if (query.pageToken && [2, 3].includes((err as { code?: number }).code ?? 0))
      throw new ValidationError(
        'query.pageToken: not a page token this API handed out (use nextPageToken from a previous page)',
        'query.pageToken',
      );
    throw err;
  }
  const schedules = (response.schedules ?? []).map((raw) => {
    const attributes = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
    const info = raw.info;
    const last = info?.recentActions?.[info.recentActions.length - 1];
    const lastJob = last?.startWorkflowResult?.workflowId;
    return {
      scheduleId: raw.scheduleId!,
      kind: actionKindOf(attributes.get(KilnKind), attributes.get(KilnAlgorithm)),
      ...(attributes.get(KilnModelName) ? { model: attributes.get(KilnModelName) } : {}),
      paused: info?.paused === true,
      note: info?.notes ?? '',
      nextFireTimes: (info?.futureActionTimes ?? []).map((t) =>
        new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString(),
      ),
      ...(lastJob ? { lastRun: { jobId: lastJob, links: jobLinks(lastJob) } } : {}),
      links: scheduleLinks(deps, raw.scheduleId!),
    };
  });
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { schedules, ...(token ? { nextPageToken: token } : {}) };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
