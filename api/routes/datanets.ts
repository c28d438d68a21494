import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { signed } from '../auth.js';
import { HttpError, conflict, notFound } from '../errors.js';
import { validateRecord, DEFAULT_MAX_RECORD_BYTES, type DatanetSpec } from '../../domain/data/datanet-spec.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { dataKeys } from '../../storage/keys.js';
import { mapLimit } from '../../storage/map-limit.js';
import { buildMerkleTree, type MerkleTree } from '../../domain/data/merkle.js';
import { RateLimiter } from '../rate-limit.js';
import type { ApiContext } from '../context.js';

const MAX_BATCH = 1000;

interface Prepared {
  hash: string;
  bytes: Buffer;
  label: string | null;
}

export const datanetRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { sql, store } = ctx;
    const limiter = new RateLimiter(
      sql,
      Number(process.env.COMMONS_CONTRIBUTION_RATE ?? 200),
      Number(process.env.COMMONS_CONTRIBUTION_BURST ?? 2000),
    );
    const trees = new Map<string, MerkleTree>(); // dataset version -> tree (proofs are served often)

    async function openDatanet(id: string): Promise<DatanetSpec> {
      const [d] = await sql`select spec, status from datanets where id = ${id}`;
      if (!d) throw notFound(`no datanet ${id}`);
      if (d.status !== 'open') throw conflict(`datanet ${id} is ${d.status}: contributions are no longer accepted`);
      return d.spec as DatanetSpec;
    }

    function prepare(spec: DatanetSpec, payload: unknown): Prepared | { errors: string[]; status: number } {
      const { hash, bytes } = contentHash(payload);
      const max = spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
      if (bytes.length > max)
        return { status: 413, errors: [`record is ${bytes.length} bytes; this Datanet accepts at most ${max}`] };
      const v = validateRecord(spec, payload);
      if (!v.ok) return { status: 400, errors: v.errors };
      const label = spec.labelField ? String((payload as Record<string, unknown>)[spec.labelField] ?? '') : null;
      return { hash, bytes, label };
    }

    /** Stores payloads under their hash, then the rows; an existing row with the same hash is the same content. */
    async function store_(datanetId: string, contributor: string, signature: string, items: Prepared[]) {
      const fresh = new Map<string, Prepared>();
      for (const it of items) fresh.set(it.hash, it);
      const existing =
        await sql`select hash, contributor from contributions where datanet_id = ${datanetId} and hash = any(${[...fresh.keys()]}::text[])`;
      const owner = new Map(existing.map((r) => [r.hash as string, r.contributor as string]));
      // Sorted by hash: concurrent batches sharing records then lock index entries in the same order (no deadlock).
      const toWrite = [...fresh.values()]
        .filter((it) => !owner.has(it.hash))
        .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      await mapLimit(toWrite, 16, (it) =>
        store.put(dataKeys.contribution(datanetId, it.hash), it.bytes, { contentType: 'application/json' }),
      );
      const inserted = new Set<string>();
      if (toWrite.length) {
        // The rows go in only while the Datanet is open, checked under a share lock on its row:
        // closing (an update of that row) waits for inserts in flight and later ones see it
        // closed, so every record acknowledged 201 is inside the range the window scores.
        const rows = await sql.begin(async (tx) => {
          const [d] = await tx`select status from datanets where id = ${datanetId} for share`;
          if (!d || d.status !== 'open')
            throw conflict(`datanet ${datanetId} is ${d?.status ?? 'gone'}: contributions are no longer accepted`);
          return tx`
          insert into contributions (datanet_id, hash, contributor, signature, size, s3_key, label)
          select ${datanetId}, * from unnest(${toWrite.map((t) => t.hash)}::text[], ${toWrite.map(() => contributor)}::text[], ${toWrite.map(() => signature)}::text[],
            ${toWrite.map((t) => t.bytes.length)}::int[], ${toWrite.map((t) => dataKeys.contribution(datanetId, t.hash))}::text[], ${toWrite.map((t) => t.label ?? '')}::text[])
          on conflict (datanet_id, hash) do nothing returning hash`;
        });
        for (const r of rows) inserted.add(r.hash);
        // Lost a race to someone else with identical content: their row stands.
        const raced = toWrite.filter((t) => !inserted.has(t.hash)).map((t) => t.hash);
        if (raced.length)
          for (const r of await sql`select hash, contributor from contributions where datanet_id = ${datanetId} and hash = any(${raced}::text[])`)
            owner.set(r.hash, r.contributor);
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
          params: Type.Object({ id: Type.String() }),
          body: Type.Object({ payload: Type.Record(Type.String(), Type.Unknown()) }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['contributor'] }),
      },
      async (req, reply) => {
        const spec = await openDatanet(req.params.id);
        await limit(req.caller!.address, 1);
        const p = prepare(spec, req.body.payload);
        if ('errors' in p)
          throw new HttpError(
            p.status,
            p.status === 413 ? 'record too large' : 'record does not match the Datanet schema',
            p.errors,
          );
        const [r] = await store_(req.params.id, req.caller!.address, String(req.headers['x-commons-signature']), [p]);
        if (r.status === 'duplicate') throw conflict(r.reason!);
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
          params: Type.Object({ id: Type.String() }),
          body: Type.Object({
            records: Type.Array(Type.Object({ payload: Type.Record(Type.String(), Type.Unknown()) }), {
              minItems: 1,
              maxItems: MAX_BATCH,
            }),
          }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['contributor'] }),
      },
      async (req) => {
        const spec = await openDatanet(req.params.id);
        await limit(req.caller!.address, req.body.records.length);
        const prepared = req.body.records.map((r) => prepare(spec, r.payload));
        const good = prepared.filter((p): p is Prepared => !('errors' in p));
        const stored = good.length
          ? await store_(req.params.id, req.caller!.address, String(req.headers['x-commons-signature']), good)
          : [];
        const byHash = new Map(stored.map((s) => [s.hash, s]));
        const results = prepared.map((p, i) =>
          'errors' in p
            ? { index: i, status: p.status === 413 ? 'too-large' : 'invalid', errors: p.errors }
            : { index: i, ...byHash.get(p.hash)! },
        );
        return { stored: results.filter((r) => r.status === 'stored').length, results };
      },
    );

    app.get(
      '/v1/datanets/:id',
      {
        schema: {
          summary: 'A Datanet: spec, status and counts by scoring status',
          tags: ['data'],
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (req) => {
        const [d] = await sql`select * from datanets where id = ${req.params.id}`;
        if (!d) throw notFound(`no datanet ${req.params.id}`);
        const counts =
          await sql`select status, count(*)::int as n from contributions where datanet_id = ${req.params.id} group by status`;
        const [v] =
          await sql`select id, merkle_root, manifest_key, record_count from dataset_versions where datanet_id = ${req.params.id} order by created_at desc limit 1`;
        return {
          id: d.id,
          proposalId: d.proposal_id,
          status: d.status,
          spec: d.spec,
          targetCount: d.target_count,
          closesAt: d.closes_at,
          counts: Object.fromEntries(counts.map((c) => [c.status, c.n])),
          datasetVersion: v
            ? { id: v.id, merkleRoot: v.merkle_root, manifestKey: v.manifest_key, records: v.record_count }
            : null,
        };
      },
    );

    app.get(
      '/v1/contributions/:hash',
      {
        schema: {
          summary: 'A contribution: its scores and the reasons',
          tags: ['data'],
          params: Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
        },
      },
      async (req) => {
        const rows =
          await sql`select datanet_id, hash, contributor, size, status, quality, relevance, reasons, duplicate_of, created_at from contributions where hash = ${req.params.hash}`;
        if (!rows.length) throw notFound(`no contribution ${req.params.hash}`);
        return {
          contributions: rows.map((r) => ({
            datanetId: r.datanet_id,
            hash: r.hash,
            contributor: r.contributor,
            size: r.size,
            status: r.status,
            quality: r.quality,
            relevance: r.relevance,
            reasons: r.reasons,
            duplicateOf: r.duplicate_of,
            createdAt: r.created_at,
          })),
        };
      },
    );

    app.get(
      '/v1/contributions/:hash/proof',
      {
        schema: {
          summary: "Merkle inclusion proof of an accepted record in its dataset version's root",
          tags: ['data'],
          params: Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
        },
      },
      async (req) => {
        const [c] = await sql`
          select c.datanet_id, c.status, v.id as version_id, v.merkle_root from contributions c
          left join dataset_versions v on v.datanet_id = c.datanet_id where c.hash = ${req.params.hash} order by v.created_at desc nulls last limit 1`;
        if (!c) throw notFound(`no contribution ${req.params.hash}`);
        if (c.status !== 'accepted') throw conflict(`contribution ${req.params.hash} is ${c.status}, not in a dataset`);
        if (!c.version_id) throw conflict('the dataset version has not been built yet');
        let tree = trees.get(c.version_id);
        if (!tree) {
          const hashes = (
            await sql`select hash from contributions where datanet_id = ${c.datanet_id} and status = 'accepted'`
          ).map((r) => r.hash as string);
          tree = buildMerkleTree(hashes);
          if (trees.size > 16) trees.delete(trees.keys().next().value!);
          trees.set(c.version_id, tree);
        }
        if (tree.root !== c.merkle_root)
          throw new HttpError(500, 'dataset root does not match the recorded accepted set');
        return { datasetVersionId: c.version_id, root: c.merkle_root, proof: tree.proof(req.params.hash) };
      },
    );
  };
