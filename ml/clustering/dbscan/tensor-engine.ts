import * as tf from '@tensorflow/tfjs';
import { ClusteringHooks } from '../types';
import { DBSCAN_MAX_CELLS_PER_BLOCK, NeighbourEngine, Pacer } from './neighbour-engine';
import { UnionFind } from './union-find';

/**
 * DBSCAN's 'tensor' neighbour search (see dbscan.ts). Blocked pairwise distances as tensor programs: rows are centred
 * (float64 mean) and uploaded once in blocks of `blockRows`; each step materialises one blockRows × blockRows matrix
 * of ‖a‖² + ‖b‖² − 2a·b (≤ 2^22 cells) and reduces it on the device (counts, masked minima) or reads back only its
 * boolean mask (core–core pairs).
 * Precision: float32 ‖a‖² + ‖b‖² − 2a·b is off by ~1e-7·‖x‖², so a pair within that of eps may fall on either side
 * (measured at n = 100,000: 1 border point of 100,000 at d = 16, 8 core points at d = 2 with eps = 0.1 differed from
 * scikit-learn). Low dimensions, where that matters most, always take the exact float64 kd-tree.
 */
export class TensorEngine implements NeighbourEngine {
  readonly method: string;
  private readonly blockRows: number;
  private readonly centred: Float32Array;
  private readonly pacer: Pacer;
  private readonly tensors: tf.Tensor[] = [];

