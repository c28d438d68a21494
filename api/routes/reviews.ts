import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { signed } from '../auth.js';
import { conflict, notFound } from '../errors.js';
import { runUpdate } from '../temporal-errors.js';
import { reviewAnswerUpdate } from '../../contracts/messages.js';
import type { ApiContext } from '../context.js';

export const reviewRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { sql, temporal } = ctx;

    app.get(
      '/v1/reviews',
      {
        schema: {
          summary: 'Open review tasks (those a reviewer has not answered yet, with ?reviewer=)',
          tags: ['reviews'],
          querystring: Type.Object({
            reviewer: Type.Optional(Type.String()),
            proposalId: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
        },
      },
      async (req) => {
        const q = req.query;
        const rows = await sql`
          select t.id, t.proposal_id, t.round, t.prompt, t.candidates, t.required_answers, t.created_at,
                 (select count(*)::int from review_answers a where a.task_id = t.id) as answers
          from review_tasks t
          where t.status = 'open'
            and (${q.proposalId ?? null}::text is null or t.proposal_id = ${q.proposalId ?? null})
            and (${q.reviewer ?? null}::text is null or not exists (select 1 from review_answers a where a.task_id = t.id and a.reviewer = ${q.reviewer ?? null}))
          order by t.created_at, t.id limit ${q.limit ?? 100}`;
        return {
          tasks: rows.map((r) => ({
            id: r.id,
            proposalId: r.proposal_id,
            round: r.round,
            prompt: r.prompt,
            candidates: r.candidates,
            requiredAnswers: r.required_answers,
            answers: r.answers,
            createdAt: r.created_at,
          })),
        };
      },
    );

    app.post(
      '/v1/reviews/:id',
      {
        schema: {
          summary: 'Answer a review task: pick the best candidate (an Update into the round workflow)',
          tags: ['reviews'],
          params: Type.Object({ id: Type.String() }),
          body: Type.Object({ choice: Type.String({ minLength: 1 }) }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['reviewer', 'validator'] }),
      },
      async (req) => {
        const [t] = await sql`select workflow_id, status from review_tasks where id = ${req.params.id}`;
        if (!t) throw notFound(`no review task ${req.params.id}`);
        if (t.status !== 'open') throw conflict(`review task ${req.params.id} is ${t.status}`);
        const handle = temporal.workflow.getHandle(t.workflow_id);
        const r = await runUpdate('review answer', () =>
          handle.executeUpdate(reviewAnswerUpdate, {
            args: [{ taskId: req.params.id, reviewer: req.caller!.address, choice: req.body.choice }],
          }),
        );
        return { accepted: true, answers: r.answers };
      },
    );
  };
