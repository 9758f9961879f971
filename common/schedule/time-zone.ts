/**
 * IANA time zones through the runtime's ICU data (Intl): validity, UTC offsets, and local wall-clock times mapped to
 * instants, gaps and repeats included. Times are whole seconds, as schedules fire.
 */

/** A local wall-clock time (month 1-12), as a calendar spec matches it. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

// IANA names only ("Europe/Berlin", "UTC", "US/Pacific"): ICU also accepts offsets such as "+01:00", which Temporal's
// server (Go's time.LoadLocation) does not.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * True for an IANA zone name spelled as the IANA database spells it ("Europe/Berlin", "UTC", "America/Los_Angeles",
 * links such as "US/Pacific"): Temporal's server loads zones case-sensitively, while ICU would take "europe/berlin".
 */
export function isTimeZone(zone: string): boolean {
  return zoneSpelling(zone) === zone;
}

/**
 * The IANA spelling of a zone name that is one up to case ("europe/berlin" → "Europe/Berlin", "utc" → "UTC"; a link in
 * the wrong case, "us/pacific", gives its target, "America/Los_Angeles"); the name itself when it is spelled right;
 * undefined when it names no zone at all.
 */
export function zoneSpelling(zone: string): string | undefined {
  if (!ZONE_NAME.test(zone)) return undefined;
  let resolved: string;
  try {
    resolved = formatter(zone).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  if (resolved === zone) return zone;
  // ICU matches names case-insensitively: the same name in another case is a misspelling.
  if (resolved.toLowerCase() === zone.toLowerCase()) return resolved;
  // A link ICU resolved to its target (US/Pacific, GMT, Asia/Calcutta): IANA names start each part upper case.
  return zone.split('/').every((part) => /^[A-Z]/.test(part)) ? zone : resolved;
}

/** The local wall-clock time at `instantMs` (floored to the second) in `zone`. */
export function wallTimeAt(zone: string, instantMs: number): WallTime {
  const parts = formatter(zone).formatToParts(new Date(Math.floor(instantMs / 1000) * 1000));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** A wall time read as if it were UTC, in ms: what offsets are measured against. */
export function wallAsUtcMs(w: WallTime): number {
  // Date.UTC reads years 0-99 as 1900-1999: set the year apart.
  const d = new Date(Date.UTC(2000, w.month - 1, w.day, w.hour, w.minute, w.second));
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  return d.getTime();
}

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7,200,000). */
export function offsetMs(zone: string, instantMs: number): number {
  const floored = Math.floor(instantMs / 1000) * 1000;
  return wallAsUtcMs(wallTimeAt(zone, floored)) - floored;
}

const DAY_MS = 86_400_000;

/**
 * The instants at which `zone`'s clocks show wall time `w`, earliest first: one normally, none in a gap (clocks jump
 * over it when DST starts), two in a repeat (clocks go back over it when DST ends). Assumes at most one offset change
 * within a day of `w`, true of every zone in the IANA database.
 */
export function instantsOf(zone: string, w: WallTime): number[] {
  const local = wallAsUtcMs(w);
  const candidates = new Set([local - offsetMs(zone, local - DAY_MS), local - offsetMs(zone, local + DAY_MS)]);
  return [...candidates].filter((t) => local - t === offsetMs(zone, t)).sort((a, b) => a - b);
}

/** ISO-8601 with the zone's offset at that instant: `2027-03-28T03:30:00+02:00`. */
export function formatLocal(zone: string, instantMs: number): string {
  const w = wallTimeAt(zone, instantMs);
  const offset = Math.round(offsetMs(zone, instantMs) / 60_000);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${formatWall(w)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `2027-03-28T02:30:00`: a wall time without a zone. */
export function formatWall(w: WallTime): string {
  return (
    `${String(w.year).padStart(4, '0')}-${pad(w.month)}-${pad(w.day)}` +
    `T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`
  );
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
