/**
 * The last check before a numeric result leaves ml/: a NaN or ±Infinity where a number belongs is an error, never a
 * result. JSON has no NaN or Infinity, so JSON.stringify would write `null` in their place and a job would "succeed"
 * with `inertia: null` or `eigenvalues: [null, null]`; this guard turns that into a failure that says where it was.
 */

/** Thrown by assertFiniteResult; `path` names the offending field (e.g. "extras.eigenvalues[0]"). */
export class NonFiniteResultError extends Error {
  constructor(
    readonly what: string,
    readonly path: string,
    readonly value: number,
  ) {
    super(
      `${what} is not finite: ${path} is ${value}. The computation overflowed or diverged on this input ` +
        '(magnitudes beyond floating-point range, or a degenerate configuration); no result is returned rather than a ' +
        'wrong one',
    );
    this.name = 'NonFiniteResultError';
  }
}

/**
 * Walks value (numbers, arrays, typed arrays, plain objects; other types are skipped) and throws NonFiniteResultError
 * for the first number that is NaN or ±Infinity. `what` says whose result it is, for the message. Cost: one visit per
 * number.
 */
export function assertFiniteResult(what: string, value: unknown): void {
  const bad = firstNonFinite(value, '');
  if (bad) throw new NonFiniteResultError(what, bad.path || '(the value)', bad.value);
}

function firstNonFinite(value: unknown, path: string): { path: string; value: number } | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, value };
  if (value === null || typeof value !== 'object') return undefined;
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return undefined;
    const arr = value as unknown as ArrayLike<number | bigint>;
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (typeof v === 'number' && !Number.isFinite(v)) return { path: `${path}[${i}]`, value: v };
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = firstNonFinite(value[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const bad = firstNonFinite(v, path ? `${path}.${key}` : key);
    if (bad) return bad;
  }
  return undefined;
}
