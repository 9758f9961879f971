/**
 * The rbf affinity of spectral clustering, A_ij = exp(−γ‖x_i − x_j‖²), never stored as an n×n matrix: each product
 * A·Z is computed tile by tile on the device, the kernel tile recomputed from the points (one matMul and one exp per
 * tile), so memory is O(n·(d + b)) plus one tile, whatever n is.
 *
 * Layout. The points are centred (float64 on the host) and scaled by √γ before upload, so the kernel is
 * exp(−‖p − q‖²) = exp(l_i · r_j) with l_i = [2p_i, −‖p_i‖², 1] and r_j = [p_j, 1, −‖p_j‖²]: one matMul of a row
 * block of l with a column block of r gives the exponents, without a transposed operand (the wasm backend's matMul is
 * many times slower with transpose flags). A is symmetric, so only tiles (I, J) with I ≤ J are computed: each feeds
 * Y_I += K·Z_J and, off the diagonal, Y_Jᵀ += Z_Iᵀ·K (Zᵀ is uploaded too, again to avoid transposes): half the
 * exps of a full sweep. Diagonal tiles are multiplied by a (1 − I) mask: scikit-learn's normalised Laplacian ignores
 * the diagonal, and masking it on the device (rather than subtracting Z afterwards) keeps float32 rounding of the
 * self term out of points whose degree is tiny.
 *
 * Tiles are cached on the device, in order, while they fit in MAX_CACHED_KERNEL_CELLS; up to n ≈ 10,000 every tile
 * fits and each product after the first is only matMuls. Beyond that the uncached tiles are recomputed per product.
 *
 * Precision: exponents are computed in float32 as 2p·q − ‖p‖² − ‖q‖², so their absolute error is ~1e-7·γ·max‖x −
 * mean‖²; kernel values below float32's range (γ‖x − y‖² ≳ 87) are 0, and a point all of whose kernel values are
 * 0 is isolated (degree 0), as in scipy's Laplacian.
 */
import * as tf from '@tensorflow/tfjs';
import { SymmetricOperator } from './eigen';

/** Tile side: a kernel tile holds at most KERNEL_TILE² = 2^22 float32 cells (16 MiB). */
export const KERNEL_TILE = 2048;
/** Kernel cells kept on the device between products: 2^26 float32 = 256 MiB. */
export const MAX_CACHED_KERNEL_CELLS = 1 << 26;

interface Block {
  start: number;
  rows: number;
  /** [rows × (d+2)]: [2p, −‖p‖², 1]. */
  left: tf.Tensor2D;
  /** [(d+2) × rows]: [p; 1; −‖p‖²]. */
  right: tf.Tensor2D;
}

export class RbfKernelOperator implements SymmetricOperator {
  readonly n: number;
  lowerBound = -1;
  /** Σ_{j≠i} A_ij per point. */
  degrees: Float64Array = new Float64Array(0);
  /** Points whose degree is 0 (every kernel value underflowed). */
  isolated = 0;
  /** Kernel tiles computed so far (cached or not): a measure of the work done. */
  tilesComputed = 0;
  private invSqrtDegree: Float64Array = new Float64Array(0);
  private readonly blocks: Block[] = [];
  private readonly masks = new Map<number, tf.Tensor2D>();
  private readonly cache = new Map<string, tf.Tensor2D>();
  private cachedCells = 0;

  private constructor(
    n: number,
    private readonly checkpoint: () => Promise<void>,
    private readonly cacheCells: number,
  ) {
    this.n = n;
  }

  /**
   * Uploads the scaled points (n×d row-major float64, already centred and multiplied by √γ) and computes the degrees
   * with one product. Call dispose() when done, also after an error. `cacheCells` caps the kernel cells kept on the
   * device between products (tests use 0 to exercise the recomputing path on small inputs).
   */
  static async create(
    scaled: Float64Array,
    n: number,
    d: number,
    checkpoint: () => Promise<void>,
    cacheCells = MAX_CACHED_KERNEL_CELLS,
  ): Promise<RbfKernelOperator> {
    const op = new RbfKernelOperator(n, checkpoint, cacheCells);
    try {
      for (let start = 0; start < n; start += KERNEL_TILE) {
        const rows = Math.min(KERNEL_TILE, n - start);
        const left = new Float32Array(rows * (d + 2));
        const right = new Float32Array((d + 2) * rows);
        for (let r = 0; r < rows; r++) {
          let norm = 0;
          for (let j = 0; j < d; j++) {
            const v = Math.fround(scaled[(start + r) * d + j]);
            left[r * (d + 2) + j] = 2 * v;
            right[j * rows + r] = v;
            norm += v * v;
          }
          left[r * (d + 2) + d] = -norm;
          left[r * (d + 2) + d + 1] = 1;
          right[d * rows + r] = 1;
          right[(d + 1) * rows + r] = -norm;
        }
        op.blocks.push({
          start,
          rows,
          left: tf.tensor2d(left, [rows, d + 2]),
          right: tf.tensor2d(right, [d + 2, rows]),
        });
      }
      const degrees = await op.multiply(new Float64Array(n).fill(1), 1);
      op.degrees = degrees;
      op.invSqrtDegree = new Float64Array(n);
      let maxInverse = 0;
      for (let i = 0; i < n; i++) {
        if (degrees[i] > 0) {
          op.invSqrtDegree[i] = 1 / Math.sqrt(degrees[i]);
          maxInverse = Math.max(maxInverse, 1 / degrees[i]);
        } else {
          // scipy's normalised Laplacian uses 1 for an isolated point's D^{-1/2}; its row and column are 0 anyway.
          op.invSqrtDegree[i] = 1;
          op.isolated++;
        }
      }
      // M = D^{-1/2} K D^{-1/2} − D^{-1} with K (the full kernel, diagonal included) positive semi-definite, so M's
      // spectrum is ≥ −max 1/deg. The margin covers float32 rounding; a bound that is too low only slows the filter.
      op.lowerBound = Math.max(-1, -(1.02 * maxInverse) - 1e-3);
    } catch (err) {
      op.dispose();
      throw err;
    }
    return op;
  }

