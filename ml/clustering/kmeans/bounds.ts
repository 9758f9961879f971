/**
 * Hamerly's bounds for k-means (G. Hamerly, "Making k-means even faster", SDM 2010), arranged so that the labels are
 * exactly those of a plain Lloyd pass (shard.ts), not merely those of exact arithmetic.
 *
 * Plain Lloyd labels a point with argmin_c ŝ(x, c), where ŝ is the float32 score ‖c‖² − 2x·c from one matMul of the
 * centred float32 row [x | 1] with [−2c | ‖c‖²] (c rounded to float32). For every point this module keeps an upper
 * bound u on the exact distance to its labelled centroid and a lower bound l on the exact distance to every other one;
 * each pass moves them by how far the centroids moved (triangle inequality) and keeps the label when
 *
 *     u² + 2ε < max(l, s(a) − u)²,        s(a) = distance from centroid a to its nearest other centroid,
 *
 * where ε bounds the float32 rounding of ŝ + ‖x‖² against the exact squared distance. A dot product of m terms in
 * float32, in any order, with or without fused multiply-adds, is within γ_m·Σ|terms| of the exact one (Higham,
 * "Accuracy and Stability of Numerical Algorithms", §3.1, γ_m = m·u/(1 − m·u), u = 2⁻²⁴); with the d + 1 terms of
 * the score and the float32 rounding of ‖c‖² this gives |ŝ + ‖x‖² − ‖x − c‖²| ≤ γ_{d+2}·(‖x‖ + ‖c‖)², and
 * ε = 2·(d + 2)·2⁻²⁴·(max‖x‖ + max‖c‖)² is at least that with room for the float64 arithmetic of the bounds. So a
 * kept label has ŝ(x, a) < ŝ(x, c) for every other c: the very argmin, ties included, that the matMul would give.
 *
 * A point whose test fails first gets its exact distance to its centroid (u tightened, on the host in float64); if it
 * still fails, the candidate step (filter) computes its exact distances to the few centroids that could be closer and
 * settles it when one wins by more than 2ε; otherwise it is scored again by the same matMul as Lloyd, on its row copied
 * to the device exactly as uploaded (a row's product does not depend on the other rows in the call: checked by the
 * tests), and its smallest and second-smallest scores give fresh bounds, u² ≤ ŝ_a + ‖x‖² + ε and
 * l² ≥ ŝ_second + ‖x‖² − ε.
 *
 * Memory: u, l and ‖x‖² per row, 12 bytes (float32, the bounds rounded outward), beside the 4·d bytes of the row
 * itself; the shard adds its labels and scratch lists (shard.ts).
 */

/** Relative slack on float64 distances between float32 centroids (their rounding is ~d·2⁻⁵³). */
const F64_SLACK = 1e-10;

/** A float32 value ≥ v (v ≥ 0): a stored upper bound that never falls below the bound it stores. */
export function roundUp(v: number): number {
  return Math.fround(v * (1 + 2 ** -22) + 1e-30);
}

/** A float32 value ≤ v: a stored lower bound that never rises above the bound it stores. */
export function roundDown(v: number): number {
  return Math.fround(v * (1 - 2 ** -22) - 1e-30);
}

/** Centroids (k×d, float64) rounded to float32 exactly as the score matrix rounds them, kept in float64. */
export function float32Centroids(centroids: Float64Array): Float64Array {
  return centroids.map((v) => Math.fround(v));
}

/** What one pass's bound updates need to know about the centroids, all distances exact up to F64_SLACK outward. */
export interface CentroidGeometry {
  /** Per centroid: how far it moved since the bounds were last set (upper bound); all 0 without a previous pass. */
  shift: Float64Array;
  /** Largest shift, the centroid that has it, and the second largest: every other centroid moved at most these. */
  maxShift: number;
  maxShiftAt: number;
  secondShift: number;
  /** Per centroid: distance to its nearest other centroid (lower bound); Infinity for k = 1. */
  separation: Float64Array;
  /** Largest centroid norm (upper bound), for ε. */
  maxNorm: number;
  /**
   * Per centroid c, the other k − 1 centroids nearest first (neighbours[c·(k−1) + t]) and their distances from c
   * (lower bounds, ascending), for the candidate step of HamerlyBounds.filter.
   */
  neighbours: Int32Array;
  neighbourDistance: Float64Array;
}

