/**
 * Work serialized per key in this process: each `run(key, fn)` starts when the previous one for that key has settled
 * (whatever its outcome), so two calls for one key never overlap while calls for different keys run side by side.
 * A key's entry is dropped when its last call settles, so the map holds only keys with work in flight.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, { tail: Promise<unknown>; size: number }>();

  /** Calls for `key` running or waiting (0 when none). */
  size(key: string): number {
    return this.tails.get(key)?.size ?? 0;
  }

  /** Runs `fn` after every earlier call for `key` has settled; settles as `fn` does. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const entry = this.tails.get(key) ?? { tail: Promise.resolve(), size: 0 };
    const mine = entry.tail.catch(() => undefined).then(fn);
    entry.tail = mine;
    entry.size++;
    this.tails.set(key, entry);
    try {
      return await mine;
    } finally {
      if (--entry.size === 0) this.tails.delete(key);
    }
  }
}
