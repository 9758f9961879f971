/**
 * The report promises that every number in it is finite (JSON cannot carry NaN or ±Infinity, and a client must never
 * mistake one for a result). Every statistic is guarded where it is computed; this is the last line: it copies a
 * JSON-like value, replaces any non-finite number with null and lists where it found one, so the caller can report
 * the fault (the `non_finite_result` check) instead of shipping it.
 */
export function replaceNonFinite<T>(value: T, path = '$', found: string[] = []): { value: T; found: string[] } {
  const walk = (v: unknown, at: string): unknown => {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
      found.push(at);
      return null;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${at}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) if (item !== undefined) out[k] = walk(item, `${at}.${k}`);
      return out;
    }
    return v;
  };
  return { value: walk(value, path) as T, found };
}