  constructor(
    points: Float32Array,
    private readonly n: number,
    private readonly d: number,
    private readonly eps2: number,
    hooks: ClusteringHooks,
  ) {
    this.blockRows = Math.max(1, Math.min(n, Math.floor(Math.sqrt(DBSCAN_MAX_CELLS_PER_BLOCK))));
    this.method = `blocked tensor distances (${this.blockRows}×${this.blockRows} cells per block)`;
    this.pacer = new Pacer(hooks, this.method);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    this.centred = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) this.centred[i * d + j] = points[i * d + j] - mean[j];
  }

  dispose(): void {
    tf.dispose(this.tensors);
    this.tensors.length = 0;
  }

  /** Uploads the given rows (original indices) as blocks: x [rows, d], xT [d, rows], ‖x‖² [rows]. */
  private upload(rows: Int32Array): Block[] {
    const { d, blockRows } = this;
    const blocks: Block[] = [];
    for (let s = 0; s < rows.length; s += blockRows) {
      const ids = rows.subarray(s, Math.min(rows.length, s + blockRows));
      const m = ids.length;
      const buf = new Float32Array(m * d);
      const bufT = new Float32Array(m * d);
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < d; j++) {
          const v = this.centred[ids[r] * d + j];
          buf[r * d + j] = v;
          bufT[j * m + r] = v;
        }
      }
      const x = tf.tensor2d(buf, [m, d]);
      this.tensors.push(x);
      const xT = tf.tensor2d(bufT, [d, m]);
      this.tensors.push(xT);
      const norm = tf.tidy(() => tf.sum(tf.square(x), 1)) as tf.Tensor1D;
      this.tensors.push(norm);
      blocks.push({ ids, x, xT, norm });
    }
    return blocks;
  }

  private release(blocks: Block[]): void {
    for (const b of blocks) {
      for (const t of [b.x, b.xT, b.norm]) {
        const at = this.tensors.indexOf(t);
        if (at >= 0) this.tensors.splice(at, 1);
        t.dispose();
      }
    }
  }

  /** Boolean [a.rows, b.rows]: squared distance ≤ eps². */
  private within(a: Block, b: Block): tf.Tensor2D {
    return tf.tidy(() => {
      const dist = tf.add(tf.add(a.norm.expandDims(1), b.norm.expandDims(0)), tf.mul(tf.matMul(a.x, b.xT), -2));
      return tf.lessEqual(dist, this.eps2) as tf.Tensor2D;
    });
  }

  async countNeighbours(): Promise<Int32Array> {
    const { n } = this;
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const blocks = this.upload(all);
    const counts = new Int32Array(n);
    const total = (blocks.length * (blocks.length + 1)) / 2;
    let done = 0;
    try {
      for (let a = 0; a < blocks.length; a++) {
        for (let b = a; b < blocks.length; b++) {
          const A = blocks[a];
          const B = blocks[b];
          const [rowSum, colSum] = tf.tidy(() => {
            let mask = this.within(A, B);
            // A point is always its own neighbour, whatever float32 round-off makes of its distance to itself.
            if (a === b) mask = tf.logicalOr(mask, tf.cast(tf.eye(A.ids.length), 'bool'));
            const m = tf.cast(mask, 'int32');
            return a === b ? [tf.sum(m, 1)] : [tf.sum(m, 1), tf.sum(m, 0)];
          });
          try {
            const rows = (await rowSum.data()) as Int32Array;
            for (let r = 0; r < rows.length; r++) counts[A.ids[r]] += rows[r];
            if (colSum) {
              const cols = (await colSum.data()) as Int32Array;
              for (let c = 0; c < cols.length; c++) counts[B.ids[c]] += cols[c];
            }
          } finally {
            tf.dispose([rowSum, colSum]);
          }
          await this.pacer.beat('count neighbours', ++done, total);
        }
      }
    } finally {
      this.release(blocks);
    }
    return counts;
  }

  async connectCore(core: Uint8Array, uf: UnionFind): Promise<void> {
    const ids: number[] = [];
    for (let i = 0; i < this.n; i++) if (core[i]) ids.push(i);
    const blocks = this.upload(Int32Array.from(ids));
    const total = (blocks.length * (blocks.length + 1)) / 2;
    let done = 0;
    try {
      for (let a = 0; a < blocks.length; a++) {
        for (let b = a; b < blocks.length; b++) {
          const A = blocks[a];
          const B = blocks[b];
          // Nothing to learn when both blocks already lie in one component.
          const root = uf.find(A.ids[0]);
          let oneComponent = true;
          for (const block of a === b ? [A] : [A, B]) {
            for (let r = 0; r < block.ids.length && oneComponent; r++) oneComponent = uf.find(block.ids[r]) === root;
          }
          if (!oneComponent) {
            const mask = this.within(A, B);
            let bits: Uint8Array;
            try {
              bits = (await mask.data()) as Uint8Array;
            } finally {
              mask.dispose();
            }
            const cols = B.ids.length;
            for (let r = 0; r < A.ids.length; r++) {
              let rp = uf.find(A.ids[r]);
              for (let c = a === b ? r + 1 : 0; c < cols; c++) {
                if (bits[r * cols + c]) rp = uf.linkRoots(rp, uf.find(B.ids[c]));
              }
            }
          }
          await this.pacer.beat('connect core points', ++done, total);
        }
      }
    } finally {
      this.release(blocks);
    }
  }

  async nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array> {
    const coreIds: number[] = [];
    const candIds: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (core[i]) coreIds.push(i);
      else if (candidates[i]) candIds.push(i);
    }
    const best = new Int32Array(this.n).fill(-1);
    const coreBlocks = this.upload(Int32Array.from(coreIds));
    const candBlocks = this.upload(Int32Array.from(candIds));
    // Cluster numbers are < n ≤ 2^24, so exact in float32; "no core neighbour" is NONE.
    const NONE = 2 ** 24;
    const labelRows = coreBlocks.map((b) => {
      const t = tf.tensor2d(
        Float32Array.from(b.ids, (i) => labels[i]),
        [1, b.ids.length],
      );
      this.tensors.push(t);
      return t;
    });
    const total = coreBlocks.length * candBlocks.length;
    let done = 0;
    try {
      for (const A of candBlocks) {
        const running = new Float32Array(A.ids.length).fill(NONE);
        for (let b = 0; b < coreBlocks.length; b++) {
          const minLabel = tf.tidy(() => {
            const outside = tf.sub(1, tf.cast(this.within(A, coreBlocks[b]), 'float32'));
            return tf.min(tf.add(labelRows[b], tf.mul(outside, NONE)), 1);
          });
          try {
            const values = (await minLabel.data()) as Float32Array;
            for (let r = 0; r < values.length; r++) if (values[r] < running[r]) running[r] = values[r];
          } finally {
            minLabel.dispose();
          }
          await this.pacer.beat('assign border points', ++done, total);
        }
        for (let r = 0; r < A.ids.length; r++) if (running[r] < NONE) best[A.ids[r]] = running[r];
      }
    } finally {
      this.release(coreBlocks);
      this.release(candBlocks);
    }
    return best;
  }
}

interface Block {
  ids: Int32Array;
  x: tf.Tensor2D;
  xT: tf.Tensor2D;
  norm: tf.Tensor1D;
}
