import { z } from 'zod';
import { modelName } from './common';
import { storableText } from './storable-text';

/** What a schedule can start: one of the job routes, with that route's body as `request`. */
export const SCHEDULE_ACTION_KINDS = [
  'pipeline-full',
  'pipeline-validation',
  'training',
  'clustering',
  'batch-predict',
] as const;
/** One of SCHEDULE_ACTION_KINDS. */
export type ScheduleActionKind = (typeof SCHEDULE_ACTION_KINDS)[number];

/** Overlap policies (Temporal's, in the API's spelling). */
export const OVERLAP_POLICIES = [
  'skip',
  'buffer-one',
  'buffer-all',
  'cancel-other',
  'terminate-other',
  'allow-all',
] as const;
/** One of OVERLAP_POLICIES. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Documented defaults and bounds (README: Schedules). */
export const SCHEDULE_DEFAULTS = {
  overlap: 'skip' as OverlapPolicy,
  /** Never Temporal's one-year default: a schedule back from a long outage must not start a year of runs. */
  catchupWindow: '10m',
  pauseOnFailure: false,
} as const;
/** Bounds a schedule request is checked against (durations in ms). */
export const SCHEDULE_LIMITS = {
  /** Temporal's own floor: a shorter window is raised to 10 s by the server. */
  minCatchupWindowMs: 10_000,
  maxCatchupWindowMs: 365 * 86_400_000,
  minIntervalMs: 1000,
  maxIntervalMs: 366 * 86_400_000,
  maxJitterMs: 30 * 86_400_000,
  /** Fire times a preview may ask for; GET shows Temporal's next 10. */
  maxPreview: 100,
  /** Runs one backfill may start. */
  maxBackfillRuns: 1000,
  maxSpecs: 20,
} as const;

/** Schedule ids: letters, digits, `.`, `_`, `-`; safe in URLs and in a visibility query. */
export const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** A schedule id in a body, a path or a query. */
export const scheduleId = z
  .string()
  .regex(SCHEDULE_ID_PATTERN, 'must be 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit');

const isoTime = z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601 instant with a zone or Z' });
const duration = z.string().min(1).max(40).meta({ description: 'A duration such as "90s", "10m", "1h30m", "1d"' });
const calendarField = z.union([z.string().min(1).max(200), z.number().int()]);

/** What each run starts: a job kind and its route's body (checked by that route's prepare half). */
export const scheduleAction = z.strictObject({
  kind: z.enum(SCHEDULE_ACTION_KINDS),
  model: modelName
    .optional()
    .meta({ description: 'batch-predict only: the model (the {name} of POST /api/v1/models/{name}/batch-predict)' }),
  request: z.record(z.string(), z.unknown()).meta({
    description:
      "Exactly the body of that kind's POST route, validated as that route validates it; `dataset: {name}` runs each time on the series version current at the run's scheduled time",
  }),
});

/** When runs are due (the shape; services/schedule-spec.ts checks the content). */
export const scheduleSpec = z
  .strictObject({
    cron: z
      .array(z.string().min(1).max(200))
      .max(SCHEDULE_LIMITS.maxSpecs)
      .optional()
      .meta({ description: 'Cron strings (Temporal: 5, 6 or 7 fields, day of month AND day of week), in `timezone`' }),
    intervals: z
      .array(z.strictObject({ every: duration, offset: duration.optional() }))
      .max(SCHEDULE_LIMITS.maxSpecs)
      .optional()
      .meta({ description: 'Every `every` since the Unix epoch, shifted by `offset`' }),
    calendars: z
      .array(
        z.strictObject({
          second: calendarField.optional(),
          minute: calendarField.optional(),
          hour: calendarField.optional(),
          dayOfMonth: calendarField.optional(),
          month: calendarField.optional(),
          dayOfWeek: calendarField.optional(),
          year: calendarField.optional(),
        }),
      )
      .max(SCHEDULE_LIMITS.maxSpecs)
      .optional()
      .meta({
        description:
          'Calendar specs: each field a cron field ("30", "1-5", "*/15", "MON-FRI"); second, minute, hour default to 0, the rest to *',
      }),
    timezone: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'IANA zone of cron and calendars (required with them), e.g. Europe/Berlin' }),
    startAt: isoTime.optional(),
    endAt: isoTime.optional(),
    jitter: duration.optional().meta({ description: 'Each run starts up to this much later, at random' }),
  })
  .meta({ description: 'When it runs: the union of cron, intervals and calendars, between startAt and endAt' });

