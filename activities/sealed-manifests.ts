import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps.js';
import { workerActor, type AccessPurpose } from '../contracts/access-log.js';
import { asSealedLine, boxOf, fieldsOf, isSealedManifest, type SealedLine } from '../domain/data/sealed-lines.js';
import { downloadToFile } from '../ml/embedded/manifest-stream.js';
import { jsonLine, readLines } from '../storage/jsonl.js';

/** Sealed lines opened per call (one key query and one access-log insert per batch). */
const OPEN_BATCH = 2000;

/**
 * A manifest as a local file of clear records, for a trainer in this worker (TrainerContext's
 * fetchManifest). An encrypted Datanet's sealed lines are opened with their records' data keys,
 * each open appended to the access log with `purpose` and the worker's task queue; a record erased
 * since the manifest was written has no key any more and is left out. A public manifest is used as
 * stored.
 */
export async function openManifestToFile(
  deps: Pick<ActivityDeps, 'store' | 'records'>,
  key: string,
  path: string,
  purpose: AccessPurpose,
): Promise<{ sealed: boolean }> {
  const opener = deps.records;
  const reader = { actor: workerActor(Context.current().info.taskQueue), purpose };
  const stored = `${path}.stored`;
  await downloadToFile(deps.store, key, stored);
  if (!isSealedManifest(await head(stored))) {
    await rename(stored, path);
    return { sealed: false };
  }
  try {
    const out = createWriteStream(path);
    const write = async (s: string) => {
      if (!out.write(s)) await new Promise<void>((res) => out.once('drain', () => res()));
    };
    let pending: SealedLine[] = [];
    const flush = async () => {
      if (!pending.length) return;
      if (!opener)
        throw ApplicationFailure.nonRetryable(
          `manifest ${key} holds private records and this worker holds no key-encryption key (COMMONS_KEK_FILE or KMS)`,
        );
      const byDatanet = new Map<string, SealedLine[]>();
      for (const l of pending) byDatanet.set(l.datanet, [...(byDatanet.get(l.datanet) ?? []), l]);
      let chunk = '';
      for (const [datanetId, lines] of byDatanet) {
        const opened = await opener.openKeyed(datanetId, lines.map(boxOf), reader);
        lines.forEach((l, i) => {
          const read = opened[i];
          if (!read) return; // erased: its key is gone, and the record with it
          if (!read.ok) throw new Error(`manifest ${key}: ${read.reason} (record ${l.hash})`);
          chunk += jsonLine({ hash: l.hash, contributor: l.contributor, ...fieldsOf(l, read.bytes) }) + '\n';
        });
      }
      pending = [];
      await write(chunk);
    };
    for await (const raw of readLines(createReadStream(stored))) {
      if (!raw.trim()) continue;
      const line = asSealedLine(JSON.parse(raw));
      if (!line) throw new Error(`manifest ${key} mixes clear and sealed lines`);
      pending.push(line);
      if (pending.length >= OPEN_BATCH) await flush();
    }
    await flush();
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    return { sealed: true };
  } finally {
    await rm(stored, { force: true });
  }
}

/** The first bytes of a local file (enough for isSealedManifest). */
async function head(path: string): Promise<Buffer> {
  const f = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await f.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
}
