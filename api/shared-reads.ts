/**
 * Results of expensive public reads (a dataset version's Merkle tree, a Datanet's counts), computed
 * once and shared: callers arriving while a computation runs wait for it, later ones get the result
 * until it is `ttlMs` old, and at most `maxEntries` are kept (least recently used dropped first). A
 * flood of unauthenticated requests then costs one computation per key and period, not one each.
 */
export class SharedReads<T> {
  private readonly entries = new Map<string, { value: Promise<T>; at: number }>();

  constructor(
    private readonly opts: {
      ttlMs: number;
      maxEntries: number;
      /** Called as each computation starts (the commons_api_shared_read_computations_total metric). */
      onCompute?: () => void;
    },
  ) {}

  get(key: string, compute: () => Promise<T>, now = Date.now()): Promise<T> {
    const hit = this.entries.get(key);
    this.entries.delete(key);
    if (hit && now - hit.at < this.opts.ttlMs) {
      this.entries.set(key, hit); // most recently used last
      return hit.value;
    }
    this.opts.onCompute?.();
    const value = compute();
    const entry = { value, at: now };
    // A failure is not kept: the next caller computes again.
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.set(key, entry);
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.opts.maxEntries) break;
      this.entries.delete(oldest);
    }
    return value;
  }
}

/** Computations started by every SharedReads of this process, by read (exported as a metric). */
export const sharedReadComputations: Record<string, number> = {};

export const countComputation = (read: string) => () => {
  sharedReadComputations[read] = (sharedReadComputations[read] ?? 0) + 1;
};
