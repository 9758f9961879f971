/**
 * Worker threads for k-means (kmeans.ts). Under Node the tfjs wasm backend runs single-threaded (its own thread
 * pool is disabled there, tfjs issue 3830), so Lloyd iterations on large inputs are split by rows instead: the main
 * thread keeps one Shard (shard.ts) and each node:worker_threads worker (worker.ts) holds another
 * on its own tfjs wasm engine, with a copy of its rows transferred to it once. Every pass then runs on all shards at
 * once and the main thread merges the partial results. Workers live for one kmeans() call and are terminated at its
 * end (normal, error or abort), so nothing outlives the call or keeps a process alive.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FarPoint, FinalLabels, PassMode, Shard, ShardStep } from './shard';

/**
 * When kmeans() splits its work over threads. threads: how many in all, counting the main thread (default:
 * os.availableParallelism(); an entry point sets it from KILN_KMEANS_THREADS at start); 1 disables the pool. minWork: the
 * smallest n·k·d (multiply-adds of one assignment pass) worth it: starting a worker and uploading its rows costs
 * ~0.1–0.2 s, and an assignment pass runs at roughly 10^10 multiply-adds per second per thread, so below ~2^28 the
 * saving does not pay for the start. Only used on the wasm backend. Mutable for tests and benchmarks.
 */
export const KMEANS_PARALLEL: { threads?: number; minWork: number } = { minWork: 1 << 28 };

export function kmeansThreads(): number {
  if (KMEANS_PARALLEL.threads !== undefined) return Math.max(1, Math.floor(KMEANS_PARALLEL.threads));
  return os.availableParallelism();
}

/** The same operations as Shard, asynchronous whether the shard is in this thread or a worker. */
export interface ShardHandle {
  readonly blockCount: number;
  assign(centroids: Float64Array, k: number, mode: PassMode): Promise<ShardStep>;
  farthest(centroids: Float64Array, k: number, m: number): Promise<FarPoint[]>;
  final(centroids: Float64Array, k: number, mode: PassMode): Promise<FinalLabels>;
  updateClosest(row: Float32Array, first: boolean): Promise<void>;
  closestDistances(): Promise<Float32Array>;
  candidateGains(candidates: Float64Array, count: number): Promise<Float32Array>;
  /** Frees the shard's tensors (and its worker, if any). Idempotent. */
  close(): Promise<void>;
}

export class LocalShard implements ShardHandle {
  constructor(private readonly shard: Shard) {}
  get blockCount(): number {
    return this.shard.blockCount;
  }
  assign(centroids: Float64Array, k: number, mode: PassMode): Promise<ShardStep> {
    return this.shard.assign(centroids, k, mode);
  }
  farthest(centroids: Float64Array, k: number, m: number): Promise<FarPoint[]> {
    return this.shard.farthest(centroids, k, m);
  }
  final(centroids: Float64Array, k: number, mode: PassMode): Promise<FinalLabels> {
    return this.shard.final(centroids, k, mode);
  }
  async updateClosest(row: Float32Array, first: boolean): Promise<void> {
    this.shard.updateClosest(row, first);
  }
  closestDistances(): Promise<Float32Array> {
    return this.shard.closestDistances();
  }
  candidateGains(candidates: Float64Array, count: number): Promise<Float32Array> {
    return this.shard.candidateGains(candidates, count);
  }
  async close(): Promise<void> {
    this.shard.dispose();
  }
}

export interface ShardInit {
  points: Float32Array;
  offset: number;
  rows: number;
  d: number;
  mean: Float64Array;
  blockRows: number;
  /** Whether Hamerly's bounds will be used (Shard's constructor). */
  bounds: boolean;
}

type Pending = { resolve(v: unknown): void; reject(e: unknown): void };

/** A Shard in a worker thread, driven by request/response messages ({ id, op, args } → { id, result | error }). */
export class RemoteShard implements ShardHandle {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly blockCount: number,
  ) {}

  /** Starts a worker and uploads `init.points` (transferred: the caller must not use that buffer afterwards). */
  static async start(init: ShardInit): Promise<RemoteShard> {
    const worker = new Worker(path.join(__dirname, 'worker.js'));
    let shard: RemoteShard | undefined;
    try {
      const blockCount = await new Promise<number>((resolve, reject) => {
        const onMessage = (m: { ready?: number; error?: string }) => {
          cleanup();
          if (m.error !== undefined) reject(new Error(`k-means worker failed to start: ${m.error}`));
          else resolve(m.ready as number);
        };
        const onError = (err: Error) => {
          cleanup();
          reject(err);
        };
        const onExit = (code: number) => {
          cleanup();
          reject(new Error(`k-means worker exited with code ${code} while starting`));
        };
        const cleanup = () => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.postMessage({ init }, [init.points.buffer as ArrayBuffer]);
      });
      shard = new RemoteShard(worker, blockCount);
      worker.on('message', (m: { id: number; result?: unknown; error?: string }) => shard!.onMessage(m));
      worker.on('error', (err) => shard!.fail(err));
      worker.on('exit', (code) => shard!.fail(new Error(`k-means worker exited with code ${code}`)));
      return shard;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  private onMessage(m: { id: number; result?: unknown; error?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(`k-means worker: ${m.error}`));
    else p.resolve(m.result);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(op: string, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('k-means worker is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  assign(centroids: Float64Array, k: number, mode: PassMode): Promise<ShardStep> {
    return this.call('assign', [centroids, k, mode]);
  }
  farthest(centroids: Float64Array, k: number, m: number): Promise<FarPoint[]> {
    return this.call('farthest', [centroids, k, m]);
  }
  final(centroids: Float64Array, k: number, mode: PassMode): Promise<FinalLabels> {
    return this.call('final', [centroids, k, mode]);
  }
  updateClosest(row: Float32Array, first: boolean): Promise<void> {
    return this.call('updateClosest', [row, first]);
  }
  closestDistances(): Promise<Float32Array> {
    return this.call('closestDistances', []);
  }
  candidateGains(candidates: Float64Array, count: number): Promise<Float32Array> {
    return this.call('candidateGains', [candidates, count]);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('k-means worker is closed'));
    this.pending.clear();
    // Terminating frees the worker's whole tfjs engine with it; no need to dispose tensors first.
    await this.worker.terminate();
  }
}
