import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import { workerActor } from '../../contracts/access-log.js';
import { readRecords, type RecordRead, type RecordRef } from '../../storage/packs.js';

/** A record as the scoring pass reads it; an encrypted Datanet's comes with its data key (to seal its lines). */
export type BatchRead = { ok: true; bytes: Buffer; dataKey?: Buffer } | { ok: false; reason: string };

/** Why an encrypted record read nothing: its key was destroyed (erasure) before scoring reached it. */
const ERASED: RecordRead = { ok: false, reason: 'record erased by its contributor before scoring' };

/**
 * A scoring batch's records, keyed by hash: read from their packs for a public Datanet; opened in
 * this worker for an encrypted one (each open appended to the access log as `scoring`), with each
 * record's data key, under which scoring seals the lines it writes for the record.
 */
export async function readBatch(
  deps: ActivityDeps,
  a: { datanetId: string; encrypted: boolean },
  refs: readonly RecordRef[],
  concurrency: number,
): Promise<Map<string, BatchRead>> {
  if (!a.encrypted) return readRecords(deps.store, refs, concurrency);
  if (!deps.records)
    throw ApplicationFailure.nonRetryable(
      `Datanet ${a.datanetId} is encrypted and this worker holds no key-encryption key (COMMONS_KEK_FILE or KMS)`,
    );
  const reader = { actor: workerActor(Context.current().info.taskQueue), purpose: 'scoring' as const };
  const [opened, keys] = await Promise.all([
    deps.records.openRecords(a.datanetId, refs, reader),
    deps.records.recordKeys(
      a.datanetId,
      refs.map((r) => r.hash),
    ),
  ]);
  const out = new Map<string, BatchRead>();
  for (const ref of refs) {
    const read = opened.get(ref.hash) ?? ERASED;
    const dataKey = keys.get(ref.hash);
    out.set(ref.hash, read.ok && dataKey ? { ...read, dataKey } : read.ok ? ERASED : read);
  }
  return out;
}
