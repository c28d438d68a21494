import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InsufficientFundsError } from '../../db/ledger.js';
import { accountsOf, type Asset } from '../../contracts/accounts.js';
import { signed, SELF_ASSIGNABLE, ROLES, type Role } from '../auth.js';
import { HttpError, badRequest, forbidden, notFound, paymentRequired } from '../errors.js';
import { isAddress } from '../../identity/keys.js';
import type { ApiContext } from '../context.js';

const Amount = Type.String({ pattern: '^[1-9][0-9]{0,30}$', description: 'integer base units' });
const ErrorBody = Type.Object({ error: Type.String(), details: Type.Optional(Type.Unknown()) });

export const accountRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { sql, ledger } = ctx;
    const admins = new Set((process.env.COMMONS_ADMIN_ADDRESSES ?? '').split(',').filter(Boolean));

    app.post(
      '/v1/accounts',
      {
        schema: {
          summary: 'Register the signing key as an account',
          tags: ['accounts'],
          body: Type.Object({
            roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, uniqueItems: true }),
            displayName: Type.Optional(Type.String({ maxLength: 80 })),
          }),
          response: {
            201: Type.Object({ address: Type.String(), roles: Type.Array(Type.String()) }),
            200: Type.Object({ address: Type.String(), roles: Type.Array(Type.String()) }),
            403: ErrorBody,
          },
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, allowUnregistered: true }),
      },
      async (req, reply) => {
        const caller = req.caller!;
        const wanted = req.body.roles as Role[];
        const refused = wanted.filter(
          (r) => !SELF_ASSIGNABLE.includes(r) && !(r === 'admin' && admins.has(caller.address)),
        );
        if (refused.length) throw forbidden(`roles ${refused.join(', ')} cannot be self-assigned`);
        const rows = await sql`
          insert into accounts (address, public_key, roles, display_name) values (${caller.address}, ${caller.publicKey}, ${wanted}, ${req.body.displayName ?? null})
          on conflict (address) do update set roles = (select array(select distinct unnest(accounts.roles || excluded.roles)))
          returning roles, (xmax = 0) as created`;
        return reply.code(rows[0].created ? 201 : 200).send({ address: caller.address, roles: rows[0].roles });
      },
    );

    app.get(
      '/v1/accounts/:address',
      {
        schema: {
          summary: 'Roles and balances of an account',
          tags: ['accounts'],
          params: Type.Object({ address: Type.String() }),
        },
      },
      async (req) => {
        const [acct] =
          await sql`select address, roles, display_name, created_at from accounts where address = ${req.params.address}`;
        if (!acct) throw notFound(`no account ${req.params.address}`);
        const balances = await ledger.balances(req.params.address);
        const validatorStake = await ledger.balance(accountsOf.validatorStake(req.params.address), 'OPEN');
        const [d] = await sql`select delegatee from delegations where delegator = ${req.params.address}`;
        return {
          address: acct.address,
          roles: acct.roles,
          displayName: acct.display_name,
          balances,
          validatorStake,
          delegatedTo: d?.delegatee ?? null,
        };
      },
    );

    app.post(
      '/v1/faucet',
      {
        schema: {
          summary: 'Dev-only: mint OPEN or gOPEN to a registered account (or the treasury)',
          tags: ['accounts'],
          body: Type.Object({
            address: Type.String(),
            asset: Type.Union([Type.Literal('OPEN'), Type.Literal('gOPEN')]),
            amount: Amount,
            requestId: Type.Optional(Type.String({ maxLength: 100 })),
          }),
        },
      },
      async (req, reply) => {
        if (!ctx.cfg.devFaucet) throw new HttpError(404, 'the faucet is disabled in production');
        // Besides participants, the dev faucet can fund the treasury (review rewards, reward pools).
        if (req.body.address !== accountsOf.treasury) {
          if (!isAddress(req.body.address)) throw badRequest('address is not a Commons address');
          const [acct] = await sql`select 1 from accounts where address = ${req.body.address}`;
          if (!acct) throw notFound(`no account ${req.body.address}`);
        }
        const key = `faucet:${req.body.requestId ?? `${req.body.address}:${Date.now()}:${Math.random()}`}`;
        await ledger.mint(req.body.address, req.body.asset as Asset, req.body.amount, key, 'dev faucet');
        return reply.code(201).send({ balances: await ledger.balances(req.body.address) });
      },
    );

    app.post(
      '/v1/validators/stake',
      {
        schema: {
          summary: 'Stake OPEN as a validator (weights review answers; slashable)',
          tags: ['accounts'],
          body: Type.Object({ amount: Amount }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['validator'] }),
      },
      async (req, reply) => {
        const a = req.caller!.address;
        try {
          await ledger.transfer({
            idempotencyKey: `stake:${req.headers['x-commons-signature']}`,
            asset: 'OPEN',
            from: a,
            to: accountsOf.validatorStake(a),
            amount: req.body.amount,
            reason: 'validator stake',
          });
        } catch (err) {
          if (err instanceof InsufficientFundsError) throw paymentRequired(err.message);
          throw err;
        }
        return reply.code(201).send({ validatorStake: await ledger.balance(accountsOf.validatorStake(a), 'OPEN') });
      },
    );

    app.post(
      '/v1/transfers',
      {
        schema: {
          summary: 'Send OPEN or gOPEN to another account or the treasury',
          tags: ['accounts'],
          body: Type.Object({
            to: Type.String(),
            asset: Type.Union([Type.Literal('OPEN'), Type.Literal('gOPEN')]),
            amount: Amount,
            memo: Type.Optional(Type.String({ maxLength: 200 })),
          }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req, reply) => {
        if (!isAddress(req.body.to) && req.body.to !== accountsOf.treasury)
          throw badRequest('to is not a Commons address (or "treasury")');
        if (req.body.to === req.caller!.address) throw badRequest('cannot transfer to yourself');
        try {
          // The request signature is unique (replays are refused), so it is the transfer's idempotency key.
          await ledger.transfer({
            idempotencyKey: `transfer:${req.headers['x-commons-signature']}`,
            asset: req.body.asset as Asset,
            from: req.caller!.address,
            to: req.body.to,
            amount: req.body.amount,
            reason: req.body.memo ? `transfer: ${req.body.memo}` : 'transfer',
          });
        } catch (err) {
          if (err instanceof InsufficientFundsError) throw paymentRequired(err.message);
          throw err;
        }
        return reply.code(201).send({ balances: await ledger.balances(req.caller!.address) });
      },
    );

    app.post(
      '/v1/delegations',
      {
        schema: {
          summary: 'Delegate your gOPEN voting power to another governor (applies to snapshots taken after)',
          tags: ['governance'],
          body: Type.Object({ delegatee: Type.String() }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['governor'] }),
      },
      async (req, reply) => {
        const me = req.caller!.address;
        if (req.body.delegatee === me) throw badRequest('cannot delegate to yourself');
        const [target] = await sql`select roles from accounts where address = ${req.body.delegatee}`;
        if (!target || !(target.roles as string[]).includes('governor'))
          throw badRequest(`${req.body.delegatee} is not a registered governor`);
        await sql`insert into delegations (delegator, delegatee) values (${me}, ${req.body.delegatee}) on conflict (delegator) do update set delegatee = excluded.delegatee, created_at = now()`;
        return reply.code(201).send({ delegator: me, delegatee: req.body.delegatee });
      },
    );

    app.get(
      '/v1/accounts/:address/rewards',
      {
        schema: {
          summary: 'What an account earned, and why',
          tags: ['accounts'],
          params: Type.Object({ address: Type.String() }),
        },
      },
      async (req) => {
        const rows = await sql`
          select amount, asset, reason, proposal_id, from_account, memo, created_at from transfers
          where to_account = ${req.params.address} and from_account not like 'issuer:%' and reason not like 'stake refunded%' and reason <> 'stake returned after deployment'
          order by id desc limit 1000`;
        const total: Record<string, bigint> = {};
        for (const r of rows) total[r.asset] = (total[r.asset] ?? 0n) + BigInt(r.amount);
        return {
          address: req.params.address,
          totals: Object.fromEntries(Object.entries(total).map(([k, v]) => [k, v.toString()])),
          rewards: rows.map((r) => ({
            amount: String(r.amount),
            asset: r.asset,
            reason: r.reason,
            proposalId: r.proposal_id,
            from: r.from_account,
            details: r.memo,
            at: r.created_at,
          })),
        };
      },
    );
  };
