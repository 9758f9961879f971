/**
 * Calendar specs and cron strings with the grammar and meaning of Temporal's scheduler (server
 * service/worker/scheduler/calendar.go), so what Kiln accepts is what Temporal runs (when it fires, Kiln asks Temporal:
 * api/services/schedule-fire-times.ts):
 *
 * - a cron string has 5 fields (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (second first, + year),
 *   or is one of @yearly @annually @monthly @weekly @daily @midnight @hourly;
 * - each field is `*`, a value, `a-b`, `a/step` (a to the field's end), `a-b/step`, `* /step`, or a comma list of
 *   these; months and days of week also by name (at least 3 and 2 letters: JAN, MON, TU);
 * - a time matches when every field matches its local wall-clock time: day of month AND day of week (not the "or" of
 *   classic cron), so a local time skipped by a DST change does not fire as such (dst-warnings.ts says what Temporal
 *   does on such days).
 *
 * Kiln refuses what Temporal would refuse or silently reinterpret: `TZ=`/`CRON_TZ=` prefixes (the zone is the
 * schedule's `timezone`), `@every` (an interval spec says it), comments, steps too large for Temporal's integers. Day of
 * week 7 is Sunday, as in Temporal (`0 3 * * 7`, `5-7`, and `1/2`, which reaches 7).
 */

/** One field's range, as Temporal's structured calendar holds it: start..end inclusive, every `step`. */
export interface FieldRange {
  start: number;
  end: number;
  step: number;
}

/** A calendar spec in matching form: the ranges of each field. */
export interface StructuredCalendar {
  second: FieldRange[];
  minute: FieldRange[];
  hour: FieldRange[];
  dayOfMonth: FieldRange[];
  month: FieldRange[];
  dayOfWeek: FieldRange[];
  year: FieldRange[];
}

/** A calendar spec as a request writes it: each field a cron field (`"0"`, `"1-5"`, `"*"`, `"MON-FRI"`) or a number. */
export interface CalendarFields {
  second?: string | number;
  minute?: string | number;
  hour?: string | number;
  dayOfMonth?: string | number;
  month?: string | number;
  dayOfWeek?: string | number;
  year?: string | number;
}

/** The name of a calendar field. */
export type CalendarField = keyof StructuredCalendar;

/** Field bounds and the default of an absent field (Temporal's: second, minute, hour 0; the others every value). */
export const CALENDAR_FIELDS: Record<CalendarField, { min: number; max: number; default: string; names?: string[] }> = {
  second: { min: 0, max: 59, default: '0' },
  minute: { min: 0, max: 59, default: '0' },
  hour: { min: 0, max: 23, default: '0' },
  dayOfMonth: { min: 1, max: 31, default: '*' },
  month: {
    min: 1,
    max: 12,
    default: '*',
    names: [
      'january',
      'february',
      'march',
      'april',
      'may',
      'june',
      'july',
      'august',
      'september',
      'october',
      'november',
      'december',
    ],
  },
  dayOfWeek: {
    min: 0,
    // 7 is Sunday too (Temporal's dialect); parseCalendar folds it onto 0.
    max: 7,
    default: '*',
    names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'],
  },
  year: { min: 2000, max: 2100, default: '*' },
};

/** A spec Kiln cannot accept; `field` is the calendar field at fault, when one is. */
export class CalendarSyntaxError extends Error {
  constructor(
    message: string,
    readonly field?: CalendarField,
  ) {
    super(message);
    this.name = 'CalendarSyntaxError';
  }
}

const PREDEFINED: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIVE: CalendarField[] = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'];
const SIX: CalendarField[] = [...FIVE, 'year'];
const SEVEN: CalendarField[] = ['second', ...SIX];

/** Parses a cron string (the grammar above); CalendarSyntaxError says what is wrong and in which field. */
export function parseCron(cron: string): StructuredCalendar {
  const text = cron.trim();
  if (/^(CRON_)?TZ=/.test(text))
    throw new CalendarSyntaxError('a TZ= or CRON_TZ= prefix is not accepted: give the zone as spec.timezone');
  if (text.startsWith('@every'))
    throw new CalendarSyntaxError('@every is not accepted in a cron string: use spec.intervals');
  if (text.includes('#')) throw new CalendarSyntaxError('comments (#) are not accepted in a cron string');
  const expanded = PREDEFINED[text] ?? text;
  if (expanded.startsWith('@')) throw new CalendarSyntaxError(`unknown shorthand ${JSON.stringify(text)}`);
  const parts = expanded.split(/\s+/).filter((p) => p.length > 0);
  const names = parts.length === 5 ? FIVE : parts.length === 6 ? SIX : parts.length === 7 ? SEVEN : undefined;
  if (!names)
    throw new CalendarSyntaxError(
      `a cron string has 5 fields (minute hour day-of-month month day-of-week), 6 (+ year) or 7 (second first); got ${parts.length}`,
    );
  const fields: CalendarFields = {};
  names.forEach((name, i) => (fields[name] = parts[i]));
  return parseCalendar(fields);
}

/** Parses a calendar spec's fields (absent ones take their defaults); CalendarSyntaxError names the field. */
export function parseCalendar(fields: CalendarFields): StructuredCalendar {
  const out = {} as StructuredCalendar;
  for (const name of Object.keys(CALENDAR_FIELDS) as CalendarField[]) {
    const value = fields[name];
    const { min, max } = CALENDAR_FIELDS[name];
    // A number is one value: -1 would otherwise read as the malformed range "-1".
    if (typeof value === 'number' && (value < min || value > max))
      throw new CalendarSyntaxError(`${name}: ${value} is out of range (${min} to ${max})`, name);
    out[name] = parseField(name, value === undefined ? CALENDAR_FIELDS[name].default : String(value));
  }
  // Temporal matches day of week 7 as 0 (Sunday): hold the days as single values 0-6.
  out.dayOfWeek = [...new Set(fieldValues(out.dayOfWeek).map((v) => v % 7))]
    .sort((a, b) => a - b)
    .map((v) => ({ start: v, end: v, step: 1 }));
  return out;
}

