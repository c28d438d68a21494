import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { InsufficientFundsError } from '../../db/ledger.js';
import { accountsOf } from '../../contracts/accounts.js';
import { DatanetSpecSchema, validateSpec } from '../../domain/data/datanet-spec.js';
import { signed } from '../auth.js';
import { badRequest, conflict, notFound, paymentRequired } from '../errors.js';
import { runUpdate } from '../temporal-errors.js';
import { withDefaults, type DeepPartial } from '../../domain/lifecycle/params.js';
import { validateParams } from '../../domain/lifecycle/validate-params.js';
import { statusQuery, voteUpdate, withdrawUpdate, tallyQuery, closeWindowSignal } from '../../contracts/messages.js';
import { STAGES, type LifecycleInput, type LifecycleParams } from '../../domain/lifecycle/types.js';
import { TASK_QUEUES } from '../../contracts/task-queues.js';
import { liveProgress } from '../progress.js';
import type { ApiContext } from '../context.js';
import { lifecycleWorkflow } from '../../workflows/index.js';
import { workflowIds } from '../../contracts/workflow-ids.js';

const MIN_PROPOSAL_STAKE = BigInt(process.env.COMMONS_MIN_PROPOSAL_STAKE ?? '100');

const ProposalBody = Type.Object({
  id: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{2,62}$',
      description: 'client-chosen id (idempotent retries); generated if absent',
    }),
  ),
  modelName: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{2,62}$' }),
  title: Type.String({ minLength: 3, maxLength: 200 }),
  description: Type.String({
    minLength: 10,
    maxLength: 10_000,
    description: 'what the model should do and how it works',
  }),
  rationale: Type.String({ maxLength: 10_000, description: 'why it matters' }),
  domain: Type.String({ minLength: 2, maxLength: 100 }),
  labels: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 2, maxItems: 100, uniqueItems: true }),
  datanetSpec: DatanetSpecSchema,
  params: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: 'overrides of the lifecycle parameters (see README)' }),
  ),
});

