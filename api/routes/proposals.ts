import { randomBytes } from 'node:crypto';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { postTransfers } from '../../db/ledger.js';
import { findStatusRow } from '../../db/queries/status-reads.js';
import { accountsOf } from '../../contracts/accounts.js';
import { validateSpec, validateSpecForTask } from '../../domain/data/datanet-spec.js';
import { callerOf, signed } from '../auth.js';
import { badRequest, conflict, notFound, paymentRequired } from '../errors.js';
import { runUpdate } from '../temporal-errors.js';
import { resolveProposalTerms } from '../../domain/protocol/proposal-terms.js';
import { privateLifecycleErrors } from '../../domain/data/private-lifecycle.js';
import { voteUpdate, withdrawUpdate, closeWindowSignal } from '../../contracts/messages.js';
import type { LifecycleInput } from '../../domain/lifecycle/types.js';
import { TASK_QUEUES } from '../../contracts/task-queues.js';
import { liveStatus, liveTallyRead, projectedStatus, projectedTally, whileVotingOpens } from '../lifecycle-status.js';
import type { ApiContext } from '../context.js';
import { lifecycleWorkflow } from '../../workflows/index.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import {
  deleteProposal,
  findProposer,
  insertProposal,
  listProposals,
  proposalExists,
} from '../../db/queries/proposals.js';
import { findDatanetStatusAndProposer } from '../../db/queries/datanets.js';
import { claimModelName } from '../../db/queries/models.js';
import { IdParams, responses } from '../schemas/common.js';
import {
  ListProposalsQuery,
  ListProposalsResponse,
  ProposalBody,
  ProposalResponse,
  ProposeResponse,
  StatusReadQuery,
  TallyResponse,
  wantsLive,
  VoteBody,
  VoteResponse,
  WithdrawResponse,
} from '../schemas/proposals.js';
import { ClosingResponse } from '../schemas/datanets.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';

