import type { ScheduleOverlapPolicy, ScheduleSpec } from '@temporalio/client';
import { z } from 'zod';
import { ValidationError } from '../../common/errors';
import {
  CALENDAR_FIELDS,
  CalendarField,
  CalendarSyntaxError,
  parseCalendar,
  parseCron,
} from '../../common/schedule/calendar';
import { readDuration } from '../../common/schedule/duration';
import type { FireSpec } from '../../common/schedule/dst-warnings';
import { isTimeZone, zoneSpelling } from '../../common/schedule/time-zone';
import { OverlapPolicy, SCHEDULE_LIMITS, schedulePolicy, scheduleSpec } from '../schemas/schedules';

/** A request's spec as zod parsed it. */
export type ScheduleSpecRequest = z.infer<typeof scheduleSpec>;
/** A request's policy as zod parsed it (defaults filled in). */
export type SchedulePolicyRequest = z.infer<typeof schedulePolicy>;

/** A request's spec checked and in both forms: Temporal's (what the schedule runs) and the zone logic's (dst-warnings.ts). */
export interface CompiledSpec {
  temporal: ScheduleSpec;
  fire: FireSpec;
}

const L = SCHEDULE_LIMITS;

/**
 * A duration field: undefined when absent, else its milliseconds, checked to be a duration, whole seconds when
 * `wholeSeconds`, and within [min, max]; ValidationError naming `field` otherwise.
 */
function durationField(
  text: string | undefined,
  field: string,
  bounds: { min: number; max: number; wholeSeconds?: boolean },
): number | undefined {
  if (text === undefined) return undefined;
  const reading = readDuration(text);
  if ('problem' in reading)
    throw new ValidationError(
      `${field}: ${JSON.stringify(text)} is not a duration: ${reading.problem} (a positive number with ms, s, m, h or d, each unit once, e.g. "10m", "1h30m")`,
      field,
    );
  const { ms } = reading;
  // The range first: a huge duration ("99999999999999999999d") is out of range, not "not whole seconds".
  if (ms < bounds.min || ms > bounds.max)
    throw new ValidationError(
      `${field}: out of range: must be from ${bounds.min / 1000}s to ${bounds.max / 86_400_000}d, got ${JSON.stringify(text)}`,
      field,
    );
  if (bounds.wholeSeconds && ms % 1000 !== 0)
    throw new ValidationError(`${field}: must be whole seconds (Temporal schedules run on seconds)`, field);
  return ms;
}

/**
 * Checks a schedule spec and compiles it, or throws a ValidationError naming the field at fault: a cron string or a
 * calendar field Temporal would refuse (`spec.cron[0]`, `spec.calendars[1].hour`), an unknown time zone or none with
 * cron or calendars (`spec.timezone`), an interval that is not a positive whole number of seconds or whose offset is
 * not below it (`spec.intervals[0].every`), endAt not after startAt, a jitter out of range. Calendars reach Temporal
 * as 7-field cron strings (second to year), which it parses exactly as it parses calendar fields.
 */
