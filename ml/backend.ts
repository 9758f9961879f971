/**
 * Picks the TensorFlow.js backend that ml/ computes on, best first:
 *   tfjs-node-gpu (libtensorflow + CUDA) > tfjs-node (libtensorflow, CPU) > wasm (XNNPACK/SIMD) > cpu (plain JS).
 * The two native packages are optionalDependencies that fail to install on many hosts, so they are loaded with a
 * guarded `require` rather than a static import: a missing package must be "not available", not a compile or load
 * error. They register their 'tensorflow' backend on the same @tensorflow/tfjs core that we import, as long as npm
 * deduplicated it; if it did not, setBackend fails and we fall through to the next choice.
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, BackendName } from '../common/backend-name';

export { BACKEND_NAMES, BackendName };
export interface ComputeBackend {
  name: BackendName;
  /** True only for tfjs-node-gpu with a CUDA device in use: the case where algorithms choose their tensor paths. */
  cuda: boolean;
  /** The backend name tf.getBackend() reports ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  /** A short human description, e.g. "wasm simd, 1 thread". */
  detail: string;
}

/** Thrown when a backend cannot be loaded or initialised; `cause` keeps the underlying error. */
export class BackendUnavailableError extends Error {
  constructor(
    readonly backend: BackendName,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`compute backend ${backend} is unavailable: ${reason}`, options);
    this.name = 'BackendUnavailableError';
  }
}

let chosen: ComputeBackend | undefined;
let pending: Promise<ComputeBackend> | undefined;

/** The backend forced by KILN_BACKEND (set at process start through forceComputeBackend); undefined: the best one. */
let forced: BackendName | undefined;

/**
 * Makes later initComputeBackend() calls use `name` (the configuration's `compute.backend`, KILN_BACKEND) instead of
 * the best available one; undefined restores the default. Entry points call it once at start, before any compute.
 */
export function forceComputeBackend(name: BackendName | undefined): void {
  forced = name;
}

/**
 * Idempotent: the first call picks and initialises; later (and concurrent) calls return the same. A backend forced
 * with forceComputeBackend (KILN_BACKEND) is used or fails clearly if it is unavailable. A failed call is not
 * cached, so a caller may fix the environment and retry.
 */
export async function initComputeBackend(): Promise<ComputeBackend> {
  if (chosen) {
    // tf's engine is process-global: if other code switched it since, put our choice back rather than compute on
    // a backend nobody chose.
    if (tf.getBackend() !== chosen.tfBackend) await setBackendOrThrow(chosen.name, chosen.tfBackend);
    return chosen;
  }
  pending ??= pick().then(
    (b) => (chosen = b),
    (err: unknown) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}

export function currentComputeBackend(): ComputeBackend | undefined {
  return chosen;
}

async function pick(): Promise<ComputeBackend> {
  if (forced) {
    if (!(BACKEND_NAMES as readonly string[]).includes(forced)) {
      throw new RangeError(`KILN_BACKEND must be one of ${BACKEND_NAMES.join(', ')}; got ${JSON.stringify(forced)}`);
    }
    return activate(forced);
  }
  const failures: string[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      return await activate(name);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  // Unreachable in practice: the cpu backend ships inside @tensorflow/tfjs.
  throw new Error(`no TensorFlow.js backend could be initialised:\n${failures.join('\n')}`);
}

async function activate(name: BackendName): Promise<ComputeBackend> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node':
      return activateNative(name);
    case 'wasm':
      return activateWasm();
    case 'cpu':
      return activateCpu();
  }
}

async function activateNative(name: 'tfjs-node-gpu' | 'tfjs-node'): Promise<ComputeBackend> {
  const pkg = `@tensorflow/${name}`;
  // libtensorflow prints CPU-feature banners at INFO level on load; keep warnings and errors only,
  // unless the operator asked for something else.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(pkg);
  } catch (err) {
    throw new BackendUnavailableError(name, `cannot load ${pkg} (${shortReason(err)})`, { cause: err });
  }
  await setBackendOrThrow(name, 'tensorflow');
  // NodeJSKernelBackend exposes these two flags; typed loosely because the package may be absent at compile time.
  const native = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (name === 'tfjs-node-gpu') {
    const gpu = native.isUsingGpuDevice === true;
    return {
      name,
      tfBackend: 'tensorflow',
      cuda: gpu,
      detail: gpu ? 'libtensorflow, CUDA GPU' : 'libtensorflow GPU build, no CUDA device (running on CPU)',
    };
  }
  return { name, tfBackend: 'tensorflow', cuda: false, detail: 'libtensorflow, CPU' };
}

async function activateWasm(): Promise<ComputeBackend> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    // Importing registers the 'wasm' backend factory. In Node it finds its .wasm binaries next to its own dist
    // files (checked with 4.22.0), so no setWasmPaths is needed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    throw new BackendUnavailableError('wasm', `cannot load @tensorflow/tfjs-backend-wasm (${shortReason(err)})`, {
      cause: err,
    });
  }
  await setBackendOrThrow('wasm', 'wasm');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = wasm.getThreadsCount();
  return {
    name: 'wasm',
    tfBackend: 'wasm',
    cuda: false,
    detail: `wasm ${simd ? 'simd' : 'no simd'}, ${threads} thread${threads === 1 ? '' : 's'}`,
  };
}

async function activateCpu(): Promise<ComputeBackend> {
  // The cpu backend warns once on first use in Node that tfjs-node would be faster. We only get here when the better
  // backends failed (and know it), so silence tfjs's own warnings instead of printing that on every worker start.
  tf.env().set('PROD', true);
  await setBackendOrThrow('cpu', 'cpu');
  return { name: 'cpu', tfBackend: 'cpu', cuda: false, detail: 'plain JavaScript, 1 thread' };
}

async function setBackendOrThrow(name: BackendName, tfBackend: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfBackend);
    await tf.ready();
  } catch (err) {
    throw new BackendUnavailableError(name, `tf.setBackend('${tfBackend}') threw (${shortReason(err)})`, {
      cause: err,
    });
  }
  if (!ok || tf.getBackend() !== tfBackend) {
    throw new BackendUnavailableError(
      name,
      `tf.setBackend('${tfBackend}') did not succeed (active: ${tf.getBackend()})`,
    );
  }
}

function shortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}
