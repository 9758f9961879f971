import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import {
  BACKEND_NAMES,
  BackendName,
  ComputeBackend,
  currentComputeBackend,
  initComputeBackend,
} from '../../ml/backend';

function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** A fresh copy of ml/backend with its own (empty) choice, for testing a forced backend; tf's engine is still shared. */
function freshBackendModule(): typeof import('../../ml/backend') {
  const id = require.resolve('../../ml/backend');
  const saved = require.cache[id];
  delete require.cache[id];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(id) as typeof import('../../ml/backend');
  } finally {
    if (saved) require.cache[id] = saved;
  }
}

/** Initialises a fresh ml/backend with `name` forced, as KILN_BACKEND=name does at process start. */
function forcedInit(fresh: typeof import('../../ml/backend'), name: string): Promise<ComputeBackend> {
  fresh.forceComputeBackend(name as BackendName);
  return fresh.initComputeBackend();
}

describe('ml/backend', () => {
  let backend: ComputeBackend;

  before(async () => {
    backend = await initComputeBackend();
  });

  it('picks the best available backend', () => {
    const expected = process.env.KILN_BACKEND
      ? process.env.KILN_BACKEND
      : resolvable('@tensorflow/tfjs-node-gpu')
        ? 'tfjs-node-gpu'
        : resolvable('@tensorflow/tfjs-node')
          ? 'tfjs-node'
          : 'wasm';
    expect(backend.name).to.equal(expected);
    expect(backend.tfBackend).to.equal(
      backend.name === 'wasm' ? 'wasm' : backend.name === 'cpu' ? 'cpu' : 'tensorflow',
    );
    expect(backend.detail).to.be.a('string').and.not.equal('');
  });

  it('has made its choice the active tf backend', () => {
    expect(tf.getBackend()).to.equal(backend.tfBackend);
  });

  it('is idempotent, also under concurrent calls', async () => {
    const again = await Promise.all([initComputeBackend(), initComputeBackend()]);
    expect(again[0]).to.equal(backend);
    expect(again[1]).to.equal(backend);
    expect(currentComputeBackend()).to.equal(backend);
  });

  it('re-activates its choice if other code switched the global tf backend', async () => {
    await tf.setBackend(backend.tfBackend === 'cpu' ? 'wasm' : 'cpu');
    expect(await initComputeBackend()).to.equal(backend);
    expect(tf.getBackend()).to.equal(backend.tfBackend);
  });

  it('computes correctly', async () => {
    const a = [1, 2, 3, 4, 5, 6];
    const b = [7, 8, 9, 10, 11, 12];
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [2, 3]), tf.tensor2d(b, [3, 2])));
    const expected = [0, 1].flatMap((i) =>
      [0, 1].map((j) => [0, 1, 2].reduce((s, t) => s + a[i * 3 + t] * b[t * 2 + j], 0)),
    );
    expect(Array.from(await product.data())).to.deep.equal(expected);
    product.dispose();
    const argMin = tf.tidy(() => tf.argMin(tf.tensor2d([3, 1, 2, 0, 5, -4], [2, 3]), 1));
    expect(Array.from(await argMin.data())).to.deep.equal([1, 2]);
    argMin.dispose();
  });

  describe('KILN_BACKEND', () => {
    afterEach(async () => {
      // Forcing another backend switches tf's global engine; put the suite's choice back for the other tests.
      await tf.setBackend(backend.tfBackend);
    });

    it('forces a named backend', async () => {
      const forced = await forcedInit(freshBackendModule(), 'cpu');
      expect(forced.name).to.equal('cpu');
      expect(tf.getBackend()).to.equal('cpu');
    });

    it('rejects an unknown name, listing the valid ones', async () => {
      let err: unknown;
      await forcedInit(freshBackendModule(), 'tpu').catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(RangeError);
      for (const name of BACKEND_NAMES) expect((err as Error).message).to.contain(name);
    });

    it('fails clearly when the forced backend is unavailable', async () => {
      const fresh = freshBackendModule();
      let err: unknown;
      const result = await forcedInit(fresh, 'tfjs-node-gpu').catch((e: unknown) => void (err = e));
      if (resolvable('@tensorflow/tfjs-node-gpu') && result) {
        expect(result.name).to.equal('tfjs-node-gpu'); // installed and working: nothing to fail
        return;
      }
      expect(err).to.be.instanceOf(fresh.BackendUnavailableError);
      expect((err as Error).message).to.contain('tfjs-node-gpu');
      expect(fresh.currentComputeBackend()).to.equal(undefined);
    });
  });
});
