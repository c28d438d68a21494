/**
 * The span index in the artifact store, under `spanIndexPrefix(artifactKey)`: the data files
 * first, header.json (with their checksums) last, so a header names only complete files. Written
 * by the trainer beside the model, copied with it at promotion, read once by each API replica;
 * every read and copy checks the SHA-256 the header records.
 */
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { spanIndexPrefix } from '../../storage/keys.js';
import { type ManifestRecord } from '../trainer.js';
import {
  SPAN_FILES,
  SpanIndex,
  SpanIndexBuilder,
  type SpanFile,
  type SpanIndexFiles,
  type SpanIndexHeader,
} from './span-index.js';

export const spanIndexKeys = {
  header: (prefix: string) => `${prefix}header.json`,
  file: (prefix: string, f: SpanFile) => `${prefix}${f}.bin`,
};

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What a model's meta and a promoted manifest say about its span index. */
export interface SpanIndexRef {
  prefix: 'spans/';
  tokens: number;
  records: number;
  bytes: number;
  /** SHA-256 of header.json (which holds the data files' checksums). */
  sha256: string;
}

/** The span index of a generation dataset's records: prompt and response of each, in manifest order. */
export function buildSpanIndex(
  records: Iterable<Pick<ManifestRecord, 'hash' | 'contributor' | 'text' | 'response'>>,
): SpanIndexFiles {
  const builder = new SpanIndexBuilder();
  for (const r of records) builder.add(r, r.response === undefined ? [r.text] : [r.text, r.response]);
  return builder.build();
}

/** Writes the index beside `artifactKey` (idempotent: the same records give the same bytes). */
export async function uploadSpanIndex(
  store: ArtifactStore,
  artifactKey: string,
  files: SpanIndexFiles,
): Promise<SpanIndexRef> {
  const prefix = spanIndexPrefix(artifactKey);
  for (const f of SPAN_FILES)
    await store.put(spanIndexKeys.file(prefix, f), files.data[f], {
      contentType: 'application/octet-stream',
      metadata: { sha256: files.header.files[f].sha256 },
    });
  const header = Buffer.from(JSON.stringify(files.header));
  await store.put(spanIndexKeys.header(prefix), header, { contentType: 'application/json' });
  const bytes = header.length + SPAN_FILES.reduce((s, f) => s + files.data[f].length, 0);
  return {
    prefix: 'spans/',
    tokens: files.header.tokens,
    records: files.header.records,
    bytes,
    sha256: sha256(header),
  };
}

/** The span index beside `artifactKey`, or undefined when the model has none; checksums verified. */
export async function loadSpanIndex(store: ArtifactStore, artifactKey: string): Promise<SpanIndex | undefined> {
  const prefix = spanIndexPrefix(artifactKey);
  if (!(await store.head(spanIndexKeys.header(prefix)))) return undefined;
  const header = JSON.parse((await store.get(spanIndexKeys.header(prefix))).toString('utf8')) as SpanIndexHeader;
  const data = {} as Record<SpanFile, Buffer>;
  for (const f of SPAN_FILES) {
    const b = await store.get(spanIndexKeys.file(prefix, f));
    if (sha256(b) !== header.files[f].sha256) throw new Error(`span index ${prefix}${f}.bin fails its checksum`);
    data[f] = b;
  }
  return new SpanIndex(header, data);
}

/**
 * Copies the span index beside `fromArtifactKey` to beside `toArtifactKey` (never overwriting,
 * checksums verified after the copy); undefined when the staged model has none.
 */
export async function promoteSpanIndex(
  store: ArtifactStore,
  fromArtifactKey: string,
  toArtifactKey: string,
): Promise<SpanIndexRef | undefined> {
  const from = spanIndexPrefix(fromArtifactKey);
  const to = spanIndexPrefix(toArtifactKey);
  if (!(await store.head(spanIndexKeys.header(from)))) return undefined;
  const headerBuf = await store.get(spanIndexKeys.header(from));
  const header = JSON.parse(headerBuf.toString('utf8')) as SpanIndexHeader;
  let bytes = headerBuf.length;
  const copyOnce = async (fromKey: string, toKey: string) => {
    if (!(await store.head(toKey)))
      await store.copy(fromKey, toKey, { ifNoneMatch: true }).catch(async (err: unknown) => {
        if (!(await store.head(toKey))) throw err;
      });
  };
  for (const f of SPAN_FILES) {
    await copyOnce(spanIndexKeys.file(from, f), spanIndexKeys.file(to, f));
    const copied = await store.get(spanIndexKeys.file(to, f));
    if (sha256(copied) !== header.files[f].sha256) throw new Error(`checksum mismatch after promoting ${to}${f}.bin`);
    bytes += copied.length;
  }
  await copyOnce(spanIndexKeys.header(from), spanIndexKeys.header(to));
  const headerTo = await store.get(spanIndexKeys.header(to));
  if (sha256(headerTo) !== sha256(headerBuf)) throw new Error(`checksum mismatch after promoting ${to}header.json`);
  return { prefix: 'spans/', tokens: header.tokens, records: header.records, bytes, sha256: sha256(headerBuf) };
}