/** The largest step Kiln passes on: Temporal reads steps as Go ints; any step above a field's span matches one value. */
export const MAX_STEP = 2_147_483_647;

/** One field: `*`, `v`, `a-b`, `a/s`, `a-b/s`, `* /s` or a comma list of these. */
function parseField(name: CalendarField, text: string): FieldRange[] {
  const { min, max } = CALENDAR_FIELDS[name];
  const trimmed = text.trim();
  if (trimmed === '') throw new CalendarSyntaxError(`${name} is empty`, name);
  return trimmed.split(',').map((part) => {
    let body = part;
    let step = 1;
    let hasStep = false;
    if (part.includes('/')) {
      const pieces = part.split('/');
      if (pieces.length !== 2 || !/^[0-9]+$/.test(pieces[1]))
        throw new CalendarSyntaxError(`${name}: ${JSON.stringify(part)} is not a range with a step`, name);
      step = Number(pieces[1]);
      if (step > MAX_STEP)
        throw new CalendarSyntaxError(
          `${name}: the step in ${JSON.stringify(part)} is too large (at most ${MAX_STEP}; any step above ${max - min + 1} matches only the range's start)`,
          name,
        );
      if (step < 1)
        throw new CalendarSyntaxError(`${name}: the step in ${JSON.stringify(part)} must be at least 1`, name);
      body = pieces[0];
      hasStep = true;
    }
    let start = min;
    let end = max;
    if (body !== '*') {
      if (body.includes('-')) {
        const pieces = body.split('-');
        if (pieces.length !== 2) throw new CalendarSyntaxError(`${name}: ${JSON.stringify(part)} is malformed`, name);
        start = parseValue(name, pieces[0], min, max);
        end = parseValue(name, pieces[1], start, max);
      } else {
        start = parseValue(name, body, min, max);
        // `a/step` runs from a to the field's end; a lone value is itself.
        end = hasStep ? max : start;
      }
    }
    return { start, end, step };
  });
}

function parseValue(name: CalendarField, text: string, min: number, max: number): number {
  const { names } = CALENDAR_FIELDS[name];
  const minLetters = name === 'month' ? 3 : 2;
  let value: number | undefined;
  if (names && /^[A-Za-z]+$/.test(text)) {
    if (text.length >= minLetters) {
      const index = names.findIndex((n) => n.startsWith(text.toLowerCase()));
      if (index >= 0) value = name === 'month' ? index + 1 : index;
    }
    if (value === undefined) throw new CalendarSyntaxError(`${name}: ${JSON.stringify(text)} is not a name`, name);
  } else {
    if (!/^[0-9]+$/.test(text)) throw new CalendarSyntaxError(`${name}: ${JSON.stringify(text)} is not a number`, name);
    value = Number(text);
  }
  if (value < min || value > max) {
    const bounds = CALENDAR_FIELDS[name];
    throw new CalendarSyntaxError(
      `${name}: ${text} is out of range (${min > bounds.min ? `${min}, the range's start,` : bounds.min} to ${max})`,
      name,
    );
  }
  return value;
}

/** The sorted values a field matches. */
export function fieldValues(ranges: FieldRange[]): number[] {
  const values = new Set<number>();
  for (const r of ranges) for (let v = r.start; v <= Math.max(r.start, r.end); v += Math.max(1, r.step)) values.add(v);
  return [...values].sort((a, b) => a - b);
}

/**
 * A calendar as predicates on wall times (a local wall-clock time read as if it were UTC, ms: time-zone.ts wallAsUtcMs),
 * on lookup tables: no time zone data, no allocation but one Date, for checks that run per second of an hour.
 */
export interface WallMatcher {
  /** Whether the calendar names this second. */
  matches(wall: number): boolean;
  /** Whether it names any second of this wall time's hour (its date and hour match). */
  namesHour(wall: number): boolean;
}

function table(values: number[], size: number): boolean[] {
  const out = new Array<boolean>(size).fill(false);
  for (const v of values) if (v < size) out[v] = true;
  return out;
}

/** The WallMatcher of a calendar. */
export function wallMatcher(c: StructuredCalendar): WallMatcher {
  const years = new Set(fieldValues(c.year));
  const months = table(fieldValues(c.month), 13);
  const days = table(fieldValues(c.dayOfMonth), 32);
  const weekdays = table(fieldValues(c.dayOfWeek), 7);
  const hours = table(fieldValues(c.hour), 24);
  const minutes = table(fieldValues(c.minute), 60);
  const seconds = table(fieldValues(c.second), 60);
  const hourOf = (d: Date) =>
    hours[d.getUTCHours()] &&
    days[d.getUTCDate()] &&
    months[d.getUTCMonth() + 1] &&
    weekdays[d.getUTCDay()] &&
    years.has(d.getUTCFullYear());
  return {
    matches: (wall) => {
      const d = new Date(wall);
      return seconds[d.getUTCSeconds()] && minutes[d.getUTCMinutes()] && hourOf(d);
    },
    namesHour: (wall) => hourOf(new Date(wall)),
  };
}
