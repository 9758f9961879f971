/**
 * Order statistics on an ascending array: numpy's default quantile and the two binary searches the checks count with.
 */

/**
 * numpy.quantile(a, q) with the default method='linear' (Hyndman & Fan type 7) on `sorted[0, n)`, ascending and
 * non-empty, q in [0, 1]. Evaluated with the same floating-point steps as numpy (virtual index (n−1)·q, numpy's
 * `_lerp` that interpolates from the nearer end), so edges derived from it match numpy bit for bit. Always finite
for finite input (see the overflow case below).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number, n = sorted.length): number {
  if (n <= 0) throw new RangeError('quantile of an empty array');
  const v = (n - 1) * q;
  if (v >= n - 1) return sorted[n - 1];
  const i = Math.floor(v);
  const t = v - i;
  const a = sorted[i];
  const b = sorted[i + 1];
  const diff = b - a;
  // b − a overflows only for neighbours of opposite sign near ±1.8e308, where numpy answers ±inf or NaN; the
  // weighted mean is finite there.
  if (!Number.isFinite(diff)) return a * (1 - t) + b * t;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Number of values in `sorted[0, n)` strictly below x (numpy.searchsorted side='left'). */
export function countBelow(sorted: ArrayLike<number>, x: number, n = sorted.length): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values in `sorted[0, n)` at or below x (numpy.searchsorted side='right'). */
export function countAtMost(sorted: ArrayLike<number>, x: number, n = sorted.length): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
