import { LRUCache } from 'lru-cache';

/**
 * A bounded LRU of loaded models (predictors), keyed by model-version id, on lru-cache's `fetch`. Versions are
 * immutable, so an entry never goes stale; moving an alias changes which version id a request resolves to (one
 * indexed query per request), so the next prediction uses the new version at once without any invalidation step.
 *
 * - Concurrent misses for one key share one load (lru-cache keeps the pending load in the entry).
 * - A value that leaves the cache (evicted past `capacity`, replaced by `set`, removed by `delete`/`clear`) is
 *   released exactly once; one still in use by `use` is released when its last use ends, so a request never predicts
 *   with freed tensors. A load that was evicted while in flight serves the requests waiting for it and is released
 *   after them, since it never entered the cache.
 */
export class ModelCache<V extends object, C = unknown> {
  // The fetch context is typed `unknown` here: lru-cache's fetch() overloads cannot resolve for an open generic C.
  private readonly lru: LRUCache<string, V, unknown>;
  /** Uses in progress per value (a value may be out of the cache while still in use). */
  private readonly uses = new Map<V, number>();
  /** Out of the cache: to release once no use holds them. */
  private readonly gone = new WeakSet<V>();
  private readonly released = new WeakSet<V>();

  /**
   * `load(key, context)` builds the value on a miss (context: what the caller knows about the key, e.g. the version's
   * artifact); a rejection reaches every request waiting for that load and caches nothing. `release` frees what a
   * value holds (a trained model's tensors).
   */
  constructor(
    readonly capacity: number,
    load: (key: string, context: C) => Promise<V>,
    private readonly release: (value: V) => void,
  ) {
    this.lru = new LRUCache<string, V, unknown>({
      max: capacity,
      fetchMethod: async (key, _stale, { signal, context }) => {
        const value = await load(key, context as C);
        // Evicted or deleted while loading: lru-cache will not store it, so nothing but its waiters holds it.
        if (signal.aborted) this.gone.add(value);
        return value;
      },
      // Keep loading when evicted meanwhile: the requests waiting for it still get an answer.
      ignoreFetchAbort: true,
      dispose: (value) => {
        this.gone.add(value);
        this.settle(value);
      },
    });
  }

  /**
   * Runs `fn` with the value for `key` (loading it on a miss, with `context`), keeping the value alive until `fn`
   * settles even if the cache lets it go meanwhile. Rejects with the load's error, or with `fn`'s.
   */
  async use<R>(key: string, context: C, fn: (value: V) => Promise<R> | R): Promise<R> {
    let value: V | undefined;
    // A value released between its load resolving and this continuation (evicted by another request's insert) is
    // fetched again rather than used.
    do value = await this.lru.fetch(key, { context });
    while (value !== undefined && this.released.has(value));
    if (value === undefined) throw new Error(`model cache: no value for ${key}`);
    this.uses.set(value, (this.uses.get(value) ?? 0) + 1);
    try {
      return await fn(value);
    } finally {
      const left = (this.uses.get(value) ?? 1) - 1;
      if (left > 0) this.uses.set(value, left);
      else this.uses.delete(value);
      this.settle(value);
    }
  }

  /** Puts a loaded value in (warming the cache), replacing and releasing any value the key had. */
  set(key: string, value: V): void {
    if (this.released.has(value)) throw new Error(`model cache: the value for ${key} was already released`);
    this.gone.delete(value);
    this.lru.set(key, value);
  }

  /** Drops a key; its value is released once no use holds it. True when the key was cached. */
  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Drops every key (shutdown); values in use are released when their uses end. */
  clear(): void {
    this.lru.clear();
  }

  /** Keys cached, counting loads in flight. */
  get size(): number {
    return this.lru.size;
  }

  private settle(value: V): void {
    if (!this.gone.has(value) || this.uses.has(value) || this.released.has(value)) return;
    this.released.add(value);
    this.release(value);
  }
}