  dispose(): void {
    for (const b of this.blocks) tf.dispose([b.left, b.right]);
    this.blocks.length = 0;
    tf.dispose([...this.masks.values(), ...this.cache.values()]);
    this.masks.clear();
    this.cache.clear();
  }

  async apply(x: Float64Array, b: number): Promise<Float64Array> {
    const { n } = this;
    const z = new Float64Array(n * b);
    for (let i = 0; i < n; i++) {
      const s = this.invSqrtDegree[i];
      for (let c = 0; c < b; c++) z[i * b + c] = x[i * b + c] * s;
    }
    const y = await this.multiply(z, b);
    for (let i = 0; i < n; i++) {
      const s = this.invSqrtDegree[i];
      for (let c = 0; c < b; c++) y[i * b + c] *= s;
    }
    return y;
  }

  /** (A − diag A)·z for a row-major n×b block, accumulated per tile in float32 on the device, returned in float64. */
  private async multiply(z: Float64Array, b: number): Promise<Float64Array> {
    const { blocks } = this;
    const zBlocks: tf.Tensor2D[] = [];
    const zTBlocks: tf.Tensor2D[] = [];
    const rowAcc: (tf.Tensor2D | undefined)[] = blocks.map(() => undefined);
    const colAcc: (tf.Tensor2D | undefined)[] = blocks.map(() => undefined);
    const add = (acc: tf.Tensor2D | undefined, term: tf.Tensor2D): tf.Tensor2D => {
      if (!acc) return term;
      const sum = tf.add(acc, term) as tf.Tensor2D;
      tf.dispose([acc, term]);
      return sum;
    };
    try {
      for (const blk of blocks) {
        const part = new Float32Array(blk.rows * b);
        const partT = new Float32Array(b * blk.rows);
        for (let r = 0; r < blk.rows; r++) {
          for (let c = 0; c < b; c++) {
            const v = z[(blk.start + r) * b + c];
            part[r * b + c] = v;
            partT[c * blk.rows + r] = v;
          }
        }
        zBlocks.push(tf.tensor2d(part, [blk.rows, b]));
        zTBlocks.push(tf.tensor2d(partT, [b, blk.rows]));
      }
      for (let bi = 0; bi < blocks.length; bi++) {
        await this.checkpoint();
        for (let bj = bi; bj < blocks.length; bj++) {
          const { kernel, owned } = this.tile(bi, bj);
          try {
            rowAcc[bi] = add(rowAcc[bi], tf.matMul(kernel, zBlocks[bj]));
            if (bj !== bi) colAcc[bj] = add(colAcc[bj], tf.matMul(zTBlocks[bi], kernel));
          } finally {
            if (owned) kernel.dispose();
          }
        }
      }
      const y = new Float64Array(this.n * b);
      for (let bi = 0; bi < blocks.length; bi++) {
        const { start, rows } = blocks[bi];
        const rowPart = await rowAcc[bi]!.data();
        for (let t = 0; t < rows * b; t++) y[start * b + t] = rowPart[t];
        const col = colAcc[bi];
        if (col) {
          const colPart = await col.data();
          for (let c = 0; c < b; c++) for (let r = 0; r < rows; r++) y[(start + r) * b + c] += colPart[c * rows + r];
        }
      }
      return y;
    } finally {
      tf.dispose([...zBlocks, ...zTBlocks]);
      for (const t of [...rowAcc, ...colAcc]) t?.dispose();
    }
  }

  /** Kernel tile (bi, bj), bi ≤ bj, diagonal masked on diagonal tiles; `owned` = the caller must dispose it. */
  private tile(bi: number, bj: number): { kernel: tf.Tensor2D; owned: boolean } {
    const key = `${bi},${bj}`;
    const hit = this.cache.get(key);
    if (hit) return { kernel: hit, owned: false };
    const I = this.blocks[bi];
    const J = this.blocks[bj];
    const mask = bi === bj ? this.mask(I.rows) : undefined;
    const kernel = tf.tidy(() => {
      const k = tf.exp(tf.matMul(I.left, J.right));
      return (mask ? tf.mul(k, mask) : k) as tf.Tensor2D;
    });
    this.tilesComputed++;
    const cells = I.rows * J.rows;
    if (this.cachedCells + cells <= this.cacheCells) {
      this.cache.set(key, kernel);
      this.cachedCells += cells;
      return { kernel, owned: false };
    }
    return { kernel, owned: true };
  }

  private mask(rows: number): tf.Tensor2D {
    let m = this.masks.get(rows);
    if (!m) {
      m = tf.tidy(() => tf.sub(tf.onesLike(tf.eye(rows)), tf.eye(rows)) as tf.Tensor2D);
      this.masks.set(rows, m);
    }
    return m;
  }
}
