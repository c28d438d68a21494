import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { callerOf, signatureOf, signed } from '../auth.js';
import { conflict, forbidden, notFound, paymentRequired } from '../errors.js';
import { runUpdate } from '../temporal-errors.js';
import { reviewAnswerUpdate } from '../../contracts/messages.js';
import { accountsOf } from '../../contracts/accounts.js';
import { InsufficientFundsError } from '../../db/ledger.js';
import { proposalExists } from '../../db/queries/proposals.js';
import {
  enlistReviewer,
  findReviewTask,
  goldTotals,
  isAssignedReviewer,
  listOpenReviewTasks,
  reviewerRounds,
  roundSummaries,
} from '../../db/queries/reviews.js';
import { DEFAULT_REVIEW_RULES, goldGate } from '../../domain/rlhf/stake-consensus.js';
import type { ApiContext } from '../context.js';
import { IdParams, responses } from '../schemas/common.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import {
  AddressParams,
  ReviewAnswerBody,
  ReviewAnswerResponse,
  ReviewBondBody,
  ReviewBondResponse,
  ReviewEnlistBody,
  ReviewEnlistResponse,
  ReviewerQuery,
  ReviewerResponse,
  ReviewRoundsQuery,
  ReviewRoundsResponse,
  ReviewsQuery,
  ReviewsResponse,
  RoundSeedQuery,
  RoundSeedResponse,
} from '../schemas/reviews.js';
import { findRoundSeed } from '../../db/queries/round-seeds.js';
import { verifyRoundSeed } from '../../domain/rlhf/round-seed.js';

