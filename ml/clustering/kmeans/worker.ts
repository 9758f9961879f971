/**
 * Worker-thread entry for the k-means pool (pool.ts): holds one Shard (shard.ts) on this
 * thread's own tfjs wasm engine and answers { id, op, args } requests with { id, result } or { id, error }.
 * The first message, { init }, carries this shard's rows and is answered with { ready: blockCount }.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { Shard } from './shard';
import type { ShardInit } from './pool';

const port = parentPort;
if (!port) throw new Error('ml/clustering/kmeans/worker must run in a worker thread');

let shard: Shard | undefined;

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function start(init: ShardInit): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend(wasm) failed in the worker');
  await tf.ready();
  shard = new Shard(init.points, init.offset, init.rows, init.d, init.mean, init.blockRows, init.bounds);
  return shard.blockCount;
}

async function handle(op: string, args: unknown[]): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  if (!shard) throw new Error('k-means worker has no shard');
  const a = args as never[];
  switch (op) {
    case 'assign': {
      const r = await shard.assign(a[0], a[1], a[2]);
      return { result: r, transfer: [r.sums.buffer, r.counts.buffer, r.blockInertia.buffer] as ArrayBuffer[] };
    }
    case 'farthest':
      return { result: await shard.farthest(a[0], a[1], a[2]), transfer: [] };
    case 'final': {
      const r = await shard.final(a[0], a[1], a[2]);
      return { result: r, transfer: [r.labels.buffer] as ArrayBuffer[] };
    }
    case 'updateClosest':
      shard.updateClosest(a[0], a[1]);
      return { result: undefined, transfer: [] };
    case 'closestDistances': {
      const r = await shard.closestDistances();
      return { result: r, transfer: [r.buffer as ArrayBuffer] };
    }
    case 'candidateGains': {
      const r = await shard.candidateGains(a[0], a[1]);
      return { result: r, transfer: [r.buffer as ArrayBuffer] };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

// Requests are handled one at a time, in order (the main thread awaits each pass anyway).
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: { init?: ShardInit; id?: number; op?: string; args?: unknown[] }) => {
  queue = queue.then(async () => {
    if (m.init) {
      try {
        port.postMessage({ ready: await start(m.init) });
      } catch (err) {
        port.postMessage({ error: message(err) });
      }
      return;
    }
    try {
      const { result, transfer } = await handle(m.op as string, m.args ?? []);
      port.postMessage({ id: m.id, result }, transfer);
    } catch (err) {
      port.postMessage({ id: m.id, error: message(err) });
    }
  });
});
