/**
 * Worker-thread entry for graph-pool.ts: holds a NormalizedGraphOperator over the shared graph (first message,
 * { graph }, answered { done }) and computes row ranges of products into the shared output ({ x, y, z, b, alpha, beta,
 * gamma, r0, r1 } → { done } or { error }).
 */
import { parentPort } from 'node:worker_threads';
import { KnnGraph, NormalizedGraphOperator } from './knn-graph';

const port = parentPort;
if (!port) throw new Error('ml/clustering/spectral/graph-worker must run in a worker thread');

let op: NormalizedGraphOperator | undefined;

port.on(
  'message',
  (m: {
    graph?: KnnGraph;
    x: Float64Array;
    y: Float64Array;
    z: Float64Array;
    b: number;
    alpha: number;
    beta: number;
    gamma: number;
    r0: number;
    r1: number;
  }) => {
    try {
      if (m.graph) op = new NormalizedGraphOperator(m.graph);
      else if (!op) throw new Error('no graph');
      else op.multiplyRows(m.x, m.y, m.b, m.alpha, m.beta, m.gamma, m.z, m.r0, m.r1);
      port.postMessage({ done: true });
    } catch (err) {
      port.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  },
);
