import type postgres from 'postgres';
import { datanetKeysNotUnder, rewrapDatanetKey } from '../../db/queries/private-records.js';
import type { Kek } from './kek.js';

/**
 * KEK rotation: every Datanet private key not wrapped under the KEK's current version is unwrapped
 * (with the version that wrapped it) and wrapped again under the current one. No record is
 * re-encrypted: records' data keys are sealed to the Datanets' key pairs, which do not change.
 * Idempotent and safe beside a concurrent run (each rewrap is a compare-and-set on the old version).
 */
export async function rewrapDatanetKeys(sql: postgres.Sql, kek: Kek, pageSize = 100): Promise<{ rewrapped: number }> {
  let rewrapped = 0;
  for (;;) {
    const page = await datanetKeysNotUnder(sql, kek.current, pageSize);
    if (!page.length) return { rewrapped };
    for (const k of page) {
      const privateKey = await kek.unwrap(
        { kekId: k.kekId, kekVersion: k.kekVersion, blob: k.wrappedPrivateKey },
        k.datanetId,
      );
      const w = await kek.wrap(privateKey, k.datanetId);
      privateKey.fill(0);
      if (
        await rewrapDatanetKey(sql, k.datanetId, k, {
          wrappedPrivateKey: w.blob,
          kekId: w.kekId,
          kekVersion: w.kekVersion,
        })
      )
        rewrapped++;
    }
  }
}
