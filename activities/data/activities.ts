import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import type { DatanetSpec } from '../../domain/data/datanet-spec.js';
import { isEncryptedSpec, recordResponse, recordText } from '../../domain/data/datanet-spec.js';
import {
  EXACT_BAND_PREFIX,
  NEAR_DUPLICATE_JACCARD,
  recordBands,
  shingleHashesOf,
  signatureOfShingles,
  sketchJaccard,
  sketchOf,
} from '../../domain/data/minhash.js';
import { buildDomainProfile } from '../../domain/data/relevance.js';
import { scoreRecordText } from '../../domain/data/score-record.js';
import { countAwaitingApproval } from '../../db/queries/curation.js';
import { buildFirstDatasetVersion, type ManifestBase } from '../../datasets/dataset-version.js';
import {
  closeDatanetWindow,
  type DedupeVerdict,
  contributionsInSeqRange,
  countDatanetContributions,
  insertOpenDatanet,
  sketchesBySeq,
  writeDedupeBatch,
  writeScoreBatch,
} from '../../db/queries/collection-passes.js';
import { dataKeys } from '../../storage/keys.js';
import {
  REFUSED,
  manifestOfPartLine,
  partLineOf,
  type PartManifestFields,
  type PartRecord,
} from '../../datasets/part-lines.js';
import { recordRefOf } from '../../storage/packs.js';
import { readBatch } from './read-batch.js';
import { sealFields } from '../../domain/data/sealed-lines.js';
import { BAND_PARTS, earlierBandOwners, reduceBandClaims } from '../../db/queries/lsh-bands.js';
import { ensureDatanetKeyPair } from '../../infra/private-records/datanet-keys.js';
import { requireKek } from '../../infra/kms/from-config.js';

export interface ScoreBatchInput {
  datanetId: string;
  fromSeq: number;
  toSeq: number;
  spec: DatanetSpec;
  domain: string;
  description: string;
  labels: string[];
  keywords: string[];
  minQuality: number;
  minRelevance: number;
}

const S3_CONCURRENCY = 32;
/** Part files the dataset build reads ahead of the one it is writing out. */
const PART_READ_AHEAD = 4;

const isExactBand = (band: number) => Math.floor(band / 2 ** 48) === EXACT_BAND_PREFIX;

/** b-bit MinHash sketch (the rule lives in domain/data/minhash.ts), as a Buffer for the bytea column. */
const sketchBuffer = (sig: Uint32Array): Buffer => Buffer.from(sketchOf(sig));
export { sketchJaccard };

export const NEAR_DUPLICATE_THRESHOLD = NEAR_DUPLICATE_JACCARD;

/** A payload's label field as text: strings as they are, other scalars printed, objects as JSON, missing as ''. */
function labelText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

