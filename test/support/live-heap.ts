import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8's gc() without restarting node with --expose-gc: the flag set at run time exposes it to a new context (the way
// jest's leak detector does). Memory tests measure what is still reachable, not garbage V8 has not collected yet:
// how long garbage lingers depends on the heap the suite before them left, so a heapUsed peak is not a bound.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes reachable now (V8 heap and array buffers) after a full garbage collection. */
export function liveHeapBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
