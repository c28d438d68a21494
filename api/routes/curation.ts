import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { callerOf, signatureOf, signed } from '../auth.js';
import { HttpError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { ApiContext } from '../context.js';
import { IdParams, responses } from '../schemas/common.js';
import {
  AddressParams,
  AssessmentBody,
  AssessmentResponse,
  AttemptBody,
  AttemptResponse,
  AttestationBody,
  AttestationResponse,
  CuratorBody,
  CuratorsResponse,
  DecisionsBody,
  DecisionsResponse,
  EligibilityResponse,
  LeaderboardResponse,
  PageQuery,
  QueueQuery,
  QueueResponse,
  RecordsResponse,
  RevocationBody,
  RevocationResponse,
  VersionsResponse,
} from '../schemas/curation.js';
import { attestationId, verifyAttestation, verifyRevocation } from '../../identity/attestations.js';
import {
  accessOf,
  DEFAULT_ASSESSMENT_ATTEMPTS,
  depositPerRecord,
  leaderboard,
  mayCurate,
  scoreAssessment,
  splitEarnings,
} from '../../domain/data/datanet-access.js';
import { recordValue } from '../../domain/data/attribution-weights.js';
import { isEncrypted, visibilityOf, type DatanetSpec } from '../../domain/data/datanet-spec.js';
import { derivedTextReaders } from '../record-readers.js';
import {
  addCurator,
  findAttestation,
  insertAttestation,
  listAssessmentItems,
  publishAssessment,
  recordAssessmentAttempt,
  revokeAttestation,
} from '../../db/queries/datanet-access.js';
import {
  acceptanceCounts,
  acceptedRecordScores,
  contributorEarnings,
  contributorRecords,
  curationQueue,
  findDatanetCuration,
  listDatasetVersions,
  lockDataset,
  recordDecisions,
  type VersionRow,
} from '../../db/queries/curation.js';
import { applyDecisionsToVersions } from '../../datasets/dataset-version.js';
import { readRecords, type RecordRead } from '../../storage/packs.js';
import { missingFor } from '../datanet-access.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';

export const versionView = (v: VersionRow) => ({
  id: v.id,
  version: v.version,
  merkleRoot: v.merkleRoot,
  manifestKey: v.manifestKey,
  records: v.recordCount,
  cause: v.cause,
  createdAt: v.createdAt.toISOString(),
});

/**
 * Verified contributors (attestations, revocations, entry assessments) and curated Datanets
 * (curators' decisions, the dataset versions they make, contributors' statuses and earnings).
 */
export const curationRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, store } = ctx;
    const anyone = signed({ sql, replayGuard: ctx.replayGuard });

    /** The Datanet, when `caller` is its owner or one of its curators (403 otherwise). */
    async function curatedBy(id: string, caller: string) {
      const d = await datanet(id);
      if (!mayCurate(caller, d.owner, d.curators))
        throw forbidden(`${caller} is neither the owner nor a curator of datanet ${id}`);
      return d;
    }

    async function datanet(id: string) {
      const d = await findDatanetCuration(sql, id);
      if (!d) throw notFound(`no datanet ${id}`);
      return d;
    }

    app.post(
      '/v1/credentials',
      {
        schema: {
          summary: "Put a verifier's signed attestation (claim about a subject, with expiry) on record",
          tags: ['credentials'],
          body: AttestationBody,
          response: responses({ 201: AttestationResponse, 200: AttestationResponse }),
        },
        preHandler: anyone,
      },
      async (req, reply) => {
        const a = req.body;
        if (a.expiresAt <= a.issuedAt) throw badRequest('expiresAt must be after issuedAt');
        if (!verifyAttestation(a))
          throw badRequest('the attestation signature does not verify against the verifier key it names');
        const id = attestationId(a);
        const stored = await insertAttestation(sql, { ...a, id });
        return reply.code(stored ? 201 : 200).send({ id, stored });
      },
    );

    app.post(
      '/v1/credentials/:id/revoke',
      {
        schema: {
          summary: 'Revoke an attestation with a revocation signed by its verifier',
          tags: ['credentials'],
          params: IdParams,
          body: RevocationBody,
          response: responses({ 200: RevocationResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const a = await findAttestation(sql, req.params.id);
        if (!a) throw notFound(`no attestation ${req.params.id}`);
        const r = {
          attestationId: a.id,
          verifier: a.verifier,
          revokedAt: req.body.revokedAt,
          signature: req.body.signature,
        };
        if (!verifyRevocation(r)) throw forbidden("the revocation is not signed by the attestation's verifier");
        const revoked = await revokeAttestation(sql, a.id, r.revokedAt, r.signature);
        const now = revoked ? r.revokedAt : ((await findAttestation(sql, a.id))?.revokedAt ?? r.revokedAt);
        return { id: a.id, revokedAt: new Date(now).toISOString(), revoked };
      },
    );

    app.get(
      '/v1/datanets/:id/eligibility/:address',
      {
        schema: {
          summary: 'Whether an account may contribute: each missing requirement with the reason, and the deposit',
          tags: ['credentials'],
          params: AddressParams,
          response: responses({ 200: EligibilityResponse }),
        },
      },
      async (req) => {
        const d = await datanet(req.params.id);
        const missing = await missingFor(sql, req.params.id, d.spec, req.params.address);
        return { eligible: missing.length === 0, missing, deposit: depositPerRecord(accessOf(d.spec)).toString() };
      },
    );

    app.post(
      '/v1/datanets/:id/assessment',
      {
        schema: {
          summary: "Publish the Datanet's entry assessment (owner; once)",
          tags: ['credentials'],
          params: IdParams,
          body: AssessmentBody,
          response: responses({ 201: AssessmentResponse }),
        },
        preHandler: anyone,
      },
      async (req, reply) => {
        const d = await datanet(req.params.id);
        const a = accessOf(d.spec).assessment;
        if (callerOf(req).address !== d.owner)
          throw forbidden(`only the owner of datanet ${req.params.id} may publish its assessment`);
        if (!a) throw conflict(`datanet ${req.params.id} does not require an assessment (spec.access.assessment)`);
        const bad = req.body.items.findIndex((i) => !i.choices.includes(i.answer));
        if (bad >= 0) throw badRequest(`items[${bad}]: the answer must be one of its choices`);
        if (!(await publishAssessment(sql, req.params.id, req.body.items)))
          throw conflict(`datanet ${req.params.id} already has its assessment; it never changes once published`);
        return reply.code(201).send({
          minScore: a.minScore,
          maxAttempts: a.maxAttempts ?? DEFAULT_ASSESSMENT_ATTEMPTS,
          failedAttemptFee: a.failedAttemptFee ?? '0',
          items: req.body.items.map((i) => ({ prompt: i.prompt, choices: i.choices })),
        });
      },
    );

    app.get(
      '/v1/datanets/:id/assessment',
      {
        schema: {
          summary: 'The entry assessment (prompts and choices; never the answers)',
          tags: ['credentials'],
          params: IdParams,
          response: responses({ 200: AssessmentResponse }),
        },
      },
      async (req) => {
        const d = await datanet(req.params.id);
        const a = accessOf(d.spec).assessment;
        if (!a) throw notFound(`datanet ${req.params.id} has no entry assessment`);
        const items = await listAssessmentItems(sql, req.params.id);
        if (!items.length) throw notFound(`the assessment of datanet ${req.params.id} is not published yet`);
        return {
          minScore: a.minScore,
          maxAttempts: a.maxAttempts ?? DEFAULT_ASSESSMENT_ATTEMPTS,
          failedAttemptFee: a.failedAttemptFee ?? '0',
          items: items.map((i) => ({ prompt: i.prompt, choices: i.choices })),
        };
      },
    );

    app.post(
      '/v1/datanets/:id/assessment/attempts',
      {
        schema: {
          summary:
            'Answer the entry assessment: passed or not, never a score; a failed attempt costs failedAttemptFee (to the treasury)',
          tags: ['credentials'],
          params: IdParams,
          body: AttemptBody,
          response: responses({ 200: AttemptResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['contributor'] }),
      },
      async (req) => {
        const d = await datanet(req.params.id);
        const a = accessOf(d.spec).assessment;
        if (!a) throw notFound(`datanet ${req.params.id} has no entry assessment`);
        const items = await listAssessmentItems(sql, req.params.id);
        if (!items.length) throw conflict(`the assessment of datanet ${req.params.id} is not published yet`);
        if (req.body.answers.length !== items.length)
          throw badRequest(`answer each of the ${items.length} items, in order (got ${req.body.answers.length})`);
        const max = a.maxAttempts ?? DEFAULT_ASSESSMENT_ATTEMPTS;
        const score = scoreAssessment(
          items.map((i) => i.answer),
          req.body.answers,
        );
        const fee = BigInt(a.failedAttemptFee ?? '0');
        const r = await recordAssessmentAttempt(sql, {
          datanetId: req.params.id,
          contributor: callerOf(req).address,
          score,
          passed: score >= a.minScore,
          requestSignature: signatureOf(req),
          maxAttempts: max,
          failedAttemptFee: fee,
          proposalId: d.proposalId,
        });
        if (r === 'attempts-used') throw new HttpError(429, `all ${max} attempts at this assessment are used`);
        if (r === 'cannot-cover-fee')
          throw new HttpError(
            402,
            `a failed attempt at this assessment costs ${fee} OPEN (to the treasury); hold at least that much to attempt it`,
          );
        return {
          attempt: r.attempt,
          passed: r.score >= a.minScore,
          attemptsLeft: max - r.attempt,
          fee: r.fee.toString(),
        };
      },
    );

    app.post(
      '/v1/datanets/:id/curators',
      {
        schema: {
          summary: 'Name a curator (owner only)',
          tags: ['curation'],
          params: IdParams,
          body: CuratorBody,
          response: responses({ 200: CuratorsResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const d = await datanet(req.params.id);
        if (callerOf(req).address !== d.owner)
          throw forbidden(`only the owner of datanet ${req.params.id} names curators`);
        await addCurator(sql, req.params.id, req.body.curator, d.owner);
        const after = await datanet(req.params.id);
        return { owner: after.owner, curators: after.curators };
      },
    );

    app.get(
      '/v1/datanets/:id/curators',
      {
        schema: {
          summary: 'Who may curate: the owner and the curators',
          tags: ['curation'],
          params: IdParams,
          response: responses({ 200: CuratorsResponse }),
        },
      },
      async (req) => {
        const d = await datanet(req.params.id);
        return { owner: d.owner, curators: d.curators };
      },
    );

    app.get(
      '/v1/datanets/:id/curation/queue',
      {
        schema: {
          summary:
            "Records no curator has decided yet (those awaiting approval first), with their payloads (owner or curators, signed); an encrypted Datanet's payloads are null: read each sealed (POST /v1/datanets/:id/records/:hash/read)",
          tags: ['curation'],
          params: IdParams,
          querystring: QueueQuery,
          response: responses({ 200: QueueResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        // Undecided payloads may be sensitive (a clinical Datanet): only those who curate see them.
        const d = await curatedBy(req.params.id, callerOf(req).address);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const after = decodeCursor<[number, number]>(req.query.cursor, ['number', 'number']);
        const page = pageOf(await curationQueue(sql, req.params.id, { limit: limit + 1, after }), limit, (r) => r.key);
        const rows = page.items;
        // An encrypted Datanet's packs hold ciphertext the API cannot open: its curators read each
        // record sealed (POST /v1/datanets/:id/records/:hash/read), and that read is logged.
        const encrypted = isEncrypted(visibilityOf(d.spec));
        // Payloads live in pack objects (one ranged read per pack), checked against their hashes.
        const reads = encrypted
          ? new Map<string, RecordRead>()
          : await readRecords(
              store,
              rows.map((r) => ({ hash: r.hash, key: r.s3Key, offset: r.packOffset, length: r.packLength })),
            );
        const records = rows.map(
          ({ key: _sortKey, s3Key: _key, packOffset: _offset, packLength: _length, ...rest }) => {
            const read = reads.get(rest.hash);
            let payload: unknown = null;
            try {
              if (read?.ok) payload = JSON.parse(read.bytes.toString('utf8'));
            } catch {
              payload = null;
            }
            return { ...rest, payload };
          },
        );
        return { encrypted, records, nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/v1/datanets/:id/curation',
      {
        schema: {
          summary:
            'Approve or reject records with a reason (owner or curators); a change of the accepted set after the build is a new dataset version',
          tags: ['curation'],
          params: IdParams,
          body: DecisionsBody,
          response: responses({ 200: DecisionsResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const caller = callerOf(req).address;
        const d = await curatedBy(req.params.id, caller);
        if (d.status === 'cancelled') throw conflict(`datanet ${req.params.id} is cancelled`);
        const id = req.params.id;
        return sql.begin(async (tx) => {
          await lockDataset(tx, id);
          const { changed, unknown } = await recordDecisions(
            tx,
            id,
            caller,
            req.body.decisions.map((x) => ({
              hash: x.hash,
              decision: x.decision === 'approve' ? ('approved' as const) : ('rejected' as const),
              reason: x.reason,
            })),
          );
          if (unknown.length) throw badRequest(`not records of datanet ${id}`, unknown);
          const r = await applyDecisionsToVersions(tx, store, {
            datanetId: id,
            proposalId: d.proposalId,
            spec: d.spec as DatanetSpec,
            cause: `curation by ${caller}`,
          });
          // Before the collection's build, decisions wait for it (it applies them under the same lock).
          if (!r.applied)
            return { changed: changed.size, applied: false, version: null, deposits: { refunded: 0, forfeited: 0 } };
          return {
            changed: changed.size,
            applied: true,
            version: r.version && versionView(r.version),
            deposits: r.deposits,
          };
        });
      },
    );

    app.get(
      '/v1/datanets/:id/versions',
      {
        schema: {
          summary: 'Every dataset version of a Datanet, each with its Merkle root',
          tags: ['curation'],
          params: IdParams,
          querystring: PageQuery,
          response: responses({ 200: VersionsResponse }),
        },
      },
      async (req) => {
        await datanet(req.params.id);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await listDatasetVersions(sql, req.params.id, { limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (v) => [v.version]);
        return { versions: items.map(versionView), nextCursor };
      },
    );

    app.get(
      '/v1/datanets/:id/leaderboard',
      {
        schema: {
          summary: 'Contributors by acceptance rate (accepted / decided records)',
          tags: ['curation'],
          params: IdParams,
          querystring: PageQuery,
          response: responses({ 200: LeaderboardResponse }),
        },
      },
      async (req) => {
        await datanet(req.params.id);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const after = decodeCursor<[number, number, string]>(req.query.cursor, ['number', 'number', 'string']);
        const rows = await acceptanceCounts(sql, req.params.id, { limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.rate, r.accepted, r.contributor]);
        return { leaderboard: leaderboard(items), nextCursor };
      },
    );

    app.get(
      '/v1/datanets/:id/contributors/:address/records',
      {
        schema: {
          summary:
            "A contributor's records: status, reasons, the curator's decision, deposit and earnings (a members or private Datanet's reasons only when signed by the contributor or a curator)",
          tags: ['curation'],
          params: AddressParams,
          querystring: PageQuery,
          response: responses({ 200: RecordsResponse }),
        },
      },
      async (req) => {
        await datanet(req.params.id);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const who = { datanetId: req.params.id, contributor: req.params.address };
        const withText = (await derivedTextReaders(req, sql, ctx.replayGuard, [who])).mayRead(who);
        const [rows, accepted, earned] = await Promise.all([
          contributorRecords(sql, req.params.id, req.params.address, { limit: limit + 1, after }),
          acceptedRecordScores(sql, req.params.id, req.params.address),
          contributorEarnings(sql, req.params.id, req.params.address),
        ]);
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.seq]);
        // Earnings are split over all the contributor's accepted records, whichever page shows them.
        const parts = splitEarnings(
          earned,
          accepted.map((r) =>
            recordValue({ quality: r.quality ?? 0, relevance: r.relevance ?? 0, status: 'accepted' }),
          ),
        );
        const earningsOf = new Map(accepted.map((r, i) => [r.hash, parts[i] ?? 0n]));
        return {
          contributor: req.params.address,
          earned: earned.toString(),
          records: items.map(({ seq: _seq, ...r }) => ({
            ...r,
            reasons: withText ? r.reasons : null,
            decisionReason: withText ? r.decisionReason : null,
            earnings: (r.status === 'accepted' ? (earningsOf.get(r.hash) ?? 0n) : 0n).toString(),
            createdAt: r.createdAt.toISOString(),
          })),
          nextCursor,
        };
      },
    );
    done();
  };
