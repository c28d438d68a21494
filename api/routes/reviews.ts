import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { callerOf, signed } from '../auth.js';
import { conflict, notFound } from '../errors.js';
import { runUpdate } from '../temporal-errors.js';
import { reviewAnswerUpdate } from '../../contracts/messages.js';
import { findReviewTask, listOpenReviewTasks } from '../../db/queries/reviews.js';
import type { ApiContext } from '../context.js';
import { IdParams, responses } from '../schemas/common.js';
import { ReviewAnswerBody, ReviewAnswerResponse, ReviewsQuery, ReviewsResponse } from '../schemas/reviews.js';

export const reviewRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, temporal } = ctx;

    app.get(
      '/v1/reviews',
      {
        schema: {
          summary: 'Open review tasks (those a reviewer has not answered yet, with ?reviewer=)',
          tags: ['reviews'],
          querystring: ReviewsQuery,
          response: responses({ 200: ReviewsResponse }),
        },
      },
      async (req) => {
        const q = req.query;
        const tasks = await listOpenReviewTasks(sql, {
          reviewer: q.reviewer,
          proposalId: q.proposalId,
          limit: q.limit ?? 100,
        });
        return { tasks: tasks.map((t) => ({ ...t, createdAt: t.createdAt.toISOString() })) };
      },
    );

    app.post(
      '/v1/reviews/:id',
      {
        schema: {
          summary: 'Answer a review task: pick the best candidate (an Update into the round workflow)',
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
