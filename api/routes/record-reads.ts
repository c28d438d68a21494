import { createHash } from 'node:crypto';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { callerOf, signatureOf, signed } from '../auth.js';
import { HttpError, conflict, forbidden, notFound } from '../errors.js';
import type { ApiContext } from '../context.js';
import { responses } from '../schemas/common.js';
import {
  AccessLogQuery,
  AccessLogResponse,
  AccountParams,
  RecordParams,
  SealedReadBody,
  SealedReadResponse,
} from '../schemas/record-reads.js';
import { IdParams } from '../schemas/common.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import { recordReadWorkflow } from '../../workflows/index.js';
import { TASK_QUEUES } from '../../contracts/task-queues.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import { isEncrypted, visibilityOf } from '../../domain/data/datanet-spec.js';
import { sealedReadOf } from '../../domain/data/payload-access.js';
import { findDatanetCuration } from '../../db/queries/curation.js';
import { findDatanetRecord, isDatanetMember } from '../../db/queries/record-reads.js';
import {
  accessLogOfContributor,
  accessLogOfDatanet,
  erasedAmong,
  type AccessLogRow,
} from '../../db/queries/private-records.js';

/** How long a reader waits for the worker's sealed answer before the read is given up. */
const RECORD_READ_TIMEOUT_MS = 60_000;

/** The ApplicationFailure type a failed workflow's chain of causes ends in, if any. */
function failureType(err: unknown): { type: string | undefined; message: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause)
    if (e instanceof ApplicationFailure) return { type: e.type ?? undefined, message: e.message };
  return undefined;
}

const entryView = (r: AccessLogRow) => ({
  datanetId: r.datanetId,
  recordHash: r.recordHash,
  contributor: r.contributor,
  actor: r.actor,
  purpose: r.purpose,
  at: r.at.toISOString(),
});

/**
 * Records of encrypted Datanets as people read them: the sealed read (a worker opens the record,
 * logs it and seals it to the reader's key; the API only relays the box) and the access log, which
 * contributors and Datanet owners read and no route writes.
 */
export const recordReadRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, temporal } = ctx;
    const anyone = signed({ sql, replayGuard: ctx.replayGuard });

    app.post(
      '/v1/datanets/:id/records/:hash/read',
      {
        schema: {
          summary:
            "Read a record of a members or private Datanet, sealed to the reader's ephemeral X25519 key (curators; on a members Datanet its members and the record's contributor). Logged",
          tags: ['data'],
          params: RecordParams,
          body: SealedReadBody,
          response: responses({ 200: SealedReadResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const { id, hash } = req.params;
        const reader = callerOf(req).address;
        const [d, record] = await Promise.all([findDatanetCuration(sql, id), findDatanetRecord(sql, id, hash)]);
        if (!d) throw notFound(`no datanet ${id}`);
        if (!isEncrypted(visibilityOf(d.spec)))
          throw conflict(
            `datanet ${id} is public: its records are not encrypted; read GET /v1/contributions/${hash}/payload`,
          );
        if (!record) throw notFound(`datanet ${id} holds no record ${hash}`);
        // The rule first, so a refused reader learns nothing more (not even whether it was erased).
        const member = visibilityOf(d.spec) === 'members' ? await isDatanetMember(sql, id, reader) : false;
        const rule = sealedReadOf(
          { status: record.status, contributor: record.contributor, datanet: d },
          id,
          reader,
          member,
        );
        if (!rule.ok) throw forbidden(rule.reason);
        if ((await erasedAmong(sql, id, [hash])).size)
          throw new HttpError(410, `record ${hash} was erased by its contributor: its data key is destroyed`);
        // One workflow per signed request (replays are refused before this point).
        const digest = createHash('sha256').update(signatureOf(req)).digest('hex').slice(0, 32);
        try {
          const r = await temporal.workflow.execute(recordReadWorkflow, {
            workflowId: workflowIds.recordRead(digest),
            taskQueue: TASK_QUEUES.lifecycle,
            args: [{ datanetId: id, hash, reader, readerPublicKey: req.body.readerPublicKey }],
            workflowExecutionTimeout: RECORD_READ_TIMEOUT_MS,
            staticSummary: `sealed read of ${hash.slice(0, 12)} in ${id} by ${reader}`,
          });
          return { datanetId: id, hash, purpose: r.purpose, sealed: r.sealed };
        } catch (err) {
          if (!(err instanceof WorkflowFailedError)) throw err;
          const f = failureType(err);
          if (f?.type === ERROR_TYPES.readRefused) throw forbidden(f.message);
          if (f?.type === ERROR_TYPES.recordGone) throw new HttpError(410, f.message);
          if (f?.type === ERROR_TYPES.recordUnreadable) throw new HttpError(500, f.message);
          throw new HttpError(503, `the sealed read did not complete: ${f?.message ?? err.message}; retry later`);
        }
      },
    );

    app.get(
      '/v1/accounts/:address/access-log',
      {
        schema: {
          summary:
            "Who read this contributor's records of encrypted Datanets (workers and people), newest first (signed by the contributor)",
          tags: ['data'],
          params: AccountParams,
          querystring: AccessLogQuery,
          response: responses({ 200: AccessLogResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const caller = callerOf(req).address;
        if (caller !== req.params.address)
          throw forbidden(`only ${req.params.address} reads the access log of their records; ${caller} signed`);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [before] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await accessLogOfContributor(sql, req.params.address, { before, limit: limit + 1 });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.id]);
        return { entries: items.map(entryView), nextCursor };
      },
    );

    app.get(
      '/v1/datanets/:id/access-log',
      {
        schema: {
          summary: "Every read of this Datanet's records, newest first (signed by the Datanet's owner)",
          tags: ['data'],
          params: IdParams,
          querystring: AccessLogQuery,
          response: responses({ 200: AccessLogResponse }),
        },
        preHandler: anyone,
      },
      async (req) => {
        const d = await findDatanetCuration(sql, req.params.id);
        if (!d) throw notFound(`no datanet ${req.params.id}`);
        if (callerOf(req).address !== d.owner)
          throw forbidden(`only the owner of datanet ${req.params.id} reads its access log`);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [before] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await accessLogOfDatanet(sql, req.params.id, { before, limit: limit + 1 });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.id]);
        return { entries: items.map(entryView), nextCursor };
      },
    );
    done();
  };