/** Overlap, catch-up and failure policy, with Kiln's defaults. */
export const schedulePolicy = z.strictObject({
  overlap: z.enum(OVERLAP_POLICIES).default(SCHEDULE_DEFAULTS.overlap).meta({
    description: 'When a run is due while the previous one still runs (default skip)',
  }),
  catchupWindow: duration.default(SCHEDULE_DEFAULTS.catchupWindow).meta({
    description: 'How late a run missed during an outage may still start (10s to 365d; default 10m)',
  }),
  pauseOnFailure: z.boolean().default(SCHEDULE_DEFAULTS.pauseOnFailure),
});

const note = storableText().max(1000);
const description = storableText().max(2000);

/** POST /api/v1/schedules */
export const createScheduleRequest = z.strictObject({
  id: scheduleId.optional().meta({ description: 'Default: schedule-<uuid>' }),
  description: description.optional(),
  action: scheduleAction,
  spec: scheduleSpec,
  policy: schedulePolicy.default({
    overlap: SCHEDULE_DEFAULTS.overlap,
    catchupWindow: SCHEDULE_DEFAULTS.catchupWindow,
    pauseOnFailure: SCHEDULE_DEFAULTS.pauseOnFailure,
  }),
  paused: z.boolean().default(false),
  note: note.optional(),
  remainingRuns: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .meta({ description: 'Stop after this many scheduled runs (triggers and backfills do not count)' }),
});

/** PATCH /api/v1/schedules/:id: any part; what is given replaces what was (policy fields one by one). */
export const updateScheduleRequest = z.strictObject({
  description: description.nullable().optional(),
  action: scheduleAction.optional(),
  spec: scheduleSpec.optional(),
  policy: z
    .strictObject({
      overlap: z.enum(OVERLAP_POLICIES).optional(),
      catchupWindow: duration.optional(),
      pauseOnFailure: z.boolean().optional(),
    })
    .optional(),
  paused: z.boolean().optional(),
  note: note.optional(),
  remainingRuns: z.number().int().min(1).max(1_000_000).nullable().optional(),
});

/** POST .../pause and .../unpause */
export const pauseRequest = z.strictObject({ note: note.optional() });

/** POST .../trigger */
export const triggerRequest = z.strictObject({
  overlap: z
    .enum(OVERLAP_POLICIES)
    .default('allow-all')
    .meta({ description: 'Default allow-all: the run starts now even if another is running' }),
});

/** POST .../backfill */
export const backfillRequest = z.strictObject({
  start: isoTime,
  end: isoTime,
  overlap: z
    .enum(OVERLAP_POLICIES)
    .default('buffer-all')
    .meta({ description: 'Default buffer-all: every fire time in the window runs, one after another' }),
});

/** POST /api/v1/schedules/preview */
export const previewRequest = z.strictObject({
  spec: scheduleSpec,
  from: isoTime.optional().meta({ description: 'Fire times after this instant (default now)' }),
  count: z.number().int().min(1).max(SCHEDULE_LIMITS.maxPreview).default(10),
});

/** GET /api/v1/schedules */
export const listSchedulesQuery = z.object({
  kind: z.enum(SCHEDULE_ACTION_KINDS).optional(),
  paused: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  pageToken: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]*$/)
    .optional(),
});