/** Shifts against `previous` (absent: none), separations, neighbour lists and the largest norm; O(k²·(d + log k)). */
export function centroidGeometry(
  previous: Float64Array | undefined,
  next: Float64Array,
  k: number,
  d: number,
): CentroidGeometry {
  const shift = new Float64Array(k);
  const separation = new Float64Array(k).fill(Infinity);
  const between = new Float64Array(k * k);
  let maxNorm = 0;
  for (let c = 0; c < k; c++) {
    let moved = 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = next[c * d + j];
      norm += v * v;
      if (previous) moved += (v - previous[c * d + j]) ** 2;
    }
    shift[c] = Math.sqrt(moved) * (1 + F64_SLACK);
    maxNorm = Math.max(maxNorm, Math.sqrt(norm) * (1 + F64_SLACK));
    for (let o = 0; o < c; o++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (next[c * d + j] - next[o * d + j]) ** 2;
      const dist = Math.sqrt(s) * (1 - F64_SLACK);
      between[c * k + o] = dist;
      between[o * k + c] = dist;
      if (dist < separation[c]) separation[c] = dist;
      if (dist < separation[o]) separation[o] = dist;
    }
  }
  const neighbours = new Int32Array(k * (k - 1));
  const neighbourDistance = new Float64Array(k * (k - 1));
  const order = Array.from({ length: k }, (_, c) => c);
  for (let c = 0; c < k; c++) {
    const others = order.filter((o) => o !== c).sort((x, y) => between[c * k + x] - between[c * k + y] || x - y);
    others.forEach((o, t) => {
      neighbours[c * (k - 1) + t] = o;
      neighbourDistance[c * (k - 1) + t] = between[c * k + o];
    });
  }
  let maxShift = -1;
  let maxShiftAt = -1;
  let secondShift = 0;
  for (let c = 0; c < k; c++) {
    if (shift[c] > maxShift) {
      secondShift = Math.max(secondShift, maxShift);
      maxShift = shift[c];
      maxShiftAt = c;
    } else if (shift[c] > secondShift) secondShift = shift[c];
  }
  return { shift, maxShift, maxShiftAt, secondShift, separation, maxNorm, neighbours, neighbourDistance };
}

/**
 * Rows of one shard (raw float32 points, centred with `mean` and rounded to float32 as they were uploaded) with their
 * Hamerly bounds. Labels are the shard's own (shard.ts), shared rather than copied.
 */
export class HamerlyBounds {
  /** Upper bound on the distance from each row to its labelled centroid. */
  readonly upper: Float32Array;
  /** Lower bound on the distance from each row to every other centroid. */
  readonly lower: Float32Array;
  /** ‖x‖² of each centred row, rounded to float32 (so within a factor 1 ± 2⁻²⁴ of the exact one). */
  readonly squaredNorm: Float32Array;
  /** The float32-rounded centroids the bounds refer to. */
  centroids: Float64Array | undefined;
  /** 2·(d + 2)·2⁻²⁴: ε = this × (‖x‖ + max‖c‖)² (module comment). */
  private readonly epsFactor: number;
  /** An upper bound on ‖x‖ over all rows: ε is taken for the largest, one number per pass. */
  private readonly maxRowNorm: number;

