interface Waiter<V> {
  resolve(value: V): void;
  reject(err: unknown): void;
  load(): Promise<V>;
}

/**
 * Coalesces concurrent reads of one key (group commit, for reads): at most one load per key is in flight; the reads
 * that arrive while it runs wait for the next load, which starts as soon as it settles and answers all of them. A read
 * is thus always answered by a load that started after the read did, so it sees every write committed before it (an
 * alias moved just before a predict is honoured), while N concurrent reads cost about two loads instead of N.
 *
 * A load's rejection reaches exactly the reads it answers; nothing is cached once a key has no reads in flight.
 */
export class CoalescedLookup<V> {
  /** Per key in flight: the reads waiting for the next load. */
  private readonly waiting = new Map<string, Array<Waiter<V>>>();

  /** Reads `key` with `load` (any waiter's load serves the next round: equal keys must mean equal loads). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const queued = this.waiting.get(key);
    if (queued) return new Promise<V>((resolve, reject) => queued.push({ resolve, reject, load }));
    this.waiting.set(key, []);
    const first = start(load);
    this.afterLoad(key, first);
    return first;
  }

  /** Reads in flight or waiting, over all keys (for tests and metrics). */
  get keys(): number {
    return this.waiting.size;
  }

  private afterLoad(key: string, load: Promise<V>): void {
    const next = () => {
      const waiters = this.waiting.get(key) ?? [];
      if (waiters.length === 0) {
        this.waiting.delete(key);
        return;
      }
      this.waiting.set(key, []);
      const round = start(waiters[0].load);
      round.then(
        (value) => waiters.forEach((w) => w.resolve(value)),
        (err: unknown) => waiters.forEach((w) => w.reject(err)),
      );
      this.afterLoad(key, round);
    };
    load.then(next, next);
  }
}

/** The load's promise; a synchronous throw becomes its rejection. */
function start<V>(load: () => Promise<V>): Promise<V> {
  try {
    return load();
  } catch (err) {
    return Promise.reject(err);
  }
}
