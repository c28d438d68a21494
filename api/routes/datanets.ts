import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { callerOf, optionalSigner, signatureOf, signed } from '../auth.js';
import { HttpError, conflict, forbidden, notFound, paymentRequired } from '../errors.js';
import { accessOf, depositPerRecord } from '../../domain/data/datanet-access.js';
import { isPublicPayload, mayReadPayload, type PayloadCopy } from '../../domain/data/payload-access.js';
import { derivedTextReaders } from '../record-readers.js';
import { requireContributorAccess } from '../datanet-access.js';
import {
  isEncrypted,
  isEncryptedSpec,
  validateRecord,
  visibilityOf,
  DEFAULT_MAX_RECORD_BYTES,
  type DatanetSpec,
} from '../../domain/data/datanet-spec.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { dataKeys } from '../../storage/keys.js';
import { buildCipherPack, buildPack, readRecords } from '../../storage/packs.js';
import { buildMerkleTree, type MerkleTree } from '../../domain/data/merkle.js';
import { RateLimiter } from '../rate-limit.js';
import { SharedReads, countComputation } from '../shared-reads.js';
import type { ApiContext } from '../context.js';
import { findDatanet, findDatanetSpec, findLatestDatasetVersion } from '../../db/queries/datanets.js';
import { findDatanetCuration } from '../../db/queries/curation.js';
import { findDatanetKey } from '../../db/queries/private-records.js';
import { ENVELOPE_SCHEME, checkEnvelope, type RecordEnvelopeWire } from '../../domain/data/envelope/record-envelope.js';
import { HEADER_ADDRESS } from '../../identity/request-signing.js';
import {
  countContributionsByStatus,
  findContributionForProof,
  findContributionsByHash,
  findContributors,
  findRecordRefs,
  insertContributionsWhileOpen,
  listAcceptedHashes,
} from '../../db/queries/contributions.js';
import { IdParams, responses } from '../schemas/common.js';
import {
  ContributionBatchBody,
  ContributionBatchResponse,
  ContributionBody,
  ContributionPayloadResponse,
  ContributionResponse,
  ContributionsResponse,
  DatanetResponse,
  HashParams,
  MAX_BATCH,
  ProofResponse,
  type BatchResult,
} from '../schemas/datanets.js';

/** A record's label as text ('' when absent). */
const labelText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

type StoreResult =
  { hash: string; status: 'stored' | 'already-stored' } | { hash: string; status: 'duplicate'; reason: string };

type Deposit = { perRecord: bigint; proposalId: string } | undefined;

/** What the contribution routes know of an open Datanet before reading the body. */
interface OpenDatanet {
  spec: DatanetSpec;
  deposit: Deposit;
  /** Visibility members or private: records arrive sealed (envelopes), never as payloads. */
  encrypted: boolean;
}

/** A record ready to store: its bytes for a public Datanet, its envelope for an encrypted one. */
type Prepared = { hash: string; size: number; label: string | null } & (
  { bytes: Buffer } | { sealedKey: Buffer; ciphertext: Buffer }
);
type Refused = { errors: string[]; status: number };

/** A request's records are all of one kind (its Datanet's): anything else is a bug, not bad input. */
const unmixed = (): never => {
  throw new HttpError(500, 'plain and sealed records in one pack');
};

