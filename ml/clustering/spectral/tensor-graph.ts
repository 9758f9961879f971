/**
 * The normalised k-nearest-neighbour affinity M = D^{-1/2} W D^{-1/2} of spectral clustering applied as tensor
 * programs, for backends where the device beats host float64 loops (a CUDA GPU; see chooseSpectralGraphMethod in
 * spectral.ts). TensorFlow.js has no sparse matmul, so M·V for an n×b block V is
 *
 *   Y = segmentSum(gather(V, cols) ⊙ values, rows, n)
 *
 * over the graph in COO form kept on the device: int32 row and column indices and float32 values
 * w_ij / √(d_i d_j) (computed in float64, then rounded), one entry per non-zero of the symmetrised graph, the row sum
 * by tf.unsortedSegmentSum. That is the form used wherever the backend has an UnsortedSegmentSum kernel (tensorflow,
 * so tfjs-node-gpu on CUDA, and cpu, webgl).
 *
 * The wasm backend has no UnsortedSegmentSum kernel (and its GatherV2 is slow: ~11 ms for a 54,000×8 gather, where
 * the whole host product takes 0.35 ms), but it has SparseSegmentSum, which gathers and sums sorted segments in one
 * kernel. It takes no weights, so there the weights are folded in: a kNN graph's weights are 0.5·multiplicity (0.5
 * for a one-way edge, 1 for a mutual one), so with the entries repeated by multiplicity and s = D^{-1/2},
 *
 *   M·V = 0.5 · s ⊙ sparseSegmentSum(s ⊙ V, cols, rows)
 *
 * ('sparseSegmentSum' below; it needs rows sorted, which CSR order gives).
 *
 * The graph is split into chunks of whole rows of at most EDGES_PER_CHUNK entries, so the gathered nnz×b block never
 * exceeds EDGES_PER_CHUNK·b float32 cells; each chunk sums into its own rows and the chunks are concatenated.
 *
 * Precision: V is rounded to float32 and the products are accumulated in float32, so a product's relative error is
 * ~1e-7 (a few ulps times the row length), which puts a floor near 1e-6 under the eigensolver's residual: use an
 * eigenTolerance of about 1e-5 with this operator (as for the float32 rbf kernel). The Chebyshev recurrence and
 * everything else in the eigensolver stays float64 on the host: only M·V runs on the device.
 */
import * as tf from '@tensorflow/tfjs';
import { SymmetricOperator } from './eigen';
import { KnnGraph } from './knn-graph';

/** Most graph entries gathered at once (× b float32 cells): 2^18 entries, 8 MiB at b = 8. */
export const EDGES_PER_CHUNK = 1 << 18;

export type SegmentReduction = 'unsortedSegmentSum' | 'sparseSegmentSum';

interface Chunk {
  /** Rows [first, first + rowCount) of the output. */
  first: number;
  rowCount: number;
  /** Rows of the chunk that the segment sum produces (sparseSegmentSum stops at the last row with an entry). */
  rowsOut: number;
  /** [entries] int32 column of each entry (null: the chunk has no entries, all its rows are isolated points). */
  cols: tf.Tensor1D | null;
  /** [entries] int32 row of each entry, relative to the chunk's first row (sorted). */
  rows: tf.Tensor1D | null;
  /** [entries, 1] float32 normalised weight ('unsortedSegmentSum' only). */
  values: tf.Tensor2D | null;
}

/** The reduction the current backend supports best: unsortedSegmentSum if it has a kernel, else sparseSegmentSum. */
export function segmentReduction(backend: string = tf.getBackend()): SegmentReduction {
  return tf.getKernel('UnsortedSegmentSum', backend) !== undefined ? 'unsortedSegmentSum' : 'sparseSegmentSum';
}

export class TensorGraphOperator implements SymmetricOperator {
  readonly n: number;
  readonly lowerBound = -1;
  readonly reduction: SegmentReduction;
  private readonly chunks: Chunk[] = [];
  /** [n, 1] float32 D^{-1/2} (1 for isolated points, whose rows and columns are empty) and 0.5·D^{-1/2}. */
  private invSqrtDegree: tf.Tensor2D | null = null;
  private halfInvSqrtDegree: tf.Tensor2D | null = null;

