/**
 * Seeded row orders: the train/validation split and each epoch's batch order. Both are pure functions of the seed
 * (and the epoch), so a resumed run needs no RNG state to reproduce them.
 */
import { Random } from '../random';

/** A uniformly random permutation of 0..n-1 (Fisher–Yates) from `rng`. */
export function permutation(n: number, rng: Random): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Shuffles the n row indices with `seed` and holds out the first `validationRows` of them; both parts are returned in
 * ascending row order so that downstream results do not depend on the shuffle beyond membership.
 */
export function trainValidationSplit(
  n: number,
  validationRows: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  if (!Number.isSafeInteger(validationRows) || validationRows < 0 || validationRows > n) {
    throw new RangeError(`validationRows must be an integer in 0..${n}, got ${validationRows}`);
  }
  const p = permutation(n, new Random(seed));
  return { validation: p.slice(0, validationRows).sort(), train: p.slice(validationRows).sort() };
}

/** Epoch `epoch`'s (0-based) order of the n training positions: depends only on seed and epoch. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  // Fold the epoch into the 32-bit seed with a golden-ratio multiplier so neighbouring epochs get unrelated streams,
  // and XOR a constant so epoch orders never replay the split's stream.
  const mixed = ((Math.trunc(seed) >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  return permutation(n, new Random(mixed));
}
