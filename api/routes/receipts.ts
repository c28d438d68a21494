// Receipts. GET /v1/receipts/:id: the attribution and fee split of one paid call, which wrappers and agent
// frameworks cannot drop (the id rides in a header and in the answer's id). A receipt names who
// paid, when and for what model, so it is shown only to the payer (any of its API keys) and to the
// accounts it pays (a signed request from a recipient or an attributed contributor); to anyone
// else it does not exist, whether or not they hold the id. Once its settlement epoch closes, the
// receipt is committed in the epoch's published Merkle root and anyone may fetch it with its
// inclusion proof (docs/receipts.md); an account lists the receipts that name it, signed.
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import { optionalSigner } from '../auth.js';
import { authenticateApiKey } from '../api-key-auth.js';
import { HttpError, notFound } from '../errors.js';
import { responses } from '../schemas/common.js';
import {
  ContributorReceiptsParams,
  ContributorReceiptsQuery,
  ContributorReceiptsResponse,
  EpochParams,
  EpochsParams,
  EpochsQuery,
  EpochsResponse,
  ReceiptBundle,
  ReceiptEpoch,
  ReceiptParams,
  ReceiptResponse,
} from '../schemas/receipts.js';
import {
  findClosedCall,
  findReceipt,
  findReceiptEpoch,
  listContributorClosedCalls,
  listReceiptEpochs,
  type ReceiptRow,
} from '../../db/queries/receipts.js';
import { receiptIdOf } from '../inference/receipts.js';
import { EpochTrees } from '../inference/receipt-proofs.js';
import { decodeCursor, DEFAULT_PAGE_SIZE, pageOf } from '../pagination.js';

const epochView = (e: { modelName: string; epoch: number; root: string; size: number; closedAt: Date }) => ({
  model: e.modelName,
  epoch: e.epoch,
  root: e.root,
  size: e.size,
  closedAt: e.closedAt.toISOString(),
});

/** Who a receipt concerns besides its payer: every account it pays and every contributor it names. */
function concerns(r: ReceiptRow, address: string): boolean {
  return r.splits.some((s) => s.to === address) || r.attribution.contributors.some((c) => c.contributor === address);
}

export const receiptRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql } = ctx;
    const apiKey = authenticateApiKey(sql);
    const trees = new EpochTrees(sql);

    app.get(
      '/v1/receipts/:id',
      {
        schema: {
          summary:
            "A paid call's receipt: model version, input hash, attribution and fee split with its ledger transfers (the payer's API key, or signed by an account it pays)",
          tags: ['inference'],
          params: ReceiptParams,
          response: responses({ 200: ReceiptResponse }),
        },
      },
      async (req) => {
        const bearer = req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined;
        if (bearer) await apiKey(req);
        const signer = await optionalSigner(req, ctx.replayGuard);
        if (!req.apiKey && !signer)
          throw new HttpError(
            401,
            "a receipt is read with the payer's API key or a request signed by an account it pays",
          );
        const id = receiptIdOf(req.params.id);
        const r = id ? await findReceipt(sql, id) : undefined;
        const allowed =
          r && (req.apiKey?.owner === r.payer || (signer !== undefined && (signer === r.payer || concerns(r, signer))));
        // The same answer whether the receipt is missing or someone else's: an id proves nothing.
        if (!r || !allowed) throw notFound(`no receipt ${req.params.id} for this caller`);
        return {
          id: r.id,
          model: r.modelName,
          version: r.version,
          proposalId: r.proposalId,
          payer: r.payer,
          fee: r.fee,
          createdAt: r.createdAt.toISOString(),
          inputHash: r.inputHash,
          endUser: r.endUser,
          attribution: r.attribution,
          settlement: r.settlementId,
          splits: r.splits.map((s) => ({
            to: s.to,
            part: s.part,
            amount: s.amount,
            transfer:
              s.transfer && s.ledger
                ? { id: s.ledger.id, idempotencyKey: s.transfer, amount: s.ledger.amount, calls: s.ledger.calls }
                : null,
          })),
        };
      },
    );

    app.get(
      '/v1/receipts/:id/proof',
      {
        schema: {
          summary:
            "A receipt whose settlement epoch has closed, with its inclusion proof and the epoch's published root (anyone; `commons verify-receipt` checks it offline)",
          tags: ['inference'],
          params: ReceiptParams,
          response: responses({ 200: ReceiptBundle }),
        },
      },
      async (req) => {
        const id = receiptIdOf(req.params.id);
        const c = id ? await findClosedCall(sql, id) : undefined;
        // An open epoch's receipt is not public yet: the same answer as an unknown id.
        if (!c) throw notFound(`no receipt ${req.params.id} in a closed epoch (epochs close every settlement period)`);
        return trees.bundle(c);
      },
    );

    app.get(
      '/v1/accounts/:address/receipts',
      {
        schema: {
          summary:
            'The closed receipts that name an account (attributed to it or paying it a part), each with its inclusion proof; signed by that account',
          tags: ['inference'],
          params: ContributorReceiptsParams,
          querystring: ContributorReceiptsQuery,
          response: responses({ 200: ContributorReceiptsResponse }),
        },
      },
      async (req) => {
        const signer = await optionalSigner(req, ctx.replayGuard);
        if (!signer) throw new HttpError(401, 'receipts are listed for a request signed by their account');
        if (signer !== req.params.address)
          throw new HttpError(
            403,
            `a request signed by ${signer} lists only its own receipts, not ${req.params.address}'s`,
          );
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[string]>(req.query.cursor, ['string']) ?? [];
        const rows = await listContributorClosedCalls(sql, signer, { limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.id]);
        const receipts = [];
        for (const c of items) receipts.push(await trees.bundle(c));
        return { receipts, nextCursor };
      },
    );

    app.get(
      '/v1/models/:name/epochs',
      {
        schema: {
          summary: "A model's closed settlement epochs, newest first, each with the Merkle root of its receipts",
          tags: ['models'],
          params: EpochsParams,
          querystring: EpochsQuery,
          response: responses({ 200: EpochsResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [before] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await listReceiptEpochs(sql, req.params.name, { limit: limit + 1, before });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.epoch]);
        return { epochs: items.map(epochView), nextCursor };
      },
    );

    app.get(
      '/v1/models/:name/epochs/:epoch',
      {
        schema: {
          summary: "One closed settlement epoch of a model: the Merkle root its receipts' proofs lead to",
          tags: ['models'],
          params: EpochParams,
          response: responses({ 200: ReceiptEpoch }),
        },
      },
      async (req) => {
        const e = await findReceiptEpoch(sql, req.params.name, req.params.epoch);
        if (!e) throw notFound(`model ${req.params.name} has no closed epoch ${req.params.epoch}`);
        return epochView(e);
      },
    );
    done();
  };