  /**
   * squaredNorm: ‖x‖² of each centred row (float32-rounded as uploaded), summed in float64 and rounded to float32;
   * taken over (not copied), or computed here when absent.
   */
  constructor(
    private readonly points: Float32Array,
    private readonly mean: Float64Array,
    readonly rows: number,
    private readonly d: number,
    squaredNorm?: Float32Array,
  ) {
    this.upper = new Float32Array(rows);
    this.lower = new Float32Array(rows);
    this.epsFactor = 2 * (d + 2) * 2 ** -24;
    if (!squaredNorm) {
      squaredNorm = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const x = Math.fround(points[i * d + j] - mean[j]);
          s += x * x;
        }
        squaredNorm[i] = s;
      }
    }
    this.squaredNorm = squaredNorm;
    let largest = 0;
    for (let i = 0; i < rows; i++) if (squaredNorm[i] > largest) largest = squaredNorm[i];
    // squaredNorm is within a factor 1 ± 2⁻²⁴ of the float64 sum: 2⁻²³ covers it.
    this.maxRowNorm = Math.sqrt(largest * (1 + 2 ** -23)) * (1 + F64_SLACK);
  }

  /** Centred row i, rounded to float32 as uploaded, into `out` (d values): computed once per row for all its distances. */
  private centred(i: number, out: Float64Array): void {
    const { points, mean, d } = this;
    for (let j = 0; j < d; j++) out[j] = Math.fround(points[i * d + j] - mean[j]);
  }

  /**
   * The squared distance from a centred row (centred()) to centroid c of `cf` (float32 values) in float64: the
   * differences of float32 values are exact there, so it is within ~d·2⁻⁵³ relative of the exact one.
   */
  private squaredDistance(x: Float64Array, cf: Float64Array, c: number): number {
    const { d } = this;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = x[j] - cf[c * d + j];
      s += v * v;
    }
    return s;
  }

  /**
   * ε for every row against centroids of largest norm maxNorm: taken at the largest row norm, which loosens the test
   * by a few ulps of the squared distances for the smaller rows but spares a square root per row and pass.
   */
  eps(maxNorm: number): number {
    const t = this.maxRowNorm + maxNorm;
    return this.epsFactor * t * t;
  }

  /**
   * Sets row i's bounds from its full row of scores: `best` is the smallest (that of its label), `second` the smallest
   * of any other centroid (Infinity for k = 1; −Infinity when unknown, for a lower bound of 0); eps: this.eps() for
   * the centroids scored against.
   */
  setFromScores(i: number, best: number, second: number, eps: number): void {
    const xx = this.squaredNorm[i];
    this.upper[i] = roundUp(Math.sqrt(Math.max(0, best + xx * (1 + 2 ** -23) + eps)));
    const low = second + xx * (1 - 2 ** -23) - eps;
    this.lower[i] = low > 0 ? roundDown(Math.sqrt(low)) : 0;
  }

  /**
   * Moves every row's bounds to the centroids `cf` (geometry g against the previous ones) and keeps each label the
   * test proves unchanged. A row that fails it gets its exact distance to its centroid (u tightened, O(d) on the host)
   * and is tested again; if it still fails, the candidate step scores it on the host against the centroids that could
   * be closer, i.e. those within u + √(u² + 2ε) of its own (the others are at least that far minus u away, by the
   * triangle inequality), nearest first from g.neighbours, as long as there are at most maxCandidates of them. When
   * the closest one then beats every other by more than 2ε, that is Lloyd's label too, and the bounds are set from
   * these distances. Rows left over (too many candidates, or a near tie that only the matMul's own rounding decides)
   * are written to `undecided` with label −1 for the device; rows the candidate step moved, with their new label. Both
   * in row order, in undecided/resolved (length ≥ rows); returns their count. The labels themselves are not changed
   * here (the caller applies the moves in row order, after the device has labelled the rest). Once more than
   * `maxDevice` rows are left for the device it stops and returns −1: the caller then scores every row in a full pass,
   * which sets all the bounds afresh (the rows not reached keep stale ones until then).
   */
  filter(
    labels: Int32Array,
    cf: Float64Array,
    g: CentroidGeometry,
    maxCandidates: number,
    maxDevice: number,
    undecided: Int32Array,
    resolved: Int32Array,
  ): number {
    const { upper, lower } = this;
    const { shift, separation, maxShift, maxShiftAt, secondShift, maxNorm, neighbours, neighbourDistance } = g;
    const k = shift.length;
    const margin = 2 * this.eps(maxNorm);
    const row = new Float64Array(this.d);
    let m = 0;
    let device = 0;
    rows: for (let i = 0; i < this.rows; i++) {
      const a = labels[i];
      let u = upper[i] + shift[a];
      const l = lower[i] - (a === maxShiftAt ? secondShift : maxShift);
      let z = Math.max(l, separation[a] - u);
      if (!(z > 0 && u * u + margin < z * z)) {
        this.centred(i, row);
        const own = this.squaredDistance(row, cf, a);
        u = Math.sqrt(own) * (1 + F64_SLACK);
        z = Math.max(l, separation[a] - u);
        if (!(z > 0 && u * u + margin < z * z)) {
          // Candidate step: the neighbours within reach, counted first so that a row with too many goes to the
          // device before any of them is scored.
          const reach = u + Math.sqrt(own + margin) * (1 + F64_SLACK);
          const list = a * (k - 1);
          let count = 0;
          while (count < k - 1 && neighbourDistance[list + count] <= reach) {
            if (++count > maxCandidates) {
              if (++device > maxDevice) return -1;
              undecided[m] = i;
              resolved[m++] = -1;
              continue rows;
            }
          }
          let best = own;
          let label = a;
          // The neighbours beyond reach, nearest first: each is at least (its distance from a) − u from x.
          let second = Infinity;
          if (count < k - 1) {
            const far = neighbourDistance[list + count] - u;
            second = far * far;
          }
          for (let t = 0; t < count; t++) {
            const c = neighbours[list + t];
            const dist = this.squaredDistance(row, cf, c);
            if (dist < best) {
              second = Math.min(second, best);
              best = dist;
              label = c;
            } else if (dist < second) second = dist;
          }
          if (!(second > best + margin)) {
            if (++device > maxDevice) return -1;
            undecided[m] = i;
            resolved[m++] = -1;
            continue;
          }
          upper[i] = roundUp(Math.sqrt(best) * (1 + F64_SLACK));
          lower[i] = roundDown(Math.sqrt(second) * (1 - F64_SLACK));
          if (label !== a) {
            undecided[m] = i;
            resolved[m++] = label;
          }
          continue;
        }
      }
      upper[i] = roundUp(u);
      lower[i] = l > 0 ? roundDown(l) : 0;
    }
    this.centroids = cf;
    return m;
  }
}
