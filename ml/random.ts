/**
 * A small seeded PRNG (mulberry32) for everything in ml/ that must be reproducible: the same seed gives the same
 * sequence on every machine and backend, which Math.random cannot promise and which Temporal retries rely on.
 * Not cryptographic; 32 bits of state is plenty for picking initial centroids.
 */
export class Random {
  private state: number;

  /** Any finite number is a valid seed; it is folded to 32 bits so that 1 and 1.0 (and 2^32 + 1) agree. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.state = Number(BigInt.asUintN(32, BigInt(Math.trunc(seed)))) >>> 0;
  }

  /** Next 32-bit unsigned integer (mulberry32 step). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1); never returns 1, so `floor(nextFloat() * n)` is always a valid index. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller; one of the pair, so each call draws two uniforms). */
  nextGaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.nextFloat())) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`nextInt bound must be a positive integer, got ${n}`);
    return Math.floor(this.nextFloat() * n);
  }

  /** `count` distinct indices from [0, n), in random order (partial Fisher–Yates, O(count) memory via a sparse swap map). */
  sampleDistinct(n: number, count: number): number[] {
    if (!Number.isInteger(count) || count < 0 || count > n) {
      throw new RangeError(`sampleDistinct count must be an integer in 0..${n}, got ${count}`);
    }
    const swapped = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const j = i + this.nextInt(n - i);
      const atJ = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push(atJ);
    }
    return out;
  }
}

/**
 * Prefix sums in float64, so weighted sampling over many small float32 weights stays exact enough
 * (scikit-learn's stable_cumsum plays the same role).
 */
export function cumulativeSum(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length);
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    acc += w > 0 ? w : 0; // negative weights (float round-off in distances) count as zero
    out[i] = acc;
  }
  return out;
}

/**
 * Index drawn with probability proportional to its weight, given the prefix sums of the (non-negative) weights.
 * Uses the first index whose prefix sum is strictly greater than u·total, so zero-weight entries are never drawn.
 * If every weight is zero the draw is uniform, which is what k-means++ needs when there are fewer distinct points
 * than clusters.
 */
export function sampleWeighted(cumulative: Float64Array, rng: Random): number {
  const n = cumulative.length;
  if (n === 0) throw new RangeError('sampleWeighted needs at least one weight');
  const total = cumulative[n - 1];
  if (!(total > 0)) return rng.nextInt(n);
  const target = rng.nextFloat() * total;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
