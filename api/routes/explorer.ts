import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context.js';
import { accessOf, depositPerRecord, isGated } from '../../domain/data/datanet-access.js';
import { visibilityOf } from '../../domain/data/datanet-spec.js';
import { listDatanets, modelUsage, type DatanetListRow, type ModelUsage } from '../../db/queries/explorer.js';
import { listServedModels } from '../../db/queries/models.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import { SharedReads, countComputation } from '../shared-reads.js';
import { responses } from '../schemas/common.js';
import { DatanetListQuery, DatanetListResponse, ModelUsageQuery, ModelUsageResponse } from '../schemas/explorer.js';

/** Models a page of the explorer names its top contributors for. */
const TOP_CONTRIBUTORS = 5;

/**
 * Public, read-only lists for the console's explorer (and anyone else): Datanets with their counts,
 * and the served models with their calls, fees and most attributed contributors. No signature: they
 * show what the single-item reads already show (a gated Datanet's records appear as counts only).
 */
export const explorerRoutes =
  (ctx: ApiContext): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql } = ctx;
    // Both lists aggregate whole tables (records, calls): an unsigned flood costs one query per page and second.
    const datanetPages = new SharedReads<DatanetListRow[]>({
      ttlMs: 1000,
      maxEntries: 256,
      onCompute: countComputation('datanet-list'),
    });
    const usage = new SharedReads<Map<string, ModelUsage>>({
      ttlMs: 1000,
      maxEntries: 256,
      onCompute: countComputation('model-usage'),
    });

    app.get(
      '/v1/datanets',
      {
        schema: {
          summary:
            'List Datanets, newest first (optionally by status): requirements, deposit, record counts and acceptance rate',
          tags: ['data'],
          querystring: DatanetListQuery,
          response: responses({ 200: DatanetListResponse }),
        },
      },
      async (req) => {
        const q = req.query;
        const limit = q.limit ?? DEFAULT_PAGE_SIZE;
        const after = decodeCursor<[string, string]>(q.cursor, ['string', 'string']);
        const rows = await datanetPages.get(JSON.stringify([q.status ?? null, limit, after ?? null]), () =>
          listDatanets(sql, { status: q.status, limit: limit + 1, after }),
        );
        const { items, nextCursor } = pageOf(rows, limit, (r) => [r.at, r.id]);
        return {
          nextCursor,
          datanets: items.map((d) => {
            const access = accessOf(d.spec);
            return {
              id: d.id,
              proposalId: d.proposalId,
              status: d.status,
              visibility: visibilityOf(d.spec),
              spec: d.spec,
              targetCount: d.targetCount,
              closesAt: d.closesAt?.toISOString() ?? null,
              deposit: depositPerRecord(access).toString(),
              gated: isGated(access),
              submitted: d.submitted,
              accepted: d.accepted,
              decided: d.decided,
              acceptanceRate: d.decided > 0 ? d.accepted / d.decided : null,
            };
          }),
        };
      },
    );

    app.get(
      '/v1/explorer/models',
      {
        schema: {
          summary:
            'The served models by name, with their paid calls, fees and most attributed contributors (all versions)',
          tags: ['inference'],
          querystring: ModelUsageQuery,
          response: responses({ 200: ModelUsageResponse }),
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 50;
        const [after] = decodeCursor<[string]>(req.query.cursor, ['string']) ?? [];
        const { items, nextCursor } = pageOf(await listServedModels(sql, { limit: limit + 1, after }), limit, (m) => [
          m.name,
        ]);
        const names = items.map((m) => m.name);
        const byName = await usage.get(JSON.stringify(names), () => modelUsage(sql, names, TOP_CONTRIBUTORS));
        return {
          nextCursor,
          models: items.map((m) => {
            const u = byName.get(m.name);
            return {
              name: m.name,
              developer: m.developer,
              productionVersion: m.productionVersion,
              task: m.task,
              calls: u?.calls ?? 0,
              fees: u?.fees ?? '0',
              topContributors: u?.topContributors ?? [],
            };
          }),
        };
      },
    );
    done();
  };
