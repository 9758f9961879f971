/**
 * What DBSCAN's neighbour searches share (dbscan.ts runs one of them, kdtree-engine.ts or tensor-engine.ts): the three
 * passes an engine implements, the block size, and the pacer that turns work done into progress, abort checks and
 * yields to the event loop.
 */
import { throwIfAborted as abortIfSignalled } from '../../abort';
import { ClusteringHooks } from '../types';
import { UnionFind } from './union-find';

/**
 * Most pairwise distances one tensor block holds: 2^22 float32 = 16 MiB (a block step holds a few such matrices: the
 * distances, the mask and a cast), so peak device memory per step stays under ~64 MiB whatever n is. The kd-tree
 * method reports progress (and checks for abort) after about this many candidate pairs too.
 */
export const DBSCAN_MAX_CELLS_PER_BLOCK = 1 << 22;

/** Throws an Error named 'AbortError' (naming DBSCAN) when the signal has fired. */
export const throwIfAborted = (signal: AbortSignal | undefined): void => abortIfSignalled(signal, 'DBSCAN');

const nextTick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** The three passes, each indexed by original point index. */
export interface NeighbourEngine {
  readonly method: string;
  /** Neighbours within eps, the point itself included; exact below minPoints, at least minPoints otherwise. */
  countNeighbours(minPoints: number): Promise<Int32Array>;
  /** Links every two core points within eps. */
  connectCore(core: Uint8Array, uf: UnionFind): Promise<void>;
  /** For each candidate, the lowest label among its core neighbours within eps, or -1. */
  nearestClusterRank(core: Uint8Array, labels: Int32Array, candidates: Uint8Array): Promise<Int32Array>;
  dispose(): void;
}

/** Reports progress and yields to the event loop about every DBSCAN_MAX_CELLS_PER_BLOCK candidate pairs. */
export class Pacer {
  private work = 0;
  constructor(
    private readonly hooks: ClusteringHooks,
    private readonly method: string,
  ) {}
  add(cells: number): boolean {
    this.work += cells;
    return this.work >= DBSCAN_MAX_CELLS_PER_BLOCK;
  }
  async beat(phase: string, done: number, total: number): Promise<void> {
    this.work = 0;
    throwIfAborted(this.hooks.signal);
    await this.hooks.onProgress?.({ phase, done, total, method: this.method });
    await nextTick();
    throwIfAborted(this.hooks.signal);
  }
}
