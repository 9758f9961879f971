import { ModelCache } from '../../api/services/model-cache';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

interface Fake {
  key: string;
  serial: number;
}

/** A promise with its resolve/reject exposed, to hold a load or a use open while the test acts. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A cache of fakes that counts loads per key and releases per value. */
function fakeCache(capacity: number, gate?: (key: string) => Promise<void>) {
  const loads = new Map<string, number>();
  const released = new Map<Fake, number>();
  let serial = 0;
  const cache = new ModelCache<Fake, string>(
    capacity,
    async (key, context) => {
      expect(context).to.equal(`ctx-${key}`);
      loads.set(key, (loads.get(key) ?? 0) + 1);
      await gate?.(key);
      return { key, serial: ++serial };
    },
    (value) => released.set(value, (released.get(value) ?? 0) + 1),
  );
  const get = (key: string) => cache.use(key, `ctx-${key}`, (v) => v);
  return { cache, loads, released, get };
}

describe('api/services/model-cache', () => {
  it('loads a key once for concurrent misses and gives every caller the same value', async () => {
    const gate = deferred<void>();
    const { loads, get } = fakeCache(4, () => gate.promise);
    const pending = Array.from({ length: 5 }, () => get('v1'));
    await new Promise((r) => setImmediate(r));
    expect(loads.get('v1')).to.equal(1);
    gate.resolve();
    const values = await Promise.all(pending);
    expect(new Set(values).size).to.equal(1);
    expect(await get('v1')).to.equal(values[0]);
    expect(loads.get('v1')).to.equal(1);
  });

  it('hands a failed load to every waiter and caches nothing', async () => {
    let fail = true;
    const { cache, loads, get } = fakeCache(4, async () => {
      if (fail) throw new Error('artifact missing');
    });
    const results = await Promise.allSettled([get('v1'), get('v1')]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect(results.map((r) => (r as PromiseRejectedResult).reason.message)).to.deep.equal([
      'artifact missing',
      'artifact missing',
    ]);
    expect([loads.get('v1'), cache.size]).to.deep.equal([1, 0]);
    fail = false;
    expect((await get('v1')).key).to.equal('v1');
    expect(loads.get('v1')).to.equal(2);
  });

  it('releases an evicted value exactly once, and only the least recently used', async () => {
    const { released, get } = fakeCache(2);
    const a = await get('a');
    const b = await get('b');
    await get('a'); // a is now more recent than b
    await get('c'); // evicts b
    expect([...released]).to.deep.equal([[b, 1]]);
    await get('d'); // evicts a
    await get('e'); // evicts c
    expect(released.get(a)).to.equal(1);
    expect(released.get(b)).to.equal(1);
    expect(released.size).to.equal(3);
  });

  it('releases a replaced or deleted value exactly once', async () => {
    const { cache, released, get } = fakeCache(4);
    const first = await get('v1');
    const replacement = { key: 'v1', serial: 100 };
    cache.set('v1', replacement);
    expect([...released]).to.deep.equal([[first, 1]]);
    cache.set('v1', replacement); // the same value again replaces nothing
    expect(await get('v1')).to.equal(replacement);
    expect(cache.delete('v1')).to.equal(true);
    expect(cache.delete('v1')).to.equal(false);
    expect([...released]).to.deep.equal([
      [first, 1],
      [replacement, 1],
    ]);
    expect(() => cache.set('v1', first)).to.throw(/already released/);
  });

  it('keeps a value evicted while in use until its last use ends, then releases it once', async () => {
    const { cache, released, get } = fakeCache(1);
    const holdA = deferred<void>();
    const holdB = deferred<void>();
    let seen: Fake | undefined;
    const useA = cache.use('a', 'ctx-a', async (v) => {
      seen = v;
      await holdA.promise;
      return v;
    });
    const useB = cache.use('a', 'ctx-a', async (v) => {
      await holdB.promise;
      return v;
    });
    await new Promise((r) => setImmediate(r));
    await get('b'); // evicts a while two uses hold it
    expect(released.has(seen!)).to.equal(false);
    holdA.resolve();
    await useA;
    expect(released.has(seen!)).to.equal(false);
    holdB.resolve();
    expect(await useB).to.equal(seen);
    expect(released.get(seen!)).to.equal(1);
  });

  it('serves a load evicted while in flight to its waiters, then releases it once', async () => {
    const gate = deferred<void>();
    const { cache, loads, released, get } = fakeCache(1, (key) =>
      key === 'a' && loads.get('a') === 1 ? gate.promise : Promise.resolve(),
    );
    const waiting = [get('a'), get('a')];
    await new Promise((r) => setImmediate(r));
    await get('b'); // evicts the pending load of a
    gate.resolve();
    const [first, second] = await Promise.all(waiting);
    expect(first).to.equal(second);
    expect(released.get(first)).to.equal(1);
    expect(cache.size).to.equal(1);
    const again = await get('a'); // not cached: loaded anew
    expect(again).not.to.equal(first);
    expect(loads.get('a')).to.equal(2);
    expect(released.get(first)).to.equal(1);
  });
});