export const datanetRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, store } = ctx;
    const limiter = new RateLimiter(sql, ctx.cfg.api.contributionRate.perSec, ctx.cfg.api.contributionRate.burst);
    // Public reads shared between callers: a dataset version's tree never changes; counts may lag a second.
    const trees = new SharedReads<MerkleTree>({
      ttlMs: Infinity,
      maxEntries: 64,
      onCompute: countComputation('merkle-tree'),
    });
    const counts = new SharedReads<Record<string, number>>({
      ttlMs: 1000,
      maxEntries: 1024,
      onCompute: countComputation('datanet-counts'),
    });
    const opened = new WeakMap<FastifyRequest, OpenDatanet>();

    /**
     * onRequest of the contribution routes, after the signer's registration and role: the Datanet is
     * open and the signer holds what it requires, before the body is read (the address is proved by
     * the signature checked next, so a forged one gets nothing from this).
     */
    const openBeforeBody = (records: number) =>
      async function openBeforeBody(req: FastifyRequest): Promise<void> {
        const { id } = req.params as { id: string };
        const contributor = req.headers[HEADER_ADDRESS];
        if (typeof contributor !== 'string') throw new HttpError(401, 'this request must be signed');
        const d = await openDatanet(id, contributor);
        // The most `records` records of this Datanet's size could take as JSON text (escapes, spacing),
        // so a declared body beyond it is refused before it is read; the route's bodyLimit bounds the rest.
        const most = records * (6 * (d.spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES) + 1024);
        const declared = Number(req.headers['content-length'] ?? 0);
        if (declared > most)
          throw new HttpError(
            413,
            `a body of ${declared} bytes cannot hold ${records === 1 ? 'one record' : `${records} records`} of at most ${d.spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES} bytes each (this Datanet's limit): at most ${most} bytes`,
          );
        opened.set(req, d);
      };

    function openedFor(req: FastifyRequest) {
      const d = opened.get(req);
      if (!d) throw new HttpError(500, 'the Datanet was not checked before the body was read');
      return d;
    }

    /** The open Datanet's spec, once the contributor holds what it requires (403 says what is missing). */
    async function openDatanet(id: string, contributor: string): Promise<OpenDatanet> {
      const d = await findDatanetSpec(sql, id);
      if (!d) throw notFound(`no datanet ${id}`);
      if (d.status !== 'open') throw conflict(`datanet ${id} is ${d.status}: contributions are no longer accepted`);
      await requireContributorAccess(sql, id, d.spec, contributor);
      const perRecord = depositPerRecord(accessOf(d.spec));
      return {
        spec: d.spec as DatanetSpec,
        deposit: perRecord > 0n ? { perRecord, proposalId: d.proposalId } : undefined,
        encrypted: isEncryptedSpec(d.spec),
      };
    }

    /** One record of a request, as a payload (public Datanet) or an envelope (encrypted Datanet). */
    function prepare(d: OpenDatanet, r: { payload?: unknown; envelope?: RecordEnvelopeWire }): Prepared | Refused {
      if (d.encrypted) return prepareSealed(d.spec, r);
      if (r.envelope !== undefined || r.payload === undefined)
        return {
          status: 400,
          errors: [
            'this Datanet is public: send the record as payload (envelopes are for members and private Datanets)',
          ],
        };
      return preparePlain(d.spec, r.payload);
    }

    /**
     * An encrypted Datanet's record: only what holds without the plaintext is checked here (the
     * envelope's form, the record's exact size against the limit); the spec's field rules are
     * checked by the worker that opens it, which rejects a failing record with its reasons.
     */
    function prepareSealed(
      spec: DatanetSpec,
      r: { payload?: unknown; envelope?: RecordEnvelopeWire },
    ): Prepared | Refused {
      if (r.payload !== undefined || r.envelope === undefined)
        return {
          status: 400,
          errors: [
            "this Datanet is encrypted: seal the record to its public key (GET /v1/datanets/:id, encryption.publicKey) and send it as envelope; the API never takes a private record's plaintext",
          ],
        };
      const c = checkEnvelope(r.envelope, spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
      if (!c.ok) return { status: c.status, errors: c.errors };
      const { hash, sealedKey, ciphertext } = c.envelope;
      return { hash, size: c.size, label: null, sealedKey, ciphertext };
    }

    function preparePlain(spec: DatanetSpec, payload: unknown): Prepared | Refused {
      const { hash, bytes } = contentHash(payload);
      const max = spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
      if (bytes.length > max)
        return { status: 413, errors: [`record is ${bytes.length} bytes; this Datanet accepts at most ${max}`] };
      const v = validateRecord(spec, payload);
      if (!v.ok) return { status: 400, errors: v.errors };
      const label = spec.labelField ? labelText((payload as Record<string, unknown>)[spec.labelField]) : null;
      return { hash, size: bytes.length, label, bytes };
    }

    /**
     * Stores the new rows and their deposits, and writes the pack they point into (one PUT per
     * request) before they commit: a batch refused for its deposit (402) or a closed window (409)
     * leaves no pack behind. An existing row with the same hash is the same content. The pack is
     * named by its bytes, so a retried request writes the same object again, and the rows go in on
     * conflict do nothing.
     */
    async function store_(
      datanetId: string,
      contributor: string,
      signature: string,
      items: Prepared[],
      deposit: Deposit,
    ): Promise<StoreResult[]> {
      const fresh = new Map<string, Prepared>();
      for (const it of items) fresh.set(it.hash, it);
      const owner = await findContributors(sql, datanetId, [...fresh.keys()]);
      // Sorted by hash: concurrent batches sharing records then lock index entries in the same order (no deadlock).
      const toWrite = [...fresh.values()]
        .filter((it) => !owner.has(it.hash))
        .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      let inserted = new Set<string>();
      if (toWrite.length) {
        // An encrypted Datanet's pack holds ciphertext only; its sealed keys go in with the rows.
        const pack = toWrite.every((t) => 'bytes' in t)
          ? buildPack(toWrite)
          : buildCipherPack(toWrite.map((t) => ('ciphertext' in t ? t : unmixed())));
        const packKey = dataKeys.pack(datanetId, pack.hash);
        const r = await insertContributionsWhileOpen(
          sql,
          datanetId,
          contributor,
          signature,
          toWrite.map((t, i) => ({
            hash: t.hash,
            size: t.size,
            s3Key: packKey,
            packOffset: pack.entries[i]!.offset,
            packLength: pack.entries[i]!.length,
            label: t.label ?? '',
            ...('sealedKey' in t ? { sealedKey: t.sealedKey } : {}),
          })),
          deposit,
          () => store.put(packKey, pack.bytes, { contentType: 'application/x-ndjson' }),
        ).catch((err: unknown) => {
          if ((err as { constraint_name?: string }).constraint_name === 'balances_non_negative' && deposit)
            throw paymentRequired(
              `each record deposits ${deposit.perRecord} OPEN (refunded if accepted, forfeited if not); ${contributor} cannot cover ${toWrite.length} new record(s): nothing was stored`,
            );
          throw err;
        });
        if ('closed' in r) throw conflict(`datanet ${datanetId} is ${r.closed}: contributions are no longer accepted`);
        inserted = r.inserted;
        // Lost a race to someone else with identical content: their row stands.
        const raced = toWrite.filter((t) => !inserted.has(t.hash)).map((t) => t.hash);
        if (raced.length) for (const [hash, who] of await findContributors(sql, datanetId, raced)) owner.set(hash, who);
      }
      return items.map((it) => {
        if (inserted.has(it.hash)) return { hash: it.hash, status: 'stored' as const };
        const o = owner.get(it.hash);
        return o === contributor
          ? { hash: it.hash, status: 'already-stored' as const }
          : {
              hash: it.hash,
              status: 'duplicate' as const,
              reason: 'identical content was already contributed by another account',
            };
      });
    }

    type RecordRef = Awaited<ReturnType<typeof findRecordRefs>>[number];

    /**
     * The copies of a record this caller may read in plaintext (domain/data/payload-access.ts):
     * every public one unsigned; otherwise the request must be signed (401) by a reader of some copy
     * (403). A copy held by a members or private Datanet is encrypted and never read here: the
     * refusal names the sealed read.
     */
    async function readableRefs(req: FastifyRequest, refs: RecordRef[]): Promise<RecordRef[]> {
      const hash = refs[0]?.hash ?? '';
      const copies: { ref: RecordRef; copy: PayloadCopy }[] = [];
      for (const ref of refs) {
        const d = await findDatanetCuration(sql, ref.datanetId);
        if (d) copies.push({ ref, copy: { status: ref.status, contributor: ref.contributor, datanet: d } });
      }
      const open = copies.filter((c) => isPublicPayload(c.copy)).map((c) => c.ref);
      if (open.length) return open;
      const encrypted = copies.find((c) => isEncrypted(visibilityOf(c.copy.datanet.spec)));
      const reader = await optionalSigner(req, ctx.replayGuard);
      if (!reader)
        throw new HttpError(
          401,
          `contribution ${hash} is not public (not accepted into an ungated public Datanet): sign the request as its contributor or a curator of its Datanet`,
        );
      const mine = copies.filter((c) => mayReadPayload(c.copy, reader)).map((c) => c.ref);
      if (mine.length) return mine;
      if (encrypted)
        throw forbidden(
          `contribution ${hash} is held by datanet ${encrypted.ref.datanetId}, which is ${visibilityOf(encrypted.copy.datanet.spec)}: its records are encrypted and never served in plaintext; those allowed to read it (docs/private-datanets.md) ask for it sealed through POST /v1/datanets/${encrypted.ref.datanetId}/records/${hash}/read`,
        );
      throw forbidden(
        `${reader} may not read contribution ${hash}: only its contributor and its Datanet's owner and curators may, until it is accepted into an ungated public Datanet`,
      );
    }

    async function limit(address: string, n: number) {
      const wait = await limiter.take(address, n);
      if (wait === Infinity)
        throw new HttpError(
          429,
          `a batch of ${n} records exceeds the rate-limit burst of ${limiter.burst}: send smaller batches`,
        );
      if (wait > 0) throw new HttpError(429, `rate limit: retry in ${wait}s`, { retryAfterSeconds: wait });
    }

    app.post(
      '/v1/datanets/:id/contributions',
      {
        bodyLimit: 2 * 1024 * 1024,
        schema: {
          summary: 'Contribute one signed record',
          tags: ['data'],
          params: IdParams,
          body: ContributionBody,
          response: responses({ 201: ContributionResponse, 200: ContributionResponse }),
        },
        onRequest: openBeforeBody(1),
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['contributor'] }),
      },
      async (req, reply) => {
        const contributor = callerOf(req).address;
        const d = openedFor(req);
        await limit(contributor, 1);
        const p = prepare(d, req.body);
        if ('errors' in p)
          throw new HttpError(
            p.status,
            p.status === 413 ? 'record too large' : 'record does not match the Datanet schema',
            p.errors,
          );
        const [r] = await store_(req.params.id, contributor, signatureOf(req), [p], d.deposit);
        if (!r) throw new HttpError(500, 'the record was not stored');
        if (r.status === 'duplicate') throw conflict(r.reason);
        return reply.code(r.status === 'stored' ? 201 : 200).send({ hash: r.hash, status: r.status });
      },
    );

    app.post(
      '/v1/datanets/:id/contributions/batch',
      {
        bodyLimit: 64 * 1024 * 1024,
        schema: {
          summary: `Contribute up to ${MAX_BATCH} records in one signed request; each is judged on its own`,
          tags: ['data'],
          params: IdParams,
          body: ContributionBatchBody,
          response: responses({ 200: ContributionBatchResponse }),
        },
        onRequest: openBeforeBody(MAX_BATCH),
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['contributor'] }),
      },
      async (req) => {
        const contributor = callerOf(req).address;
        const d = openedFor(req);
        await limit(contributor, req.body.records.length);
        const prepared = req.body.records.map((r) => prepare(d, r));
        const good = prepared.filter((p): p is Prepared => !('errors' in p));
        const stored = good.length ? await store_(req.params.id, contributor, signatureOf(req), good, d.deposit) : [];
        const byHash = new Map(stored.map((s) => [s.hash, s]));
        const results = prepared.map((p, i): BatchResult => {
          if ('errors' in p) return { index: i, status: p.status === 413 ? 'too-large' : 'invalid', errors: p.errors };
          const s = byHash.get(p.hash);
          if (!s) throw new HttpError(500, `record ${i} was neither stored nor refused`);
          return { index: i, ...s };
        });
        return { stored: results.filter((r) => r.status === 'stored').length, results };
      },
    );

    app.get(
      '/v1/datanets/:id',
      {
        schema: {
          summary: 'A Datanet: spec, status and counts by scoring status',
          tags: ['data'],
          params: IdParams,
          response: responses({ 200: DatanetResponse }),
        },
      },
      async (req) => {
        const d = await findDatanet(sql, req.params.id);
        if (!d) throw notFound(`no datanet ${req.params.id}`);
        const [byStatus, v, key] = await Promise.all([
          counts.get(req.params.id, () => countContributionsByStatus(sql, req.params.id)),
          findLatestDatasetVersion(sql, req.params.id),
          findDatanetKey(sql, req.params.id),
        ]);
        return {
          id: d.id,
          proposalId: d.proposalId,
          status: d.status,
          visibility: visibilityOf(d.spec),
          spec: d.spec,
          targetCount: d.targetCount,
          closesAt: d.closesAt?.toISOString() ?? null,
          counts: byStatus,
          encryption: key ? { scheme: ENVELOPE_SCHEME, publicKey: key.publicKey.toString('base64') } : null,
          datasetVersion: v
            ? { id: v.id, merkleRoot: v.merkleRoot, manifestKey: v.manifestKey, records: v.recordCount }
            : null,
        };
      },
    );

    app.get(
      '/v1/contributions/:hash',
      {
        schema: {
          summary:
            "A contribution: its scores and the reasons (for a members or private Datanet's record the reasons only when signed by its contributor or a curator)",
          tags: ['data'],
          params: HashParams,
          response: responses({ 200: ContributionsResponse }),
        },
      },
      async (req) => {
        const rows = await findContributionsByHash(sql, req.params.hash);
        if (!rows.length) throw notFound(`no contribution ${req.params.hash}`);
        const text = await derivedTextReaders(req, sql, ctx.replayGuard, rows);
        return {
          contributions: rows.map((r) => ({
            ...r,
            reasons: text.mayRead(r) ? r.reasons : null,
            createdAt: r.createdAt.toISOString(),
          })),
        };
      },
    );

    app.get(
      '/v1/contributions/:hash/payload',
      {
        schema: {
          summary:
            "A contribution by content hash: the stored record, checked against its hash. Anyone may read a record accepted into an ungated Datanet; otherwise sign the request as its contributor or one of its Datanet's curators",
          tags: ['data'],
          params: HashParams,
          response: responses({ 200: ContributionPayloadResponse }),
        },
      },
      async (req) => {
        const refs = await findRecordRefs(sql, req.params.hash);
        if (!refs.length) throw notFound(`no contribution ${req.params.hash}`);
        const readable = await readableRefs(req, refs);
        // Every copy has the same content; serve the first whose bytes still match the hash.
        for (const ref of readable) {
          const r = (await readRecords(store, [ref])).get(ref.hash);
          if (r?.ok)
            return {
              hash: ref.hash,
              datanetId: ref.datanetId,
              payload: JSON.parse(r.bytes.toString('utf8')) as unknown,
            };
        }
        throw new HttpError(500, `the stored bytes of contribution ${req.params.hash} do not match its hash`);
      },
    );

    app.get(
      '/v1/contributions/:hash/proof',
      {
        schema: {
          summary: "Merkle inclusion proof of an accepted record in its dataset version's root",
          tags: ['data'],
          params: HashParams,
          response: responses({ 200: ProofResponse }),
        },
      },
      async (req) => {
        const c = await findContributionForProof(sql, req.params.hash);
        if (!c) throw notFound(`no contribution ${req.params.hash}`);
        if (c.status !== 'accepted') throw conflict(`contribution ${req.params.hash} is ${c.status}, not in a dataset`);
        if (!c.datasetVersionId || c.merkleRoot === null) throw conflict('the dataset version has not been built yet');
        const tree = await trees.get(c.datasetVersionId, async () =>
          buildMerkleTree(await listAcceptedHashes(sql, c.datanetId)),
        );
        if (tree.root !== c.merkleRoot)
          throw new HttpError(500, 'dataset root does not match the recorded accepted set');
        const proof = tree.proof(req.params.hash);
        // The tree holds every accepted hash of the Datanet and its root matched, so this would be a bug.
        if (!proof)
          throw new HttpError(500, `accepted contribution ${req.params.hash} is missing from its dataset tree`);
        return { datasetVersionId: c.datasetVersionId, root: c.merkleRoot, proof };
      },
    );
    done();
  };