  /**
   * Uploads the graph (a kNN graph: weights 0.5 or 1 for 'sparseSegmentSum'); call dispose() when done, also after an
   * error. `edgesPerChunk` and `reduction` are for tests.
   */
  constructor(graph: KnnGraph, edgesPerChunk = EDGES_PER_CHUNK, reduction: SegmentReduction = segmentReduction()) {
    this.n = graph.n;
    this.reduction = reduction;
    const { n, rowStart, cols, weights, degrees } = graph;
    const expanded = reduction === 'sparseSegmentSum';
    const multiplicity = (w: number): number => {
      const m = w / 0.5;
      if (m !== 1 && m !== 2) throw new RangeError(`sparseSegmentSum needs kNN weights 0.5 or 1, got ${w}`);
      return m;
    };
    try {
      if (expanded) {
        const s = new Float32Array(n);
        const half = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          s[i] = degrees[i] > 0 ? 1 / Math.sqrt(degrees[i]) : 1;
          half[i] = 0.5 * s[i];
        }
        this.invSqrtDegree = tf.tensor2d(s, [n, 1]);
        this.halfInvSqrtDegree = tf.tensor2d(half, [n, 1]);
      }
      let first = 0;
      while (first < n) {
        // Whole rows, at least one, up to edgesPerChunk graph entries.
        let last = first + 1;
        while (last < n && rowStart[last + 1] - rowStart[first] <= edgesPerChunk) last++;
        let entries = 0;
        for (let e = rowStart[first]; e < rowStart[last]; e++) entries += expanded ? multiplicity(weights[e]) : 1;
        const c = new Int32Array(entries);
        const r = new Int32Array(entries);
        const v = expanded ? null : new Float32Array(entries);
        let t = 0;
        let rowsOut = 0;
        for (let i = first; i < last; i++) {
          for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
            const copies = expanded ? multiplicity(weights[e]) : 1;
            for (let m = 0; m < copies; m++) {
              c[t] = cols[e];
              r[t] = i - first;
              if (v) v[t] = weights[e] / Math.sqrt(degrees[i] * degrees[cols[e]]);
              t++;
            }
            rowsOut = i - first + 1;
          }
        }
        const rowCount = last - first;
        this.chunks.push({
          first,
          rowCount,
          rowsOut: expanded ? rowsOut : rowCount,
          cols: entries > 0 ? tf.tensor1d(c, 'int32') : null,
          rows: entries > 0 ? tf.tensor1d(r, 'int32') : null,
          values: v && entries > 0 ? tf.tensor2d(v, [entries, 1]) : null,
        });
        first = last;
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  async apply(x: Float64Array, b: number): Promise<Float64Array> {
    const { n } = this;
    const y = tf.tidy(() => {
      const raw = tf.tensor2d(Float32Array.from(x), [n, b]);
      const v = this.invSqrtDegree ? tf.mul(raw, this.invSqrtDegree) : raw;
      const parts = this.chunks.map((chunk): tf.Tensor2D => {
        if (!chunk.cols || !chunk.rows) return tf.zeros([chunk.rowCount, b]);
        const sum =
          this.reduction === 'unsortedSegmentSum'
            ? tf.unsortedSegmentSum(
                tf.mul(tf.gather(v, chunk.cols), chunk.values!) as tf.Tensor2D,
                chunk.rows,
                chunk.rowCount,
              )
            : (tf.sparse.sparseSegmentSum(v, chunk.cols, chunk.rows) as tf.Tensor2D);
        return chunk.rowsOut < chunk.rowCount
          ? tf.pad(sum, [
              [0, chunk.rowCount - chunk.rowsOut],
              [0, 0],
            ])
          : sum;
      });
      const y = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
      return this.halfInvSqrtDegree ? tf.mul(y, this.halfInvSqrtDegree) : y;
    });
    try {
      return Float64Array.from(await y.data());
    } finally {
      y.dispose();
    }
  }

  dispose(): void {
    for (const chunk of this.chunks) {
      chunk.cols?.dispose();
      chunk.rows?.dispose();
      chunk.values?.dispose();
    }
    this.chunks.length = 0;
    this.invSqrtDegree?.dispose();
    this.halfInvSqrtDegree?.dispose();
    this.invSqrtDegree = this.halfInvSqrtDegree = null;
  }
}
