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
const WEEK_MS = 7 * DAY_MS;

/** A change of a zone's UTC offset: the first second of the new offset, and the offsets (ms) either side of it. */
export interface OffsetChange {
  /** ms since the epoch, a whole second: the first instant at `after`. */
  at: number;
  before: number;
  after: number;
}

/** Offset changes per `zone|year`, found once: the tz rules of a year do not change while the process runs. */
const changesByYear = new Map<string, OffsetChange[]>();
/** Entries kept before the cache starts over (each year of one zone is one entry, a few changes long). */
const CHANGE_CACHE_ENTRIES = 20_000;

/**
 * The offset changes of `zone` in (from, to] (ms), earliest first, from the runtime's tz data. Each calendar year is
 * searched once per process (cached): the offset is read at weekly steps and a change is pinned to its second by
 * bisection, so the cost is about 52 + 20 per change reads of the offset per year, whatever a caller does with them.
 * Two changes within one week that cancel each other out (the offset the same a week apart) are not seen; no zone has
 * had such a pair since 2000.
 */
export function offsetChanges(zone: string, from: number, to: number): OffsetChange[] {
  const out: OffsetChange[] = [];
  if (!(to > from)) return out;
  const first = new Date(from).getUTCFullYear();
  const last = new Date(Math.min(to, 8.64e15)).getUTCFullYear();
  for (let year = first; year <= last; year++)
    for (const change of changesIn(zone, year)) if (change.at > from && change.at <= to) out.push(change);
  return out;
}

/** The changes in (start of `year`, start of the next year] (UTC). */
function changesIn(zone: string, year: number): OffsetChange[] {
  const key = `${zone}|${year}`;
  const cached = changesByYear.get(key);
  if (cached) return cached;
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  const changes: OffsetChange[] = [];
  let t = start;
  let offset = offsetMs(zone, t);
  while (t < end) {
    const next = Math.min(t + WEEK_MS, end);
    const nextOffset = offsetMs(zone, next);
    if (nextOffset !== offset) {
      // The first second in (t, next] whose offset is not `offset`; a second change before `next` is found next round.
      let a = t / 1000;
      let b = next / 1000;
      while (b - a > 1) {
        const mid = Math.floor((a + b) / 2);
        if (offsetMs(zone, mid * 1000) === offset) a = mid;
        else b = mid;
      }
      const after = offsetMs(zone, b * 1000);
      changes.push({ at: b * 1000, before: offset, after });
      t = b * 1000;
      offset = after;
    } else t = next;
  }
  if (changesByYear.size >= CHANGE_CACHE_ENTRIES) changesByYear.clear();
  changesByYear.set(key, changes);
  return changes;
}

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

/** Legacy IANA names that are one offset all year, and the place people often mean by them. */
const FIXED_ABBREVIATIONS: Record<string, string> = {
  EST: 'America/New_York',
  MST: 'America/Denver',
  HST: 'Pacific/Honolulu',
};

/**
 * A warning for a zone name that is a fixed UTC offset though it reads like a region (`EST`, `MST`, `HST`: no daylight
 * saving time) or whose sign is the reverse of what it seems (`Etc/GMT+3` is UTC−03:00, POSIX style); undefined for
 * any other zone (UTC and its aliases included). Temporal accepts them all; the schedule runs at that fixed offset.
 */
export function fixedOffsetWarning(zone: string): string | undefined {
  const etc = /^Etc\/GMT([+-])([0-9]{1,2})$/.exec(zone);
  const place = FIXED_ABBREVIATIONS[zone];
  if ((!etc || Number(etc[2]) === 0) && !place) return undefined;
  const minutes = Math.round(offsetMs(zone, 0) / 60_000);
  const utc = `UTC${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
  if (etc)
    return (
      `${zone} is a fixed offset, ${utc} all year (POSIX signs: ${zone} is ${etc[2]} hours ` +
      `${etc[1] === '+' ? 'behind' : 'ahead of'} UTC), with no daylight saving time; name a place (e.g. Europe/Berlin) for a local time that follows its clocks`
    );
  return `${zone} is a fixed offset, ${utc} all year, with no daylight saving time: it is not the local time of a place (for that, use ${place})`;
}
