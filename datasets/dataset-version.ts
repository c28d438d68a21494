import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { buildMerkleTree } from '../domain/data/merkle.js';
import { isEncryptedSpec, recordResponse, recordText, type DatanetSpec } from '../domain/data/datanet-spec.js';
import {
  acceptedHashes,
  applyCuration,
  listDatasetVersions,
  lockDataset,
  recordDatasetVersion,
  recordSources,
  settleDeposits,
  type VersionRow,
} from '../db/queries/curation.js';
import { findDatanetSpec } from '../db/queries/datanets.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { escapeLineBreaks, jsonLine, splitLines } from '../storage/jsonl.js';
import { dataKeys } from '../storage/keys.js';
import { readRecords, recordRefOf } from '../storage/packs.js';
import { manifestOfPartLine } from './part-lines.js';

/**
 * A Datanet's dataset versions, built here and nowhere else: the collection's build makes the first,
 * and each curator decision that changes the accepted set afterwards makes the next. Either way a
 * version is the accepted records' JSONL manifest in S3, the Merkle root over their content hashes,
 * each contributor's attribution weight, and the deposits the records' statuses settle, all decided
 * under the Datanet's dataset lock (db/queries/curation.ts).
 */

type Db = postgres.Sql | postgres.TransactionSql;

/** A manifest line and the content hash it carries. */
export interface ManifestEntry {
  hash: string;
  line: string;
}

/**
 * The lines a version starts from, in order and in chunks: the collection's part files for the
 * first version, the previous version's manifest after it. Lines of records no longer accepted are
 * dropped; accepted records the base lacks are read from their payloads.
 */
export type ManifestBase = AsyncIterable<ManifestEntry[]>;

export interface Deposits {
  refunded: number;
  forfeited: number;
}

/** The manifest line of a record read from its payload (the part files carry the same fields, in this order). */
function manifestLineOf(
  spec: DatanetSpec,
  r: { hash: string; contributor: string; label: string | null },
  payload: Record<string, unknown>,
): string {
  const response = recordResponse(spec, payload);
  return jsonLine({
    hash: r.hash,
    contributor: r.contributor,
    text: recordText(spec, payload),
    label: r.label ?? '',
    ...(response ? { response } : {}),
  });
}

/**
 * Writes version `version`'s manifest: the base's lines of accepted records, then the lines of the
 * accepted records it lacks. Every line is in storage/jsonl.ts's format whatever wrote the base: a
 * manifest or part file from before that format holds U+2028 and U+2029 raw, and a reader taking
 * them for line ends splits the record. Through a temp file, chunk by chunk: a million-record
 * manifest (~500 MB) is close to V8's maximum string length and would double the process's memory
 * if joined in memory.
 */
