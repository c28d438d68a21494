import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { ActivityDeps } from './deps.js';
import type { AccessPurpose } from '../contracts/access-log.js';
import { asSealedLine, openFields, type SealedLine } from '../domain/data/sealed-lines.js';
import { downloadToFile } from '../ml/embedded/manifest-stream.js';
import { jsonLine, readLines } from '../storage/jsonl.js';
import { recordKeysFor } from '../infra/private-records.js';

/** Sealed lines opened per key lookup (one query and one access-log insert per batch). */
const OPEN_BATCH = 2000;

/**
 * A manifest as a local file of clear records, for a trainer in this worker (TrainerContext's
 * fetchManifest). An encrypted Datanet's sealed lines are opened with their records' data keys,
 * each open appended to the access log with `purpose`; a record erased since the manifest was
 * written has no key any more and is left out. A public manifest is copied as stored.
 */
export async function openManifestToFile(
  deps: ActivityDeps,
  key: string,
  path: string,
  purpose: AccessPurpose,
): Promise<{ sealed: boolean }> {
  const stored = `${path}.stored`;
  await downloadToFile(deps.store, key, stored);
  try {
    const out = createWriteStream(path);
    const write = async (s: string) => {
      if (!out.write(s)) await new Promise<void>((res) => out.once('drain', () => res()));
    };
    let sealed = false;
    let pending: SealedLine[] = [];
    const flush = async () => {
      if (!pending.length) return;
      const byDatanet = new Map<string, SealedLine[]>();
      for (const l of pending) byDatanet.set(l.datanet, [...(byDatanet.get(l.datanet) ?? []), l]);
      let chunk = '';
      for (const [datanetId, lines] of byDatanet) {
        const keys = await recordKeysFor(deps, datanetId, lines, purpose);
        for (const l of lines) {
          const dataKey = keys.get(l.hash);
          if (!dataKey) continue; // erased: its key is gone, and the record with it
          chunk += jsonLine({ hash: l.hash, contributor: l.contributor, ...openFields(dataKey, l) }) + '\n';
        }
      }
      pending = [];
      await write(chunk);
    };
    for await (const raw of readLines(createReadStream(stored))) {
      if (!raw.trim()) continue;
      const line = asSealedLine(JSON.parse(raw));
      if (!line) {
        await write(raw + '\n');
        continue;
      }
      sealed = true;
      pending.push(line);
      if (pending.length >= OPEN_BATCH) await flush();
    }
    await flush();
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    return { sealed };
  } finally {
    await rm(stored, { force: true });
  }
}
