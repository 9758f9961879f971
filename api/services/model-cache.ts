/**
 * A bounded LRU of parsed model artifacts, keyed by model-version id. Versions are immutable, so an entry never goes
 * stale; moving an alias changes which version id a request resolves to (one indexed query per request), so the next
 * prediction uses the new version at once without any invalidation step.
 */
export class ModelCache<T> {
  private readonly entries = new Map<string, T>();

  /** onEvict releases what an entry holds (a trained model's tensors). */
  constructor(
    readonly capacity: number,
    private readonly onEvict: (value: T) => void = () => undefined,
  ) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-insert: Map iteration order is insertion order, so the first key is always the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loaded = await load();
    this.entries.set(key, loaded);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      const evicted = this.entries.get(oldest) as T;
      this.entries.delete(oldest);
      this.onEvict(evicted);
    }
    return loaded;
  }

  get size(): number {
    return this.entries.size;
  }
}