export const proposalRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, ledger, temporal } = ctx;

    app.post(
      '/v1/proposals',
      {
        schema: {
          summary: 'Propose a model and stake on it; starts lifecycle-<id>',
          tags: ['proposals'],
          body: ProposalBody,
          response: responses({ 201: ProposeResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['developer'] }),
      },
      async (req, reply) => {
        const b = req.body;
        const specErrors = validateSpec(b.datanetSpec);
        if (specErrors.length) throw badRequest('invalid datanetSpec', specErrors);
        const task = b.task ?? 'classification';
        const taskErrors = validateSpecForTask(b.datanetSpec, task, b.labels);
        if (taskErrors.length) throw badRequest(`the datanetSpec does not fit a ${task} proposal`, taskErrors);
        // The protocol's settings decide the rules of the vote and every treasury-paid amount; the
        // proposal asks only for values inside their bounds, and for a budget (GET /v1/protocol).
        const terms = resolveProposalTerms(b.params ?? {}, b.budget, ctx.cfg.protocol);
        if (terms.errors.length) throw badRequest(`invalid proposal: ${terms.errors.join('; ')}`, terms.errors);
        const privateErrors = privateLifecycleErrors(b.datanetSpec, terms.params);
        if (privateErrors.length) throw badRequest(`invalid proposal: ${privateErrors.join('; ')}`, privateErrors);
        const { params, budget } = terms;
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
        const proposer = callerOf(req).address;
        const id = b.id ?? `p-${randomBytes(6).toString('hex')}`;
        if ((await findProposer(sql, id)) !== undefined) throw conflict(`proposal ${id} already exists`);

        const input: LifecycleInput = {
          proposalId: id,
          proposer,
          modelName: b.modelName,
          title: b.title,
          description: b.description,
          domain: b.domain,
          labels: b.labels,
          datanetSpec: b.datanetSpec,
          params,
          budget,
          protocol: ctx.cfg.protocol,
          task,
        };
        // The model name's claim, the proposal row and its stake's escrow commit together (the escrow
        // uses the key the workflow's own escrow activity uses): a name another developer holds, not
        // enough balance, or any failure, leaves none of them.
        try {
          await sql.begin(async (tx) => {
            const owner = await claimModelName(tx, { name: b.modelName, developer: proposer, proposalId: id });
            if (owner !== undefined)
              throw conflict(`model name ${b.modelName} belongs to another developer (${owner})`);
            await insertProposal(tx, {
              id,
              proposer,
              modelName: b.modelName,
              title: b.title,
              description: b.description,
              rationale: b.rationale,
              domain: b.domain,
              labels: b.labels,
              datanetSpec: b.datanetSpec,
              params,
              stake: params.stake,
              budget,
              workflowId: workflowIds.lifecycle(id),
            });
            const escrowed = await postTransfers(tx, [
              {
                idempotencyKey: `proposal:${id}:escrow`,
                asset: 'OPEN',
                from: input.proposer,
                to: accountsOf.escrow(id),
                amount: params.stake,
                reason: 'proposal stake',
                proposalId: id,
              },
            ]);
            // An id whose escrow key was used (a proposal that could not start and was refunded) stays used.
            if (escrowed === 0) throw conflict(`proposal id ${id} was used before; choose another id`);
          });
        } catch (err) {
          const e = err as { constraint_name?: string; code?: string };
          if (e.constraint_name === 'balances_non_negative')
            throw paymentRequired(`insufficient OPEN balance to stake ${params.stake}`);
          if (e.code === '23505') throw conflict(`proposal ${id} already exists`);
          throw err;
        }
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
            await deleteProposal(sql, id);
            throw err;
          }
        }
        return reply.code(201).send({
          proposalId: id,
          workflowId: workflowIds.lifecycle(id),
          stage: 'proposed' as const,
          stake: params.stake,
          budget,
        });
      },
    );

    app.get(
      '/v1/proposals',
      {
        schema: {
          summary: 'List proposals (optionally by stage or status)',
          tags: ['proposals'],
          querystring: ListProposalsQuery,
          response: responses({ 200: ListProposalsResponse }),
        },
      },
      async (req) => {
        const q = req.query;
        const limit = q.limit ?? DEFAULT_PAGE_SIZE;
        const after = decodeCursor<[string, string]>(q.cursor, ['string', 'string']);
        const rows = await listProposals(sql, { stage: q.stage, status: q.status, limit: limit + 1, after });
        const { items, nextCursor } = pageOf(rows, limit, (r) => r.key);
        return {
          nextCursor,
          proposals: items.map((r) => ({
            id: r.id,
            proposer: r.proposer,
            modelName: r.modelName,
            title: r.title,
            domain: r.domain,
            stage: r.stage,
            status: r.status,
            reason: r.statusReason,
            stake: r.stake,
            createdAt: r.createdAt.toISOString(),
            updatedAt: r.updatedAt.toISOString(),
          })),
        };
      },
    );

    app.get(
      '/v1/proposals/:id',
      {
        schema: {
          summary: 'Stage, status and progress of a lifecycle (Postgres read model; ?live=1 queries the workflow)',
          tags: ['proposals'],
          params: IdParams,
          querystring: StatusReadQuery,
          response: responses({ 200: ProposalResponse }),
        },
      },
      async (req) => {
        // One query: the proposal, its budget and the read model's parts for its stage (docs/operations.md, "Status reads").
        const s = await findStatusRow(sql, req.params.id);
        if (!s) throw notFound(`no proposal ${req.params.id}`);
        const row = s.proposal;
        const read = wantsLive(req.query)
          ? await liveStatus(temporal, sql, s, ctx.cfg.api.liveReadTimeoutMs)
          : await projectedStatus(sql, s);
        const budget = s.budget;
        return {
          proposalId: row.id,
          modelName: row.modelName,
          title: row.title,
          proposer: row.proposer,
          // Everything the proposal asks for, so governors see it before they vote.
          description: row.description,
          rationale: row.rationale,
          domain: row.domain,
          labels: row.labels,
          stake: row.stake,
          budget: { ...budget, asked: budget.asked ?? '0' },
          params: row.params as Record<string, unknown>,
          ...read,
        };
      },
    );

    app.get(
      '/v1/proposals/:id/tally',
      {
        schema: {
          summary: 'Governance tally and votes (Postgres read model; ?live=1 queries the workflow)',
          tags: ['governance'],
          params: IdParams,
          querystring: StatusReadQuery,
          response: responses({ 200: TallyResponse }),
        },
      },
      async (req) => {
        const t = wantsLive(req.query)
          ? await liveTallyRead(temporal, sql, req.params.id, ctx.cfg.api.liveReadTimeoutMs)
          : await projectedTally(sql, req.params.id);
        if (!t) throw notFound(`no governance for proposal ${req.params.id}`);
        return {
          ...t,
          votes: t.votes.map((v) => ({
            voter: v.voter,
            option: v.option,
            power: v.power,
            at: v.createdAt.toISOString(),
          })),
        };
      },
    );

    app.post(
      '/v1/proposals/:id/votes',
      {
        schema: {
          summary: 'Cast a governance vote (a workflow Update: answers with the verdict)',
          tags: ['governance'],
          params: IdParams,
          body: VoteBody,
          response: responses({ 200: VoteResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['governor'] }),
      },
      async (req) => {
        const voter = callerOf(req).address;
        if (!(await proposalExists(sql, req.params.id))) throw notFound(`no proposal ${req.params.id}`);
        const handle = temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id));
        const result = await whileVotingOpens(sql, req.params.id, () =>
          runUpdate('vote', () => handle.executeUpdate(voteUpdate, { args: [{ voter, option: req.body.option }] })),
        );
        return { accepted: true as const, tally: result.tally };
      },
    );

    app.post(
      '/v1/proposals/:id/withdraw',
      {
        schema: {
          summary: 'Withdraw your proposal before governance closes (stake refunded)',
          tags: ['proposals'],
          params: IdParams,
          response: responses({ 200: WithdrawResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const requester = callerOf(req).address;
        if ((await findProposer(sql, req.params.id)) === undefined) throw notFound(`no proposal ${req.params.id}`);
        const handle = temporal.workflow.getHandle(workflowIds.lifecycle(req.params.id));
        await runUpdate('withdraw', () => handle.executeUpdate(withdrawUpdate, { args: [{ requester }] }));
        return { withdrawn: true as const };
      },
    );

    app.post(
      '/v1/datanets/:id/close',
      {
        schema: {
          summary: 'Close the Datanet window early (proposer or admin)',
          tags: ['data'],
          params: IdParams,
          response: responses({ 202: ClosingResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req, reply) => {
        const caller = callerOf(req);
        const d = await findDatanetStatusAndProposer(sql, req.params.id);
        if (!d) throw notFound(`no datanet ${req.params.id}`);
        if (d.proposer !== caller.address && !caller.roles.includes('admin'))
          throw badRequest('only the proposer or an admin may close the window');
        if (d.status !== 'open') throw conflict(`datanet ${req.params.id} is ${d.status}`);
        await temporal.workflow.getHandle(workflowIds.collection(req.params.id)).signal(closeWindowSignal);
        return reply.code(202).send({ closing: true as const });
      },
    );
    done();
  };
