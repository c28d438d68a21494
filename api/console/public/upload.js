// Sends a contributor's checked records to POST /v1/datanets/:id/contributions/batch in signed
// batches, within the route's limits, reporting progress after each batch and stopping on cancel.

/** The route takes at most this many records a request (api/schemas/datanets.ts MAX_BATCH). */
const MAX_BATCH = 1000;
/**
 * Smaller than the route allows: progress moves every batch, and a batch over the contribution
 * rate's burst is refused whole. The body stays far below the route's 64 MiB limit.
 */
const BATCH_RECORDS = 100;
const BATCH_BYTES = 4 * 1024 * 1024;
const enc = new TextEncoder();

/** Batches of { line, payload } within the record and byte limits. */
export function batchesOf(records, maxRecords = BATCH_RECORDS) {
  const out = [];
  let cur = [];
  let bytes = 0;
  for (const r of records) {
    const size = enc.encode(JSON.stringify({ payload: r.payload })).length + 1;
    if (cur.length && (cur.length >= Math.min(maxRecords, MAX_BATCH) || bytes + size > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `records` ({ line, payload }) and calls onProgress({ sent, accepted, refused }) after each
 * batch, onRefused({ line, reason }) for each record the API refused. `post(body)` is the signed
 * call; `signal.cancelled` stops before the next batch. `toRecord(payload)` makes what the route
 * takes of each record: `{payload}` by default, `{envelope}` sealed in the page for an encrypted
 * Datanet (sealed-read.js sealerFor); a batch is sealed just before it is sent, once (a retried
 * batch sends the same envelopes). Resolves to { stopped?: reason }.
 */
export async function sendInBatches(
  records,
  { post, reasonOf, signal, onProgress, onRefused, toRecord = async (payload) => ({ payload }) },
) {
  const wire = new Map();
  const wireOf = async (r) => {
    if (!wire.has(r)) wire.set(r, await toRecord(r.payload));
    return wire.get(r);
  };
  let size = BATCH_RECORDS;
  let queue = batchesOf(records, size);
  const counts = { sent: 0, accepted: 0, refused: 0 };
  while (queue.length) {
    if (signal.cancelled) return { stopped: 'cancelled' };
    const batch = queue[0];
    const res = await post({ records: await Promise.all(batch.map(wireOf)) });
    if (res.status === 429) {
      const wait = res.json?.details?.retryAfterSeconds;
      // Over the burst: a smaller batch can pass; otherwise the bucket refills in `wait` seconds.
      if (wait === undefined && size > 1) {
        size = Math.max(1, Math.floor(size / 2));
        queue = batchesOf(queue.flat(), size);
      } else await sleep(1000 * (wait ?? 1));
      continue;
    }
    // A refusal of the whole request (deposit, closed window, access): nothing of it was stored.
    if (!res.ok) return { stopped: reasonOf(res) };
    queue.shift();
    for (const r of batch) wire.delete(r);
    counts.sent += batch.length;
    for (const r of res.json.results) {
      if (r.status === 'stored' || r.status === 'already-stored') counts.accepted++;
      else {
        counts.refused++;
        onRefused({
          line: batch[r.index].line,
          reason: `${r.status}: ${[r.reason, ...(r.errors ?? [])].filter(Boolean).join('; ')}`,
        });
      }
    }
    onProgress({ ...counts });
  }
  return {};
}
