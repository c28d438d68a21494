import type postgres from 'postgres';
import { findApiKeysByHashes, type ApiKey } from '../db/queries/api-keys.js';

interface Waiter {
  resolve: (k: ApiKey | undefined) => void;
  reject: (err: Error) => void;
}

/**
 * The per-call API key check, coalesced: the calls that arrive while a lookup is being prepared
 * share one `key_hash = any(...)` query instead of one round trip each. There is no cache: a call
 * only ever joins a query sent AFTER it arrived, so it sees every revocation committed before it
 * arrived, exactly as its own query would (docs/security.md). At most `maxInFlight`
 * lookups are out at once (1 by default: each costs the API a socket write and read whatever its
 * size); calls arriving meanwhile wait for the next one (a batch, so under load one query answers
 * many calls, and when idle a call waits one event-loop turn).
 */
export class ApiKeyLookup {
  private waiting = new Map<string, Waiter[]>();
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly opts: { maxInFlight?: number; maxBatch?: number } = {},
  ) {}

  /** The key with this SHA-256 (revoked or not), read from Postgres after this call; undefined if none. */
  find(keyHash: string): Promise<ApiKey | undefined> {
    return new Promise((resolve, reject) => {
      const w = this.waiting.get(keyHash);
      if (w) w.push({ resolve, reject });
      else this.waiting.set(keyHash, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.size === 0 || this.inFlight >= (this.opts.maxInFlight ?? 1)) return;
    this.scheduled = true;
    // One turn of the event loop: the requests parsed in this turn go out in one query.
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    const maxBatch = this.opts.maxBatch ?? 512;
    while (this.waiting.size > 0 && this.inFlight < (this.opts.maxInFlight ?? 1)) {
      const batch = new Map<string, Waiter[]>();
      for (const [hash, ws] of this.waiting) {
        if (batch.size >= maxBatch) break;
        batch.set(hash, ws);
        this.waiting.delete(hash);
      }
      this.inFlight++;
      findApiKeysByHashes(this.sql, [...batch.keys()])
        .then(
          (found) => {
            for (const [hash, ws] of batch) for (const w of ws) w.resolve(found.get(hash));
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            for (const ws of batch.values()) for (const w of ws) w.reject(e);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}
