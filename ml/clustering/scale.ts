/**
 * Per-run scaling of clustering inputs, so that float32 device work never sees squares outside float32's range.
 *
 * Why: the device computes squared distances as ‖x‖² + ‖c‖² − 2x·c (or (x − c)²) in float32, whose largest finite
 * value is ~3.4e38 and smallest normal ~1.2e-38. Coordinates near 1e20 square to 1e40 (Infinity, then NaN from
 * Infinity − Infinity); coordinates near 1e-25 square to 1e-50 (0), so distinct points look identical. Both gave
 * wrong answers (one cluster, `inertia: null`) rather than errors.
 *
 * How: every algorithm divides its input by S = a power of two chosen so that the largest |coordinate| lies in
 * [1, 2), runs unchanged on the scaled copy, and multiplies lengths back by S (squared lengths by S², variances by S²)
 * in float64. Dividing by a power of two is exact in binary floating point (short of subnormals), and IEEE rounding
 * commutes with it, so every comparison, argmin and sum over the scaled data is the scaled version of the same
 * computation on the original data: labels and convergence do not change, and results agree bit for bit with an
 * unscaled run wherever that run did not overflow or underflow. Inputs already of moderate magnitude (largest
 * |coordinate| in [SAFE_MAGNITUDE.min, SAFE_MAGNITUDE.max]) are not copied at all (S = 1).
 */

/**
 * Magnitudes left as they are: the largest |coordinate| between 2^-20 (~1e-6) and 2^20 (~1e6). Squares of anything
 * in that range, and of the smallest differences float32 can hold between such coordinates (~2^-24 of them), stay far
 * inside float32's normal range even summed over a million dimensions.
 */
export const SAFE_MAGNITUDE = { min: 2 ** -20, max: 2 ** 20 } as const;

/**
 * The scale S (a power of two) for values: 1 when the largest finite |value| is 0 or within SAFE_MAGNITUDE, else the
 * power of two with largest |value| / S in [1, 2). Non-finite values are skipped here (input validation rejects them).
 */
export function magnitudeScale(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > max && a !== Infinity) max = a;
  }
  return scaleForMagnitude(max);
}

/** magnitudeScale's rule for a largest finite |value| already known (for callers that scan the data anyway). */
export function scaleForMagnitude(max: number): number {
  if (max === 0 || (max >= SAFE_MAGNITUDE.min && max <= SAFE_MAGNITUDE.max)) return 1;
  return powerOfTwoAtMost(max);
}

/** The largest power of two ≤ x (x > 0 and finite), computed exactly (no log rounding). */
export function powerOfTwoAtMost(x: number): number {
  let e = Math.floor(Math.log2(x));
  // log2 can be off by one ulp near powers of two; fix the exponent exactly.
  if (2 ** e > x) e--;
  if (2 ** (e + 1) <= x) e++;
  // 2 ** e underflows to 0 below 2^-1074 and overflows above 2^1023; float32 input never gets there.
  return 2 ** e;
}

/** points / scale as a new Float32Array (exact for a power-of-two scale), or points itself when scale is 1. */
export function scaledPoints(points: Float32Array, scale: number): Float32Array {
  if (scale === 1) return points;
  const inv = 1 / scale;
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i++) out[i] = points[i] * inv;
  return out;
}

/** Rows of numbers multiplied by factor (a new array). */
export function scaleRows(rows: number[][], factor: number): number[][] {
  return rows.map((row) => row.map((v) => v * factor));
}