async function writeManifest(
  db: Db,
  store: ArtifactStore,
  a: {
    datanetId: string;
    spec: DatanetSpec;
    version: number;
    accepted: readonly string[];
    base: ManifestBase;
    onProgress?: (lines: number) => void;
  },
): Promise<string> {
  const key = dataKeys.manifest(a.datanetId, a.version);
  const missing = new Set(a.accepted);
  const dir = await mkdtemp(join(tmpdir(), 'commons-manifest-'));
  try {
    const file = join(dir, 'manifest.jsonl');
    const out = await open(file, 'w');
    let lines = 0;
    try {
      for await (const entries of a.base) {
        let chunk = '';
        for (const e of entries) {
          if (!missing.delete(e.hash)) continue;
          chunk += escapeLineBreaks(e.line) + '\n';
          lines++;
        }
        if (chunk) await out.write(chunk);
        a.onProgress?.(lines);
      }
      if (missing.size && isEncryptedSpec(a.spec)) {
        // Nothing here may open a private record (the API applies curators' decisions too): the
        // sealed lines scoring wrote, refused records' included, are all there is to copy.
        let chunk = '';
        for await (const entries of sealedPartEntries(store, a.datanetId))
          for (const e of entries)
            if (missing.delete(e.hash)) {
              chunk += e.line + '\n';
              lines++;
            }
        if (missing.size)
          throw new Error(
            `${missing.size} accepted record(s) of ${a.datanetId} have no sealed line (they never opened), e.g. ${[...missing][0]}`,
          );
        if (chunk) await out.write(chunk);
        a.onProgress?.(lines);
      } else if (missing.size) {
        const rows = await recordSources(db, a.datanetId, [...missing]);
        const reads = await readRecords(store, rows.map(recordRefOf));
        let chunk = '';
        for (const r of rows) {
          const read = reads.get(r.hash);
          if (!read?.ok) throw new Error(`record ${r.hash} cannot be read: ${read?.reason ?? 'not found'}`);
          chunk += manifestLineOf(a.spec, r, JSON.parse(read.bytes.toString('utf8')) as Record<string, unknown>) + '\n';
          lines++;
        }
        if (chunk) await out.write(chunk);
        a.onProgress?.(lines);
      }
    } finally {
      await out.close();
    }
    await store.putFile(key, file, { contentType: 'application/x-ndjson' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return key;
}

/** The manifest lines of an encrypted Datanet's part files, sealed as scoring wrote them. */
async function* sealedPartEntries(store: ArtifactStore, datanetId: string): ManifestBase {
  for (const { key } of await store.list(dataKeys.partsPrefix(datanetId)))
    yield splitLines(await store.get(key))
      .filter(Boolean)
      .map((line) => manifestOfPartLine(line));
}

/** The lines of a version's manifest, as the base of the next one. */
async function* manifestEntries(store: ArtifactStore, key: string): ManifestBase {
  const entries: ManifestEntry[] = [];
  for (const line of splitLines(await store.get(key)))
    if (line) entries.push({ hash: (JSON.parse(line) as { hash: string }).hash, line });
  yield entries;
}

const sameList = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((h, i) => h === y[i]);

/**
 * The collection's build: version 1 of the Datanet. Curators' decisions so far (and requireApproval)
 * settle the statuses first; the manifest is written outside any transaction (it may take minutes),
 * and the final transaction re-applies decisions under the dataset lock and fails the build, to be
 * retried, if one changed the accepted set since.
 */
export async function buildFirstDatasetVersion(
  deps: { sql: postgres.Sql; store: ArtifactStore },
  a: { proposalId: string; datanetId: string; base: ManifestBase; onProgress?: (lines: number) => void },
): Promise<{
  datasetVersionId: string;
  manifestKey: string;
  merkleRoot: string;
  recordCount: number;
  contributors: number;
}> {
  const { sql, store } = deps;
  const version = 1;
  const spec = (await findDatanetSpec(sql, a.datanetId))?.spec;
  const accepted = await sql.begin(async (tx) => {
    await lockDataset(tx, a.datanetId);
    await applyCuration(tx, a.datanetId, spec);
    return acceptedHashes(tx, a.datanetId);
  });
  const manifestKey = await writeManifest(sql, store, {
    datanetId: a.datanetId,
    spec: spec as DatanetSpec,
    version,
    accepted,
    base: a.base,
    onProgress: a.onProgress,
  });
  const merkleRoot = buildMerkleTree(accepted).root;
  const { id, weights } = await sql.begin(async (tx) => {
    await lockDataset(tx, a.datanetId);
    await applyCuration(tx, a.datanetId, spec);
    if (!sameList(await acceptedHashes(tx, a.datanetId), accepted))
      throw new Error('a curator decision changed the accepted set during the build; building again');
    const v = await recordDatasetVersion(tx, {
      datanetId: a.datanetId,
      proposalId: a.proposalId,
      version,
      manifestKey,
      merkleRoot,
      recordCount: accepted.length,
      cause: null,
    });
    // Each record's deposit settles once its fate is known (awaiting-approval ones wait).
    await settleDeposits(tx, a.datanetId, a.proposalId);
    return v;
  });
  return {
    datasetVersionId: id,
    manifestKey,
    merkleRoot,
    recordCount: accepted.length,
    contributors: weights.filter((w) => w.weight > 0).length,
  };
}

/**
 * Applies curators' decisions after the build, in the caller's transaction (which holds the dataset
 * lock, so decisions apply one after the other): statuses, deposits, and a new version when the
 * accepted set changed. Before the build there is nothing to apply yet: the build applies the
 * decisions under the same lock.
 */
export async function applyDecisionsToVersions(
  tx: postgres.TransactionSql,
  store: ArtifactStore,
  a: { datanetId: string; proposalId: string; spec: DatanetSpec; cause: string },
): Promise<{ applied: false } | { applied: true; version: VersionRow | null; deposits: Deposits }> {
  const latest = (await listDatasetVersions(tx, a.datanetId)).at(-1);
  if (!latest) return { applied: false };
  await applyCuration(tx, a.datanetId, a.spec);
  const deposits = await settleDeposits(tx, a.datanetId, a.proposalId);
  const accepted = await acceptedHashes(tx, a.datanetId);
  const merkleRoot = buildMerkleTree(accepted).root;
  if (merkleRoot === latest.merkleRoot) return { applied: true, version: null, deposits };
  const version = latest.version + 1;
  const manifestKey = await writeManifest(tx, store, {
    datanetId: a.datanetId,
    spec: a.spec,
    version,
    accepted,
    base: manifestEntries(store, latest.manifestKey),
  });
  await recordDatasetVersion(tx, {
    datanetId: a.datanetId,
    proposalId: a.proposalId,
    version,
    manifestKey,
    merkleRoot,
    recordCount: accepted.length,
    cause: a.cause,
  });
  return { applied: true, version: (await listDatasetVersions(tx, a.datanetId)).at(-1)!, deposits };
}
