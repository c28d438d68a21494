import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import type { DatanetSpec } from '../../domain/data/datanet-spec.js';
import { recordResponse, recordText } from '../../domain/data/datanet-spec.js';
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
import { recordBatchProgress } from '../../db/queries/contributions.js';
import { dataKeys } from '../../storage/keys.js';
import { manifestOfPartLine, partLineOf, type PartRecord } from './part-lines.js';
import { readRecords, recordRefOf } from '../../storage/packs.js';
import { BAND_PARTS, earlierBandOwners, reduceBandClaims, stageBandClaims } from '../../db/queries/lsh-bands.js';

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
      await sql`
        insert into datanets (id, proposal_id, spec, status, target_count, closes_at)
        values (${a.datanetId}, ${a.proposalId}, ${sql.json(a.spec)}, 'open', ${a.targetCount}, ${new Date(a.closesAt).toISOString()})
        on conflict (id) do nothing`;
    },

    async countContributions(a: { datanetId: string }): Promise<number> {
      const [r] = await sql<
        { n: number }[]
      >`select count(*)::int as n from contributions where datanet_id = ${a.datanetId}`;
      if (!r) throw new Error('count(*) returned no row');
      return r.n;
    },

    /** Closes the window (the API refuses contributions from now on) and returns the seq range to score. */
    async closeDatanet(a: { datanetId: string }) {
      await sql`update datanets set status = 'closed' where id = ${a.datanetId} and status = 'open'`;
      const [r] = await sql<
        { min: string; max: string; n: number }[]
      >`select coalesce(min(seq), 1)::bigint as min, coalesce(max(seq), 0)::bigint as max, count(*)::int as n from contributions where datanet_id = ${a.datanetId}`;
      if (!r) throw new Error('an aggregate query returned no row');
      // The passes' total for status reads (findPassProgress); a retry counts the same closed window.
      await sql`update datanets set received = ${r.n} where id = ${a.datanetId}`;
      return { minSeq: Number(r.min), maxSeq: Number(r.max), count: r.n };
    },

    /**
     * Pass 1 over a seq range: schema, quality and relevance; records that pass get their MinHash
     * sketch stored, their LSH bands staged as claims (lowest seq in the batch per band; reduced
     * before the dedupe pass reads owners) and a line in the batch's part file.
     */
    async scoreBatch(a: ScoreBatchInput): Promise<{ scored: number; accepted: number }> {
      const profile = profileFor(a);
      const rows = await sql<
        {
          hash: string;
          contributor: string;
          s3_key: string;
          pack_offset: string;
          pack_length: number;
          seq: string;
        }[]
      >`select hash, contributor, s3_key, pack_offset, pack_length, seq from contributions where datanet_id = ${a.datanetId} and seq between ${a.fromSeq} and ${a.toSeq} order by seq`;
      // One ranged GET per pack the batch touches.
      const bodies = await readRecords(store, rows.map(recordRefOf), S3_CONCURRENCY);
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
        return { row: r, s, text, analysed, response, label, sig };
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
      // Rows found by seq: a batch's rows are neighbours in contributions_seq_idx, where by hash each
      // would be a random page of the primary key. No indexed column changes, so with the table's
      // fillfactor (set in the baseline migration) the update is HOT: no index entries are written.
      await sql.begin(async (tx) => {
        await tx`
          update contributions c set status = u.status, quality = u.quality, relevance = u.relevance, reasons = u.reasons::jsonb, sketch = decode(nullif(u.sketch, ''), 'hex'), label = nullif(u.label, '')
          from (select unnest(${results.map((x) => x.row.seq)}::bigint[]) as seq,
                       unnest(${results.map((x) => x.row.hash)}::text[]) as hash,
                       unnest(${results.map((x) => (x.sig ? 'scored' : 'rejected'))}::text[]) as status,
                       unnest(${results.map((x) => x.s.quality)}::float8[]) as quality,
                       unnest(${results.map((x) => x.s.relevance)}::float8[]) as relevance,
                       unnest(${results.map((x) => JSON.stringify(x.s.reasons))}::text[]) as reasons,
                       unnest(${results.map((x) => (x.sig ? sketchBuffer(x.sig).toString('hex') : ''))}::text[]) as sketch,
                       unnest(${results.map((x) => x.label)}::text[]) as label) u
          where c.datanet_id = ${a.datanetId} and c.seq = u.seq and c.hash = u.hash`;
        await stageBandClaims(tx, a.datanetId, a.fromSeq, bandOwners);
        await recordBatchProgress(tx, a.datanetId, 'score', a.fromSeq, { records: rows.length, passed: passed.length });
      });
      const part: PartRecord[] = passed.map((x) => ({
        seq: Number(x.row.seq),
        hash: x.row.hash,
        contributor: x.row.contributor,
        text: x.text,
        label: x.label,
        ...(x.response ? { response: x.response } : {}),
        bands: bandsByHash.get(x.row.hash)!,
        sketch: sketchBuffer(x.sig!).toString('base64'),
      }));
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
      const part = await readPart(a.datanetId, a.fromSeq);
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
        for (const r of await sql<
          { seq: string; hash: string; sketch: Buffer }[]
        >`select seq, hash, sketch from contributions where datanet_id = ${a.datanetId} and seq = any(${[...candidateSeqs]}::bigint[])`)
          bySeq.set(Number(r.seq), { hash: r.hash, sketch: r.sketch });
      }
      const verdicts = part.map((p) => {
        let best: { hash: string; j: number; exact: boolean } | undefined;
        for (const b of p.bands) {
          const seq = owners.get(b);
          const o = seq === undefined || seq >= p.seq ? undefined : bySeq.get(seq);
          if (!o) continue;
          const exact = isExactBand(b);
          const j = exact ? 1 : sketchJaccard(bySeq.get(p.seq)!.sketch, o.sketch);
          if ((exact || j >= NEAR_DUPLICATE_THRESHOLD) && (!best || j > best.j)) best = { hash: o.hash, j, exact };
        }
        if (!best) return { seq: p.seq, hash: p.hash, status: 'accepted', of: null as string | null, reason: '' };
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
      await sql.begin(async (tx) => {
        await tx`
        update contributions c set status = u.status, duplicate_of = nullif(u.of, ''),
          reasons = case when u.reason = '' then c.reasons else coalesce(c.reasons, '[]'::jsonb) || to_jsonb(u.reason) end
        from (select unnest(${verdicts.map((v) => v.seq)}::bigint[]) as seq, unnest(${verdicts.map((v) => v.hash)}::text[]) as hash, unnest(${verdicts.map((v) => v.status)}::text[]) as status,
                     unnest(${verdicts.map((v) => v.of ?? '')}::text[]) as of, unnest(${verdicts.map((v) => v.reason)}::text[]) as reason) u
        where c.datanet_id = ${a.datanetId} and c.seq = u.seq and c.hash = u.hash and c.status = 'scored'`;
        await recordBatchProgress(tx, a.datanetId, 'dedupe', a.fromSeq, { records: verdicts.length, passed: accepted });
      });
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
