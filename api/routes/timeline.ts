import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { findStatusRow } from '../../db/queries/status-reads.js';
import { listFinishedTrainingRuns, listTrainingEpochs } from '../../db/queries/training.js';
import { findLatestPaidCall, listTimelineRounds } from '../../db/queries/timeline.js';
import type { EvalMetrics, LifecycleParams } from '../../domain/lifecycle/types.js';
import { withDefaults, type DeepPartial } from '../../domain/lifecycle/params.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { IdParams, responses } from '../schemas/common.js';
import { TimelineResponse } from '../schemas/timeline.js';
import { stageSpans } from '../timeline.js';

const heldOut = (m: unknown): { accuracy: number; macroF1: number; loss: number } | undefined => {
  const e = m as Partial<EvalMetrics> | null | undefined;
  return e && typeof e.accuracy === 'number' && typeof e.macroF1 === 'number' && typeof e.loss === 'number'
    ? { accuracy: e.accuracy, macroF1: e.macroF1, loss: e.loss }
    : undefined;
};

/**
 * A proposal's lifecycle in one public read (the console's lifecycle page): its stages with their
 * durations, the training loss curve and held-out metrics, each review round's agreement and
 * slashes, the budget, the deployment gate against its floors, a sample call's attribution and
 * where the workflow is in the Temporal UI. From the read model only: it never wakes a workflow.
 */
export const timelineRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql } = ctx;
    app.get(
      '/v1/proposals/:id/timeline',
      {
        schema: {
          summary: "A lifecycle's stages with durations, training curves, review rounds, budget, gate and attribution",
          tags: ['proposals'],
          params: IdParams,
          response: responses({ 200: TimelineResponse }),
        },
      },
      async (req) => {
        const id = req.params.id;
        const s = await findStatusRow(sql, id);
        if (!s) throw notFound(`no proposal ${id}`);
        const p = s.proposal;
        const [epochs, runs, rounds, call] = await Promise.all([
          listTrainingEpochs(sql, id),
          listFinishedTrainingRuns(sql, id),
          listTimelineRounds(sql, id),
          findLatestPaidCall(sql, p.modelName, id),
        ]);

        const fineTunes = runs.flatMap((r) => {
          const m = heldOut(r.metrics);
          return m ? [{ label: 'fine-tune', ...m }] : [];
        });
        const afterRounds = rounds.flatMap((r) => {
          const m = heldOut(r.metrics);
          return m ? [{ label: `round ${r.round}`, ...m }] : [];
        });
        const candidates = [...fineTunes, ...afterRounds];
        const view = s.view?.view;
        // As the lifecycle read them: a stored row may leave out what took its default.
        const floors = withDefaults(p.params as DeepPartial<LifecycleParams>).deployment;
        const uiUrl = ctx.cfg.temporal.uiUrl;
        const workflowId = workflowIds.lifecycle(id);

        return {
          proposalId: id,
          modelName: p.modelName,
          title: p.title,
          stage: p.stage,
          status: p.status,
          reason: p.statusReason,
          stages: stageSpans(view?.history ?? [], { status: p.status, endedAt: s.view?.updatedAt, now: new Date() }),
          training: { epochs, heldOut: candidates },
          rounds: rounds.map((r) => {
            const sum = r.summary ?? {};
            const reviewers = Array.isArray(sum.reviewers)
              ? (sum.reviewers as { reviewer: string; penalty: string }[])
              : [];
            return {
              round: r.round,
              status: r.status,
              alpha: typeof sum.alpha === 'number' ? sum.alpha : null,
              answers: typeof sum.answers === 'number' ? sum.answers : null,
              consensus: typeof sum.consensus === 'number' ? sum.consensus : null,
              slashes: reviewers
                .filter((x) => BigInt(x.penalty ?? '0') > 0n)
                .map((x) => ({ reviewer: x.reviewer, penalty: x.penalty })),
              applied: typeof sum.applied === 'boolean' ? sum.applied : null,
            };
          }),
          budget: { ...s.budget, asked: s.budget.asked ?? '0' },
          gate: {
            // The metrics the gate judged: the policy kept by the last round, or the fine-tune's.
            metrics: candidates.at(-1) ? (heldOut(candidates.at(-1)) ?? null) : null,
            floors: {
              minAccuracy: floors.minAccuracy,
              minMacroF1: floors.minMacroF1,
              maxRegression: floors.maxRegression,
            },
            passed: view?.deployment.gate?.passed ?? null,
            reason: view?.deployment.gate?.reason ?? null,
          },
          sampleCall: call
            ? {
                id: call.id,
                version: call.version,
                fee: call.fee,
                at: call.createdAt.toISOString(),
                contributors: Array.isArray(call.attribution)
                  ? (call.attribution as { contributor: string; weight: number }[]).map((c) => ({
                      contributor: c.contributor,
                      weight: c.weight,
                    }))
                  : [],
              }
            : null,
          workflow: {
            id: workflowId,
            uiUrl: uiUrl
              ? `${uiUrl}/namespaces/${encodeURIComponent(ctx.cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`
              : null,
          },
        };
      },
    );
    done();
  };
