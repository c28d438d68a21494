import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { accountsOf } from '../../contracts/accounts.js';
import {
  accountExists,
  findAccount,
  findAccountRoles,
  findDelegatee,
  upsertAccount,
  upsertDelegation,
} from '../../db/queries/accounts.js';
import { listRewards, rewardTotals } from '../../db/queries/transfers.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import { callerOf, effectiveRoles, signed, SELF_ASSIGNABLE, type Role } from '../auth.js';
import { HttpError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import { IdempotencyKeyReusedError } from '../../db/ledger.js';
import { isAddress } from '../../identity/keys.js';
import type { ApiContext } from '../context.js';
import { responses } from '../schemas/common.js';
import {
  AccountResponse,
  AddressParams,
  BalancesResponse,
  DelegationBody,
  DelegationResponse,
  FaucetBody,
  RegisterBody,
  RegisterResponse,
  RewardsQuery,
  RewardsResponse,
  StakeBody,
  StakeResponse,
  TransferBody,
  TransferResponse,
} from '../schemas/accounts.js';
import { clientIdempotencyKey, clientTransfer } from '../idempotency.js';

export const accountRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, ledger } = ctx;
    const admins = new Set(ctx.cfg.api.adminAddresses);

    app.post(
      '/v1/accounts',
      {
        schema: {
          summary: 'Register the signing key as an account',
          tags: ['accounts'],
          body: RegisterBody,
          response: responses({ 201: RegisterResponse, 200: RegisterResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, allowUnregistered: true }),
      },
      async (req, reply) => {
        const caller = callerOf(req);
        const wanted: Role[] = req.body.roles;
        const refused = wanted.filter(
          (r) => !SELF_ASSIGNABLE.includes(r) && !(r === 'admin' && admins.has(caller.address)),
        );
        if (refused.length) throw forbidden(`roles ${refused.join(', ')} cannot be self-assigned`);
        // Admin is never stored: it follows COMMONS_ADMIN_ADDRESSES on every request.
        const acct = await upsertAccount(sql, {
          address: caller.address,
          publicKey: caller.publicKey,
          roles: wanted.filter((r) => r !== 'admin'),
          displayName: req.body.displayName ?? null,
        });
        return reply
          .code(acct.created ? 201 : 200)
          .send({ address: caller.address, roles: effectiveRoles(acct.roles, caller.address, admins) });
      },
    );

    app.get(
      '/v1/accounts/:address',
      {
        schema: {
          summary: 'Roles and balances of an account',
          tags: ['accounts'],
          params: AddressParams,
          response: responses({ 200: AccountResponse }),
        },
      },
      async (req) => {
        const acct = await findAccount(sql, req.params.address);
        if (!acct) throw notFound(`no account ${req.params.address}`);
        const balances = await ledger.balances(req.params.address);
        const validatorStake = await ledger.balance(accountsOf.validatorStake(req.params.address), 'OPEN');
        return {
          address: acct.address,
          roles: effectiveRoles(acct.roles, acct.address, admins),
          displayName: acct.displayName,
          balances,
          validatorStake,
          delegatedTo: await findDelegatee(sql, req.params.address),
        };
      },
    );

    app.post(
      '/v1/faucet',
      {
        schema: {
          summary: 'Dev-only: mint OPEN or gOPEN to a registered account (or the treasury)',
          tags: ['accounts'],
          body: FaucetBody,
          response: responses({ 201: BalancesResponse }),
        },
      },
      async (req, reply) => {
        if (!ctx.cfg.devFaucet)
          throw new HttpError(404, 'the dev faucet is off on this deployment (COMMONS_DEV_FAUCET=1 turns it on)');
        // Besides participants, the dev faucet can fund the treasury (review rewards, reward pools).
        if (req.body.address !== accountsOf.treasury) {
          if (!isAddress(req.body.address)) throw badRequest('address is not a Commons address');
          if (!(await accountExists(sql, req.body.address))) throw notFound(`no account ${req.body.address}`);
        }
        const key = `faucet:${req.body.requestId ?? `${req.body.address}:${Date.now()}:${Math.random()}`}`;
        try {
          await ledger.mint(req.body.address, req.body.asset, req.body.amount, key, 'dev faucet');
        } catch (err) {
          if (err instanceof IdempotencyKeyReusedError)
            throw conflict(
              `requestId ${req.body.requestId} was used for another grant (other address, asset or amount)`,
            );
          throw err;
        }
        return reply.code(201).send({ balances: await ledger.balances(req.body.address) });
      },
    );

    app.post(
      '/v1/validators/stake',
      {
        schema: {
          summary: 'Stake OPEN as a validator (weights review answers; slashable)',
          tags: ['accounts'],
          body: StakeBody,
          response: responses({ 201: StakeResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['validator'] }),
      },
      async (req, reply) => {
        const a = callerOf(req).address;
        const moved = await clientTransfer(
          sql,
          ledger,
          req,
          'stake',
          clientIdempotencyKey(req, req.body.idempotencyKey),
          {
            asset: 'OPEN',
            from: a,
            to: accountsOf.validatorStake(a),
            amount: req.body.amount,
            reason: 'validator stake',
          },
        );
        return reply
          .code(201)
          .send({ validatorStake: await ledger.balance(accountsOf.validatorStake(a), 'OPEN'), ...moved });
      },
    );

    app.post(
      '/v1/transfers',
      {
        schema: {
          summary: 'Send OPEN or gOPEN to another account or the treasury',
          tags: ['accounts'],
          body: TransferBody,
          response: responses({ 201: TransferResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req, reply) => {
        const me = callerOf(req).address;
        if (!isAddress(req.body.to) && req.body.to !== accountsOf.treasury)
          throw badRequest('to is not a Commons address (or "treasury")');
        if (req.body.to === me) throw badRequest('cannot transfer to yourself');
        const key = clientIdempotencyKey(req, req.body.idempotencyKey);
        const moved = await clientTransfer(sql, ledger, req, 'transfer', key, {
          asset: req.body.asset,
          from: me,
          to: req.body.to,
          amount: req.body.amount,
          reason: req.body.memo ? `transfer: ${req.body.memo}` : 'transfer',
        });
        return reply.code(201).send({ balances: await ledger.balances(me), ...moved });
      },
    );

    app.post(
      '/v1/delegations',
      {
        schema: {
          summary: 'Delegate your gOPEN voting power to another governor (applies to snapshots taken after)',
          tags: ['governance'],
          body: DelegationBody,
          response: responses({ 201: DelegationResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['governor'] }),
      },
      async (req, reply) => {
        const me = callerOf(req).address;
        if (req.body.delegatee === me) throw badRequest('cannot delegate to yourself');
        const roles = await findAccountRoles(sql, req.body.delegatee);
        if (!roles?.includes('governor')) throw badRequest(`${req.body.delegatee} is not a registered governor`);
        await upsertDelegation(sql, me, req.body.delegatee);
        return reply.code(201).send({ delegator: me, delegatee: req.body.delegatee });
      },
    );

    app.get(
      '/v1/accounts/:address/rewards',
      {
        schema: {
          summary: 'What an account earned, and why',
          tags: ['accounts'],
          params: AddressParams,
          querystring: RewardsQuery,
          response: responses({ 200: RewardsResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const [rows, totals] = await Promise.all([
          listRewards(sql, req.params.address, { limit: limit + 1, after }),
          rewardTotals(sql, req.params.address),
        ]);
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.id]);
        return {
          address: req.params.address,
          totals,
          nextCursor,
          rewards: items.map((r) => ({
            amount: r.amount,
            asset: r.asset,
            reason: r.reason,
            proposalId: r.proposalId,
            from: r.from,
            details: r.memo,
            at: r.createdAt.toISOString(),
          })),
        };
      },
    );
    done();
  };
