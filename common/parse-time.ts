/**
 * Instants as clients write them in query strings and telemetry files: ISO-8601 with an explicit zone, or epoch
 * milliseconds. A time without a zone would depend on the server's zone, so it is refused.
 */

const EPOCH_MS = /^\d{1,15}$/;
// A date, or a date-time with an explicit zone; groups: year, month, day, hour, minute, second.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** What parseTime accepts, for error messages. */
export const TIME_FORMATS = 'an ISO-8601 time with a zone (Z or ±hh:mm) or epoch milliseconds';

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Epoch milliseconds of `value`: ISO-8601 (`2025-01-02T03:04:05.678Z`, `2025-01-02 03:04+02:00`, `2025-01-02` as UTC
 * midnight; fractions beyond milliseconds are truncated) or epoch milliseconds (up to 15 digits). NaN when it is
 * neither, or names a day or time that does not exist (`2025-02-30`, `24:00`, a leap second): Date.parse would roll
 * those over into the next day or month.
 */
export function parseTimeMs(value: string): number {
  if (EPOCH_MS.test(value)) return Number(value);
  const m = ISO_8601.exec(value);
  if (!m) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))) {
    return NaN;
  }
  return Date.parse(value);
}

/** parseTimeMs as a Date; undefined when it is NaN. */
export function parseTime(value: string): Date | undefined {
  const ms = parseTimeMs(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