export function compileSpec(spec: ScheduleSpecRequest, prefix = 'spec'): CompiledSpec {
  const cron = spec.cron ?? [];
  const calendars = spec.calendars ?? [];
  const intervals = spec.intervals ?? [];
  if (cron.length + calendars.length + intervals.length === 0)
    throw new ValidationError(`${prefix}: give at least one of cron, intervals or calendars`, prefix);

  const fire: FireSpec = { calendars: [], intervals: [], timezone: spec.timezone ?? 'UTC' };
  const cronExpressions: string[] = [];
  cron.forEach((text, i) => {
    const field = `${prefix}.cron[${i}]`;
    try {
      fire.calendars.push(parseCron(text));
    } catch (err) {
      if (err instanceof CalendarSyntaxError)
        throw new ValidationError(`${field}: ${JSON.stringify(text)}: ${err.message}`, field);
      throw err;
    }
    cronExpressions.push(text.trim());
  });
  calendars.forEach((fields, i) => {
    try {
      fire.calendars.push(parseCalendar(fields));
    } catch (err) {
      if (err instanceof CalendarSyntaxError) {
        const field = `${prefix}.calendars[${i}]${err.field ? `.${err.field}` : ''}`;
        throw new ValidationError(`${field}: ${err.message}`, field);
      }
      throw err;
    }
    const order: CalendarField[] = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek', 'year'];
    cronExpressions.push(order.map((f) => String(fields[f] ?? CALENDAR_FIELDS[f].default).trim()).join(' '));
  });

  intervals.forEach((interval, i) => {
    const field = `${prefix}.intervals[${i}]`;
    const everyMs = durationField(interval.every, `${field}.every`, {
      min: L.minIntervalMs,
      max: L.maxIntervalMs,
      wholeSeconds: true,
    })!;
    const offsetMs =
      durationField(interval.offset, `${field}.offset`, { min: 0, max: L.maxIntervalMs, wholeSeconds: true }) ?? 0;
    if (offsetMs >= everyMs)
      throw new ValidationError(`${field}.offset: must be less than every (${interval.every})`, `${field}.offset`);
    fire.intervals.push({ everyMs, offsetMs });
  });

  if (spec.timezone !== undefined && !isTimeZone(spec.timezone)) {
    const spelling = zoneSpelling(spec.timezone);
    throw new ValidationError(
      spelling
        ? `${prefix}.timezone: ${JSON.stringify(spec.timezone)} is not spelled as the IANA database spells it (Temporal matches zone names case-sensitively): did you mean ${JSON.stringify(spelling)}?`
        : `${prefix}.timezone: ${JSON.stringify(spec.timezone)} is not an IANA time zone (e.g. Europe/Berlin, America/Los_Angeles, UTC)`,
      `${prefix}.timezone`,
    );
  }
  if (spec.timezone === undefined && (cron.length > 0 || calendars.length > 0))
    throw new ValidationError(
      `${prefix}.timezone: required with cron or calendars (the local time they name), e.g. "Europe/Berlin" or "UTC"`,
      `${prefix}.timezone`,
    );

  const startAt = spec.startAt ? new Date(spec.startAt) : undefined;
  const endAt = spec.endAt ? new Date(spec.endAt) : undefined;
  if (startAt && endAt && endAt.getTime() <= startAt.getTime())
    throw new ValidationError(`${prefix}.endAt: must be after startAt`, `${prefix}.endAt`);
  const jitterMs = durationField(spec.jitter, `${prefix}.jitter`, { min: 0, max: L.maxJitterMs });
  if (startAt) fire.startAt = startAt;
  if (endAt) fire.endAt = endAt;

  return {
    temporal: {
      ...(cronExpressions.length ? { cronExpressions } : {}),
      ...(fire.intervals.length
        ? {
            intervals: fire.intervals.map((i) => ({ every: i.everyMs, ...(i.offsetMs ? { offset: i.offsetMs } : {}) })),
          }
        : {}),
      ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}),
      ...(startAt ? { startAt } : {}),
      ...(endAt ? { endAt } : {}),
      ...(jitterMs !== undefined ? { jitter: jitterMs } : {}),
    },
    fire,
  };
}

const TEMPORAL_OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
};

/** An overlap policy in Temporal's spelling. */
export function temporalOverlap(policy: OverlapPolicy): ScheduleOverlapPolicy {
  return TEMPORAL_OVERLAP[policy];
}

/** Temporal's spelling back to the API's (an unset policy is Temporal's default, skip). */
export function apiOverlap(policy: ScheduleOverlapPolicy | undefined): OverlapPolicy {
  const found = (Object.keys(TEMPORAL_OVERLAP) as OverlapPolicy[]).find((k) => TEMPORAL_OVERLAP[k] === policy);
  return found ?? 'skip';
}

/** A policy checked (the catch-up window from 10 s to 365 d, named `policy.catchupWindow`) in Temporal's form. */
export function compilePolicy(policy: SchedulePolicyRequest, prefix = 'policy') {
  return {
    overlap: temporalOverlap(policy.overlap),
    catchupWindow: durationField(policy.catchupWindow, `${prefix}.catchupWindow`, {
      min: L.minCatchupWindowMs,
      max: L.maxCatchupWindowMs,
    })!,
    pauseOnFailure: policy.pauseOnFailure,
  };
}