export function createDataActivities(deps: ActivityDeps) {
  const { sql, store } = deps;
  const profiles = new Map<string, ReturnType<typeof buildDomainProfile>>();
  const profileFor = (a: ScoreBatchInput) => {
    let p = profiles.get(a.datanetId);
    if (!p) {
      p = buildDomainProfile({ domain: a.domain, description: a.description, keywords: a.keywords, labels: a.labels });
      profiles.set(a.datanetId, p);
    }
    return p;
  };

  return {
    async openDatanet(a: {
      proposalId: string;
      datanetId: string;
      spec: DatanetSpec;
      targetCount: number;
      closesAt: number;
    }) {
      // An encrypted Datanet's key pair exists before its window opens: every sealed record has a key to go to.
      if (isEncryptedSpec(a.spec)) await ensureDatanetKeyPair(sql, requireKek(deps.kek), a.datanetId);
      await insertOpenDatanet(sql, a);
    },

    async countContributions(a: { datanetId: string }): Promise<number> {
      return countDatanetContributions(sql, a.datanetId);
    },

    /** Closes the window (the API refuses contributions from now on) and returns the seq range to score. */
    async closeDatanet(a: { datanetId: string }) {
      return closeDatanetWindow(sql, a.datanetId);
    },

    /**
     * Pass 1 over a seq range: schema, quality and relevance; records that pass get their MinHash
     * sketch stored, their LSH bands staged as claims (lowest seq in the batch per band; reduced
     * before the dedupe pass reads owners) and a line in the batch's part file.
     */
    async scoreBatch(a: ScoreBatchInput): Promise<{ scored: number; accepted: number }> {
      const profile = profileFor(a);
      const rows = await contributionsInSeqRange(sql, a.datanetId, a.fromSeq, a.toSeq);
      // One ranged GET per pack the batch touches; an encrypted Datanet's records are opened here.
      const encrypted = isEncryptedSpec(a.spec);
      const bodies = await readBatch(
        deps,
        { datanetId: a.datanetId, encrypted },
        rows.map(recordRefOf),
        S3_CONCURRENCY,
      );
      Context.current().heartbeat({ done: 0, of: rows.length });
      const results = rows.map((r, i) => {
        const read = bodies.get(r.hash);
        let payload: unknown;
        let refused: string | undefined;
        if (!read?.ok) refused = read?.reason ?? 'stored record not found';
        else {
          try {
            payload = JSON.parse(read.bytes.toString('utf8'));
          } catch {
            refused = 'payload is not JSON';
          }
        }
        // The scored text is tokenised once, for quality, relevance, MinHash and the exact key alike.
        const { score: s, text: analysed } =
          refused !== undefined
            ? { score: { status: 'rejected' as const, quality: 0, relevance: 0, reasons: [refused] }, text: undefined }
            : scoreRecordText(a.spec, profile, payload, { minQuality: a.minQuality, minRelevance: a.minRelevance });
        if ((i + 1) % 200 === 0) Context.current().heartbeat({ done: i + 1, of: rows.length });
        const fields = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined;
        const text = fields ? recordText(a.spec, fields) : '';
        const response = fields ? recordResponse(a.spec, fields) : '';
        const label =
          a.spec.labelField && payload && typeof payload === 'object'
            ? labelText((payload as Record<string, unknown>)[a.spec.labelField])
            : '';
        // Duplicates are judged on what scoring read (scoringText): the prompt and, for generation, the response.
        const sig = s.status === 'accepted' && analysed ? signatureOfShingles(shingleHashesOf(analysed)) : undefined;
        return { row: r, s, text, analysed, response, label, sig, dataKey: read?.ok ? read.dataKey : undefined };
      });

      const passed = results.filter((x) => x.sig);
      const bandOwners = new Map<number, number>(); // band -> lowest seq in this batch
      const bandsByHash = new Map(passed.map((x) => [x.row.hash, recordBands(x.analysed!, x.sig!)]));
      for (const x of passed) {
        const seq = Number(x.row.seq);
        for (const band of bandsByHash.get(x.row.hash)!) {
          const cur = bandOwners.get(band);
          if (cur === undefined || cur > seq) bandOwners.set(band, seq);
        }
      }
      await writeScoreBatch(
        sql,
        a.datanetId,
        a.fromSeq,
        results.map((x) => ({
          seq: Number(x.row.seq),
          hash: x.row.hash,
          status: x.sig ? 'scored' : 'rejected',
          quality: x.s.quality,
          relevance: x.s.relevance,
          reasons: JSON.stringify(x.s.reasons),
          sketchHex: x.sig ? sketchBuffer(x.sig).toString('hex') : '',
          // A private record's label is its contributor's data: it stays in the sealed lines only.
          label: encrypted ? '' : x.label,
        })),
        bandOwners,
        { records: rows.length, passed: passed.length },
      );
      const manifestFields = (x: (typeof results)[number]): PartManifestFields =>
        encrypted
          ? sealFields(
              x.dataKey!, // every record that opened has its key
              { hash: x.row.hash, contributor: x.row.contributor, datanet: a.datanetId },
              { text: x.text, label: x.label, ...(x.response ? { response: x.response } : {}) },
            )
          : {
              hash: x.row.hash,
              contributor: x.row.contributor,
              text: x.text,
              label: x.label,
              ...(x.response ? { response: x.response } : {}),
            };
      const part: PartRecord[] = passed.map((x) => ({
        ...manifestFields(x),
        seq: Number(x.row.seq),
        bands: bandsByHash.get(x.row.hash)!,
        sketch: sketchBuffer(x.sig!).toString('base64'),
      }));
      // An encrypted Datanet's records scoring refused but that opened keep a sealed line too, so a
      // curator's approval can admit one later without anything (the API least of all) opening it.
      if (encrypted)
        for (const x of results)
          if (!x.sig && x.dataKey && x.text) part.push({ ...manifestFields(x), seq: Number(x.row.seq), ...REFUSED });
      await store.put(dataKeys.part(a.datanetId, a.fromSeq), part.map(partLineOf).join('\n'), {
        contentType: 'application/x-ndjson',
      });
      return { scored: rows.length, accepted: passed.length };
    },

    /**
     * Pass 2 over the same seq range, after every band owner is final: a record whose band is owned
     * by an earlier record with a confirmed Jaccard ≥ 0.8 (or the same normalised text) is a
     * duplicate and earns nothing, whoever submitted it.
     */
    async dedupeBatch(a: { datanetId: string; fromSeq: number }): Promise<{ accepted: number; duplicates: number }> {
      // Every scoring batch has finished (the workflow starts this pass after the last): the staged
      // claims are reduced once, by whichever dedupe batches get there first, each starting at its
      // own partition so a wave shares the work.
      await reduceBandClaims(sql, a.datanetId, {
        startPart: Math.floor(a.fromSeq / 997) * 17, // batches of a wave start at different partitions
        onPart: (part) => Context.current().heartbeat({ reducedPart: part, of: BAND_PARTS }),
      });
      const part = (await readPart(a.datanetId, a.fromSeq)).filter((p) => !p.refused);
      if (part.length === 0) return { accepted: 0, duplicates: 0 };
      // Owners within this batch (pass 1 claimed each band for the batch's lowest seq), then the
      // earlier owners of bands another batch claimed too: only those can name a record outside this
      // batch.
      const owners = new Map<number, number>(); // band -> owner's seq
      for (const p of part)
        for (const b of p.bands) {
          const cur = owners.get(b);
          if (cur === undefined || p.seq < cur) owners.set(b, p.seq);
        }
      for (const [band, seq] of await earlierBandOwners(sql, a.datanetId, a.fromSeq))
        if (seq < owners.get(band)!) owners.set(band, seq);
      // Sketches: this batch's own from its part file, owners in earlier batches from Postgres by seq.
      const bySeq = new Map<number, { hash: string; sketch: Buffer }>();
      for (const p of part) bySeq.set(p.seq, { hash: p.hash, sketch: Buffer.from(p.sketch, 'base64') });
      const candidateSeqs = new Set<number>();
      for (const p of part)
        for (const b of p.bands) {
          const o = owners.get(b);
          if (o !== undefined && o < p.seq && !bySeq.has(o)) candidateSeqs.add(o);
        }
      if (candidateSeqs.size > 0) {
        for (const r of await sketchesBySeq(sql, a.datanetId, [...candidateSeqs]))
          bySeq.set(Number(r.seq), { hash: r.hash, sketch: r.sketch });
      }
      const verdicts = part.map((p): DedupeVerdict => {
        let best: { hash: string; j: number; exact: boolean } | undefined;
        for (const b of p.bands) {
          const seq = owners.get(b);
          const o = seq === undefined || seq >= p.seq ? undefined : bySeq.get(seq);
          if (!o) continue;
          const exact = isExactBand(b);
          const j = exact ? 1 : sketchJaccard(bySeq.get(p.seq)!.sketch, o.sketch);
          if ((exact || j >= NEAR_DUPLICATE_THRESHOLD) && (!best || j > best.j)) best = { hash: o.hash, j, exact };
        }
        if (!best) return { seq: p.seq, hash: p.hash, status: 'accepted', of: null, reason: '' };
        return {
          seq: p.seq,
          hash: p.hash,
          status: best.exact ? 'duplicate' : 'near-duplicate',
          of: best.hash,
          reason: best.exact
            ? `same text as ${best.hash}`
            : `near-duplicate of ${best.hash} (Jaccard ≈ ${best.j.toFixed(2)})`,
        };
      });
      const accepted = verdicts.filter((v) => v.status === 'accepted').length;
      await writeDedupeBatch(sql, a.datanetId, a.fromSeq, verdicts, accepted);
      return { accepted, duplicates: verdicts.length - accepted };
    },

    /**
     * The dataset version: accepted records as a JSONL manifest, a Merkle root over their content
     * hashes and each contributor's attribution weight, all recorded in Postgres (datasets/).
     */
    async buildDataset(a: { proposalId: string; datanetId: string }) {
      return buildFirstDatasetVersion(
        { sql, store },
        { ...a, base: partManifestEntries(a.datanetId), onProgress: (lines) => Context.current().heartbeat({ lines }) },
      );
    },

    /** Scored records a curated Datanet (requireApproval) still waits on a curator for. */
    async countAwaitingApproval(a: { datanetId: string }): Promise<number> {
      return countAwaitingApproval(sql, a.datanetId);
    },
  };

  async function readPart(datanetId: string, fromSeq: number): Promise<PartRecord[]> {
    return (await readPartLines(datanetId, fromSeq)).map((l) => JSON.parse(l) as PartRecord);
  }

  /** The part files' manifest lines, part by part in order, a few read ahead: one GET at a time left most of the build waiting on S3. */
  async function* partManifestEntries(datanetId: string): ManifestBase {
    const keys = (await store.list(dataKeys.partsPrefix(datanetId))).map((o) => o.key);
    const ahead: Promise<string[]>[] = [];
    let next = 0;
    for (let i = 0; i < keys.length; i++) {
      for (; next < keys.length && next - i < PART_READ_AHEAD; next++) {
        const key = keys[next]!;
        const read = readPartLines(datanetId, Number(key.slice(key.lastIndexOf('/') + 1, -'.jsonl'.length)));
        read.catch(() => undefined); // awaited below, in order: a failure surfaces there
        ahead.push(read);
      }
      // Each line's manifest prefix is cut, not parsed and serialised again (part-lines.ts).
      yield (await ahead.shift()!).map(manifestOfPartLine);
    }
  }

  async function readPartLines(datanetId: string, fromSeq: number): Promise<string[]> {
    // scoreBatch writes a part for every batch (empty when nothing passed), so it is always there.
    const body = (await store.get(dataKeys.part(datanetId, fromSeq))).toString('utf8');
    return body ? body.split('\n').filter(Boolean) : [];
  }
}

export type DataActivities = ReturnType<typeof createDataActivities>;
