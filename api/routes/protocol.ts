import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { InsufficientFundsError } from '../../db/ledger.js';
import { claimUnbonded, listUnbonding, StakeLockedError, unstake, type UnbondingEntry } from '../../db/staking.js';
import { accountsOf } from '../../contracts/accounts.js';
import { PROTOCOL_ONLY_PARAMS } from '../../domain/protocol/proposal-terms.js';
import { callerOf, signatureOf, signed } from '../auth.js';
import { conflict, paymentRequired } from '../errors.js';
import type { ApiContext } from '../context.js';
import { responses } from '../schemas/common.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import { AddressParams } from '../schemas/accounts.js';
import {
  ClaimResponse,
  ProtocolResponse,
  UnbondingListQuery,
  UnbondingListResponse,
  UnstakeBody,
  UnstakeResponse,
} from '../schemas/protocol.js';

const view = (e: UnbondingEntry) => ({ ...e, availableAt: e.availableAt.toISOString() });

/** The published protocol settings, and unstaking validator stake through its unbonding period. */
export const protocolRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, ledger } = ctx;

    app.get(
      '/v1/protocol',
      {
        schema: {
          summary:
            'The protocol settings in force: governance rules, treasury caps, fee-share bounds, gate floors, unbonding',
          tags: ['protocol'],
          response: responses({ 200: ProtocolResponse }),
        },
      },
      () => Promise.resolve({ settings: ctx.cfg.protocol, protocolOnlyParams: [...PROTOCOL_ONLY_PARAMS] }),
    );

    app.post(
      '/v1/validators/unstake',
      {
        schema: {
          summary:
            'Start unbonding validator stake (claimable after staking.unbondingPeriodMs; still slashable until then; 409 while a review round holds it)',
          tags: ['accounts'],
          body: UnstakeBody,
          response: responses({ 202: UnstakeResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['validator'] }),
      },
      async (req, reply) => {
        const address = callerOf(req).address;
        let entry: UnbondingEntry;
        try {
          entry = await unstake(sql, {
            address,
            amount: req.body.amount,
            idempotencyKey: `unstake:${signatureOf(req)}`,
            unbondingPeriodMs: ctx.cfg.protocol.staking.unbondingPeriodMs,
          });
        } catch (err) {
          if (err instanceof InsufficientFundsError)
            throw paymentRequired(`validator stake is smaller than ${req.body.amount}: nothing unstaked`);
          if (err instanceof StakeLockedError) throw conflict(`${err.message}: nothing unstaked`);
          throw err;
        }
        return reply.code(202).send({
          validatorStake: await ledger.balance(accountsOf.validatorStake(address), 'OPEN'),
          unbonding: view(entry),
        });
      },
    );

    app.post(
      '/v1/validators/unbonding/claim',
      {
        schema: {
          summary:
            'Claim validator stake whose unbonding period is over (409 while none is, or while a review round holds the stake)',
          tags: ['accounts'],
          response: responses({ 200: ClaimResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const r = await claimUnbonded(sql, callerOf(req).address);
        if (r.lockedBy.length > 0)
          throw conflict(
            `nothing claimed: unbonding stake answers for ${r.lockedBy.map((x) => `round ${x.round} of proposal ${x.proposalId}`).join(', ')} until it settles`,
          );
        if (r.entries.length === 0) {
          const next = r.pending[0];
          throw conflict(
            next
              ? `nothing to claim yet: ${next.amount} OPEN is unbonding until ${next.availableAt.toISOString()}`
              : 'nothing is unbonding',
          );
        }
        return { claimed: r.claimed, entries: r.entries.map(view), pending: r.pending.map(view) };
      },
    );

    app.get(
      '/v1/validators/:address/unbonding',
      {
        schema: {
          summary: "A validator's stake and its unbonding entries",
          tags: ['accounts'],
          params: AddressParams,
          querystring: UnbondingListQuery,
          response: responses({ 200: UnbondingListResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await listUnbonding(sql, req.params.address, { limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (e) => [e.id]);
        return {
          validatorStake: await ledger.balance(accountsOf.validatorStake(req.params.address), 'OPEN'),
          unbondingBalance: await ledger.balance(accountsOf.unbonding(req.params.address), 'OPEN'),
          entries: items.map(view),
          nextCursor,
        };
      },
    );
    done();
  };