export const reviewRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, temporal, ledger } = ctx;
    const minBond = BigInt(ctx.cfg.protocol.staking.minReviewBond);
    const bondOf = async (address: string) => BigInt(await ledger.balance(accountsOf.validatorStake(address), 'OPEN'));

    app.get(
      '/v1/reviews',
      {
        schema: {
          summary: 'Open review tasks assigned to ?reviewer= that it has not answered yet',
          tags: ['reviews'],
          querystring: ReviewsQuery,
          response: responses({ 200: ReviewsResponse }),
        },
      },
      async (req) => {
        const q = req.query;
        const limit = q.limit ?? DEFAULT_PAGE_SIZE;
        const rows = await listOpenReviewTasks(sql, {
          reviewer: q.reviewer,
          proposalId: q.proposalId,
          limit: limit + 1,
          after: decodeCursor<[string, string]>(q.cursor, ['string', 'string']),
        });
        const { items, nextCursor } = pageOf(rows, limit, (t) => t.key);
        return {
          tasks: items.map(({ key: _key, ...t }) => ({ ...t, createdAt: t.createdAt.toISOString() })),
          nextCursor,
        };
      },
    );

    app.post(
      '/v1/reviews/bond',
      {
        schema: {
          summary: 'Bond OPEN for review (weights answers by stake; slashable; the protocol sets a minimum)',
          tags: ['reviews'],
          body: ReviewBondBody,
          response: responses({ 201: ReviewBondResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['reviewer', 'validator'] }),
      },
      async (req, reply) => {
        const a = callerOf(req).address;
        try {
          // The bond is the validator stake account: one slashable bond per participant for review weight.
          await ledger.transfer({
            idempotencyKey: `review-bond:${signatureOf(req)}`,
            asset: 'OPEN',
            from: a,
            to: accountsOf.validatorStake(a),
            amount: req.body.amount,
            reason: 'review bond',
          });
        } catch (err) {
          if (err instanceof InsufficientFundsError) throw paymentRequired(err.message);
          throw err;
        }
        return reply.code(201).send({ bond: (await bondOf(a)).toString(), minBond: minBond.toString() });
      },
    );

    const requireBond = async (address: string) => {
      const bond = await bondOf(address);
      if (bond < minBond)
        throw forbidden(
          `reviewing needs a review bond of at least ${minBond} OPEN (yours: ${bond}); bond with POST /v1/reviews/bond`,
        );
      return bond;
    };

    app.post(
      '/v1/reviews/enlist',
      {
        schema: {
          summary:
            "Enlist for a proposal's review rounds (needs the minimum review bond); rounds assign tasks among the enlisted",
          tags: ['reviews'],
          body: ReviewEnlistBody,
          response: responses({ 200: ReviewEnlistResponse, 201: ReviewEnlistResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['reviewer', 'validator'] }),
      },
      async (req, reply) => {
        const a = callerOf(req).address;
        if (!(await proposalExists(sql, req.body.proposalId))) throw notFound(`no proposal ${req.body.proposalId}`);
        const bond = await requireBond(a);
        const created = await enlistReviewer(sql, req.body.proposalId, a);
        return reply
          .code(created ? 201 : 200)
          .send({ proposalId: req.body.proposalId, enlisted: true as const, bond: bond.toString() });
      },
    );

    app.get(
      '/v1/reviews/reviewers/:address',
      {
        schema: {
          summary: "A reviewer's bond, running gold accuracy, pause state and settled rounds (agreement, rewards)",
          tags: ['reviews'],
          params: AddressParams,
          querystring: ReviewerQuery,
          response: responses({ 200: ReviewerResponse }),
        },
      },
      async (req) => {
        const address = req.params.address;
        const bond = await bondOf(address);
        const g = (await goldTotals(sql, [address])).get(address) ?? { correct: 0, answered: 0 };
        const gate = goldGate(g.correct, g.answered);
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const after = decodeCursor<[string, string, number]>(req.query.cursor, ['string', 'string', 'number']);
        const { items: rounds, nextCursor } = pageOf(
          await reviewerRounds(sql, address, { limit: limit + 1, after }),
          limit,
          (r) => r.key,
        );
        return {
          address,
          bond: bond.toString(),
          minBond: minBond.toString(),
          bonded: bond >= minBond,
          goldCorrect: g.correct,
          goldAnswered: g.answered,
          goldAccuracy: gate.accuracy,
          goldThreshold: DEFAULT_REVIEW_RULES.goldThreshold,
          paused: gate.paused,
          rounds: rounds.map(({ key: _key, ...r }) => ({ ...r, settledAt: r.settledAt.toISOString() })),
          nextCursor,
        };
      },
    );

    app.get(
      '/v1/reviews/rounds',
      {
        schema: {
          summary:
            "Review rounds of a proposal with their settlement summaries (Krippendorff's alpha, gold, extension)",
          tags: ['reviews'],
          querystring: ReviewRoundsQuery,
          response: responses({ 200: ReviewRoundsResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
        const [after] = decodeCursor<[number]>(req.query.cursor, ['number']) ?? [];
        const rows = await roundSummaries(sql, req.query.proposalId, { limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.round]);
        return { rounds: items, nextCursor };
      },
    );

    app.get(
      '/v1/reviews/rounds/seed',
      {
        schema: {
          summary:
            "A review round's committed draw seed: the commitment from its opening, the pool from enlistment's close, the secret and seed once settled",
          tags: ['reviews'],
          querystring: RoundSeedQuery,
          response: responses({ 200: RoundSeedResponse }),
        },
      },
      async (req): Promise<RoundSeedResponse> => {
        const { proposalId, round } = req.query;
        const row = await findRoundSeed(sql, proposalId, round);
        if (!row) throw notFound(`round ${round} of proposal ${proposalId} has no committed seed`);
        // Secret and seed stay hidden until settlement: the seed orders gold selection.
        const open = row.revealedAt !== null;
        return {
          proposalId,
          round,
          commitment: row.commitment,
          committedAt: row.committedAt.toISOString(),
          pool: row.pool,
          revealedAt: row.revealedAt?.toISOString() ?? null,
          secret: open ? row.secret : null,
          seed: open ? row.seed : null,
          verified:
            open && row.pool && row.seed
              ? verifyRoundSeed({
                  proposalId,
                  round,
                  secret: row.secret,
                  commitment: row.commitment,
                  pool: row.pool,
                  seed: row.seed,
                })
              : null,
        };
      },
    );

    app.post(
      '/v1/reviews/:id',
      {
        schema: {
          summary:
            'Answer an assigned review task: pick the best candidate (an Update into the round workflow; sealed until settlement)',
          tags: ['reviews'],
          params: IdParams,
          body: ReviewAnswerBody,
          response: responses({ 200: ReviewAnswerResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['reviewer', 'validator'] }),
      },
      async (req) => {
        const reviewer = callerOf(req).address;
        const t = await findReviewTask(sql, req.params.id);
        if (!t) throw notFound(`no review task ${req.params.id}`);
        if (t.status !== 'open') throw conflict(`review task ${req.params.id} is ${t.status}`);
        await requireBond(reviewer);
        if (!(await isAssignedReviewer(sql, req.params.id, reviewer)))
          throw forbidden(
            `review task ${req.params.id} is not assigned to you: reviewers answer only their assigned tasks`,
          );
        const handle = temporal.workflow.getHandle(t.workflowId);
        const r = await runUpdate('review answer', () =>
          handle.executeUpdate(reviewAnswerUpdate, {
            args: [{ taskId: req.params.id, reviewer, choice: req.body.choice }],
          }),
        );
        return { accepted: true as const, answers: r.answers };
      },
    );
    done();
  };
