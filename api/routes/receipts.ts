// GET /v1/receipts/:id: the attribution and fee split of one paid call, which wrappers and agent
// frameworks cannot drop (the id rides in a header and in the answer's id). A receipt names who
// paid, when and for what model, so it is shown only to the payer (any of its API keys) and to the
// accounts it pays (a signed request from a recipient or an attributed contributor); to anyone
// else it does not exist, whether or not they hold the id.
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import { optionalSigner } from '../auth.js';
import { authenticateApiKey } from '../api-key-auth.js';
import { HttpError, notFound } from '../errors.js';
import { responses } from '../schemas/common.js';
import { ReceiptParams, ReceiptResponse } from '../schemas/receipts.js';
import { findReceipt, type ReceiptRow } from '../../db/queries/receipts.js';
import { receiptIdOf } from '../inference/receipts.js';

/** Who a receipt concerns besides its payer: every account it pays and every contributor it names. */
function concerns(r: ReceiptRow, address: string): boolean {
  return r.splits.some((s) => s.to === address) || r.attribution.contributors.some((c) => c.contributor === address);
}

export const receiptRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql } = ctx;
    const apiKey = authenticateApiKey(sql);

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
    done();
  };
