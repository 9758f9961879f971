/**
 * The compute backends Kiln can run on, best first (ml/backend.ts chooses one). In common/ because job results record
 * it and they cross the workflow boundary.
 */
export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';

/** Every backend name, best first. */
export const BACKEND_NAMES: readonly BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];
