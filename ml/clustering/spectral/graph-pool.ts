/**
 * The nearest-neighbour eigensolver's sparse products (knn-graph.ts NormalizedGraphOperator) split by rows between
 * this thread and worker threads (graph-worker.ts). The graph and every block live in SharedArrayBuffers, so a product
 * costs each thread its share of the rows plus one message each way; a row's sum runs in the same order in whichever
 * thread computes it, so the products, and everything the eigensolver makes of them, are bit-identical to one thread's.
 * Workers live for one spectral() call (close()).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SymmetricOperator } from './eigen';
import { KnnGraph, NormalizedGraphOperator } from './knn-graph';

/**
 * When products are split: threads, counting this one (default: the k-means setting, kmeansThreads()); minWork, the
 * fewest multiply-adds of one product (non-zeros × block columns) worth it: a product of 2^21 takes ~2 ms on one
 * thread, against ~0.1 ms of messages, and a worker's start (~50 ms) is paid once per run. Mutable for tests.
 */
export const GRAPH_PARALLEL: { minWork: number } = { minWork: 1 << 21 };

/** A copy of `a` in shared memory (or `a` itself when it is there already). */
function shared<T extends Float64Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = new (a.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

interface Request {
  x: Float64Array;
  y: Float64Array;
  z: Float64Array;
  b: number;
  alpha: number;
  beta: number;
  gamma: number;
  r0: number;
  r1: number;
}

/** A worker holding the graph, answering one row-range product at a time. */
class GraphWorker {
  private pending: { resolve(): void; reject(err: Error): void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: { done?: boolean; error?: string }) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.error !== undefined) p?.reject(new Error(`spectral graph worker: ${m.error}`));
      else p?.resolve();
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.pending?.reject(err);
      this.pending = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`spectral graph worker exited with code ${code}`)));
  }

  request(message: Request | { graph: KnnGraph }): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('spectral graph worker is closed');
    await this.worker.terminate();
  }
}

/** M = D^{-1/2} W D^{-1/2} of a graph, its products split by rows between threads (see the module comment). */
export class ParallelGraphOperator implements SymmetricOperator {
  readonly n: number;
  readonly lowerBound = -1;

  private constructor(
    private readonly local: NormalizedGraphOperator,
    private readonly workers: GraphWorker[],
    /** Row ranges: thread t computes rows [bounds[t], bounds[t + 1]); this thread is t = 0. */
    private readonly bounds: number[],
  ) {
    this.n = local.n;
  }

  /**
   * Starts threads − 1 workers on a shared copy of the graph, rows split so that each thread gets about the same
   * number of non-zeros. Undefined when fewer than 2 threads are asked for, the product is below GRAPH_PARALLEL.minWork
   * for a block of `blockSize` columns, or a worker fails to start (e.g. running from sources): the caller then
   * computes on one thread.
   */
  static async start(graph: KnnGraph, threads: number, blockSize: number): Promise<ParallelGraphOperator | undefined> {
    if (threads < 2 || graph.cols.length * blockSize < GRAPH_PARALLEL.minWork || graph.n < 2 * threads) return;
    const sharedGraph: KnnGraph = {
      ...graph,
      rowStart: shared(graph.rowStart),
      cols: shared(graph.cols),
      weights: shared(graph.weights),
      degrees: shared(graph.degrees),
    };
    const bounds = [0];
    const nnz = graph.cols.length;
    for (let t = 1, i = 0; t < threads; t++) {
      while (i < graph.n && graph.rowStart[i] < (t * nnz) / threads) i++;
      bounds.push(i);
    }
    bounds.push(graph.n);
    const workers: GraphWorker[] = [];
    try {
      for (let t = 1; t < threads; t++)
        workers.push(new GraphWorker(new Worker(path.join(__dirname, 'graph-worker.js'))));
      await Promise.all(workers.map((w) => w.request({ graph: sharedGraph })));
    } catch {
      await Promise.all(workers.map((w) => w.close()));
      return;
    }
    return new ParallelGraphOperator(new NormalizedGraphOperator(sharedGraph), workers, bounds);
  }

  apply(x: Float64Array, b: number): Promise<Float64Array> {
    return this.applyCombined(x, b, 1, 0, 0, x);
  }

  async applyCombined(
    x: Float64Array,
    b: number,
    alpha: number,
    beta: number,
    gamma: number,
    z: Float64Array,
  ): Promise<Float64Array> {
    const xs = shared(x);
    const zs = z === x ? xs : shared(z);
    const y = new Float64Array(new SharedArrayBuffer(this.n * b * 8));
    const { bounds } = this;
    const done = this.workers.map((w, t) =>
      w.request({ x: xs, y, z: zs, b, alpha, beta, gamma, r0: bounds[t + 1], r1: bounds[t + 2] }),
    );
    this.local.multiplyRows(xs, y, b, alpha, beta, gamma, zs, bounds[0], bounds[1]);
    await Promise.all(done);
    return y;
  }

  /** Terminates the workers. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