export const proposalRoutes =
  (ctx: ApiContext): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { sql, ledger, temporal } = ctx;

    app.post(
      '/v1/proposals',
      {
        schema: {
          summary: 'Propose a model and stake on it; starts lifecycle-<id>',
          tags: ['proposals'],
          body: ProposalBody,
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['developer'] }),
      },
      async (req, reply) => {
        const b = req.body;
        const specErrors = validateSpec(b.datanetSpec);
        if (specErrors.length) throw badRequest('invalid datanetSpec', specErrors);
        const params: LifecycleParams = withDefaults((b.params ?? {}) as DeepPartial<LifecycleParams>);
        const paramErrors = validateParams(params);
        if (paramErrors.length) throw badRequest('invalid params', paramErrors);
        if (BigInt(params.stake) < MIN_PROPOSAL_STAKE)
          throw badRequest(`stake must be at least ${MIN_PROPOSAL_STAKE} OPEN (minProposalStake)`);
        const labelField = b.datanetSpec.labelField
          ? b.datanetSpec.fields.find((f) => f.name === b.datanetSpec.labelField)
          : undefined;
        if (
          labelField?.type === 'enum' &&
          JSON.stringify([...(labelField.values ?? [])].sort()) !== JSON.stringify([...b.labels].sort())
        ) {
          throw badRequest(
            `the label field's values (${labelField.values?.join(', ')}) must be the proposal's labels (${b.labels.join(', ')})`,
          );
        }
        const id = b.id ?? `p-${randomBytes(6).toString('hex')}`;
        const [existing] = await sql`select proposer from proposals where id = ${id}`;
        if (existing) throw conflict(`proposal ${id} already exists`);
        const [taken] =
          await sql`select 1 from proposals where model_name = ${b.modelName} and status in ('running', 'serving') and proposer <> ${req.caller!.address}`;
        if (taken) throw conflict(`model name ${b.modelName} belongs to another developer's lifecycle`);

        const input: LifecycleInput = {
          proposalId: id,
          proposer: req.caller!.address,
          modelName: b.modelName,
          title: b.title,
          description: b.description,
          domain: b.domain,
          labels: b.labels,
          datanetSpec: b.datanetSpec,
          params,
        };
        // Escrow first, with the same key the workflow's escrow activity uses: no balance, no workflow.
        try {
          await ledger.transfer({
            idempotencyKey: `proposal:${id}:escrow`,
            asset: 'OPEN',
            from: input.proposer,
            to: accountsOf.escrow(id),
            amount: params.stake,
            reason: 'proposal stake',
            proposalId: id,
          });
        } catch (err) {
          if (err instanceof InsufficientFundsError)
            throw paymentRequired(`insufficient OPEN balance to stake ${params.stake}: ${err.message}`);
          throw err;
        }
        await sql`
          insert into proposals (id, proposer, model_name, title, description, rationale, domain, labels, datanet_spec, params, stake, workflow_id)
          values (${id}, ${input.proposer}, ${b.modelName}, ${b.title}, ${b.description}, ${b.rationale}, ${b.domain}, ${sql.json(b.labels)}, ${sql.json(b.datanetSpec as never)}, ${sql.json(params as never)}, ${params.stake}, ${workflowIds.lifecycle(id)})`;
        try {
          await temporal.workflow.start(lifecycleWorkflow, {
            workflowId: workflowIds.lifecycle(id),
            taskQueue: TASK_QUEUES.lifecycle,
            args: [input],
            memo: { summary: `${b.modelName}: ${b.title}` },
            staticSummary: `${b.modelName} — ${b.title}`,
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
            // Nothing half-written: give the stake back and forget the proposal.
            await ledger.transfer({
              idempotencyKey: `proposal:${id}:escrow-close`,
              asset: 'OPEN',
              from: accountsOf.escrow(id),
              to: input.proposer,
              amount: params.stake,
              reason: 'stake refunded: lifecycle could not start',
              proposalId: id,
            });
            await sql`delete from proposals where id = ${id}`;
            throw err;
          }
        }
        return reply
          .code(201)
          .send({ proposalId: id, workflowId: workflowIds.lifecycle(id), stage: 'proposed', stake: params.stake });
      },
    );

    app.get(
      '/v1/proposals',
      {
        schema: {
          summary: 'List proposals (optionally by stage or status)',
          tags: ['proposals'],
          querystring: Type.Object({
            stage: Type.Optional(Type.Union(STAGES.map((s) => Type.Literal(s)))),
            status: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
        },
      },
      async (req) => {
        const q = req.query;
        const rows = await sql`
          select id, proposer, model_name, title, domain, stage, status, status_reason, stake, created_at, updated_at from proposals
          where (${q.stage ?? null}::text is null or stage = ${q.stage ?? null}) and (${q.status ?? null}::text is null or status = ${q.status ?? null})
          order by created_at desc limit ${q.limit ?? 100}`;
        return {
          proposals: rows.map((r) => ({
            id: r.id,
            proposer: r.proposer,
            modelName: r.model_name,
            title: r.title,
            domain: r.domain,
            stage: r.stage,
            status: r.status,
            reason: r.status_reason,
            stake: String(r.stake),
            createdAt: r.created_at,
            updatedAt: r.updated_at,
          })),
        };
      },
    );

    app.get(
      '/v1/proposals/:id',
      {
        schema: {
          summary: 'Stage, status and live progress of a lifecycle (workflow query + heartbeats)',
          tags: ['proposals'],
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (req) => {
        const [row] = await sql`select * from proposals where id = ${req.params.id}`;
        if (!row) throw notFound(`no proposal ${req.params.id}`);
        const handle = temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id));
        let status;
        try {
          status = await handle.query(statusQuery);
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError))
            req.log.warn({ err }, 'status query failed; answering from Postgres');
        }
        const progress = status ? await liveProgress(temporal, req.params.id, status) : undefined;
        return {
          proposalId: row.id,
          modelName: row.model_name,
          title: row.title,
          proposer: row.proposer,
          stage: status?.stage ?? row.stage,
          status: status?.status ?? row.status,
          reason: status?.reason ?? row.status_reason,
          lifecycle: status,
          progress,
        };
      },
    );

    app.get(
      '/v1/proposals/:id/tally',
      {
        schema: {
          summary: 'Governance tally (live from the workflow, final from Postgres)',
          tags: ['governance'],
          params: Type.Object({ id: Type.String() }),
        },
      },
      async (req) => {
        const [final] = await sql`select * from tallies where proposal_id = ${req.params.id}`;
        const votes =
          await sql`select voter, option, power, created_at from votes where proposal_id = ${req.params.id} order by created_at`;
        let live;
        try {
          live = await temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id)).query(tallyQuery);
        } catch {
          live = undefined;
        }
        if (!final && !live) throw notFound(`no governance for proposal ${req.params.id}`);
        return {
          open: live?.open ?? false,
          tally:
            live?.tally ??
            (final
              ? {
                  yes: String(final.yes),
                  no: String(final.no),
                  abstain: String(final.abstain),
                  veto: String(final.veto),
                  total: String(final.total_power),
                }
              : undefined),
          outcome: final?.outcome ?? live?.outcome ?? null,
          closedEarly: final?.closed_early ?? null,
          votes: votes.map((v) => ({ voter: v.voter, option: v.option, power: String(v.power), at: v.created_at })),
        };
      },
    );

    app.post(
      '/v1/proposals/:id/votes',
      {
        schema: {
          summary: 'Cast a governance vote (a workflow Update: answers with the verdict)',
          tags: ['governance'],
          params: Type.Object({ id: Type.String() }),
          body: Type.Object({
            option: Type.Union([
              Type.Literal('yes'),
              Type.Literal('no'),
              Type.Literal('abstain'),
              Type.Literal('veto'),
            ]),
          }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['governor'] }),
      },
      async (req) => {
        const [row] = await sql`select 1 from proposals where id = ${req.params.id}`;
        if (!row) throw notFound(`no proposal ${req.params.id}`);
        const handle = temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id));
        const result = await runUpdate('vote', () =>
          handle.executeUpdate(voteUpdate, { args: [{ voter: req.caller!.address, option: req.body.option }] }),
        );
        return { accepted: true, tally: result.tally };
      },
    );

    app.post(
      '/v1/proposals/:id/withdraw',
      {
        schema: {
          summary: 'Withdraw your proposal before governance closes (stake refunded)',
          tags: ['proposals'],
          params: Type.Object({ id: Type.String() }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const [row] = await sql`select proposer from proposals where id = ${req.params.id}`;
        if (!row) throw notFound(`no proposal ${req.params.id}`);
        const handle = temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id));
        await runUpdate('withdraw', () =>
          handle.executeUpdate(withdrawUpdate, { args: [{ requester: req.caller!.address }] }),
        );
        return { withdrawn: true };
      },
    );

    app.post(
      '/v1/datanets/:id/close',
      {
        schema: {
          summary: 'Close the Datanet window early (proposer or admin)',
          tags: ['data'],
          params: Type.Object({ id: Type.String() }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req, reply) => {
        const [d] =
          await sql`select d.status, p.proposer from datanets d join proposals p on p.id = d.proposal_id where d.id = ${req.params.id}`;
        if (!d) throw notFound(`no datanet ${req.params.id}`);
        if (d.proposer !== req.caller!.address && !req.caller!.roles.includes('admin'))
          throw badRequest('only the proposer or an admin may close the window');
        if (d.status !== 'open') throw conflict(`datanet ${req.params.id} is ${d.status}`);
        await temporal.workflow.getHandle(workflowIds.collection(req.params.id)).signal(closeWindowSignal);
        return reply.code(202).send({ closing: true });
      },
    );
  };
