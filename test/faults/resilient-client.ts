import { ApiError, CommonsClient } from '../../client/commons-client.js';

/** What a patient client saw: requests that needed more than one attempt. */
export const retryLog: { what: string; attempts: number; lastError: string }[] = [];

/**
 * A CommonsClient that rides out outages the way a real participant's client would: on a network
 * error or a 5xx it waits and sends the request again (signed requests are signed afresh, so the
 * API's replay guard does not refuse the retry). Contributions are idempotent by content hash, so
 * a retried record that the first attempt stored is answered "already stored", never stored twice.
 */
export class ResilientClient extends CommonsClient {
  override signed<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    return retrying(`${method} ${path}`, () => super.signed<T>(method, path, body));
  }
  override get<T = Record<string, unknown>>(path: string, headers: Record<string, string> = {}): Promise<T> {
    return retrying(`GET ${path}`, () => super.get<T>(path, headers));
  }
  override post<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return retrying(`POST ${path}`, () => super.post<T>(path, body, headers));
  }
}

async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fn();
      if (attempt > 1) retryLog.push({ what, attempts: attempt, lastError: '' });
      return r;
    } catch (err) {
      const transient = err instanceof ApiError ? err.status >= 500 : err instanceof TypeError; // fetch failed
      if (!transient || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
