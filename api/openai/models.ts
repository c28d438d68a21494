// GET /v1/models (the served models) and GET /v1/models/{id} in OpenAI's shape. The one model read
// of the API: OpenAI's fields (id, object, created, owned_by) with the registry's entry beside them
// (status, production version, each version's lineage), so `openai.models.retrieve` and the typed
// client read the same route.
import type postgres from 'postgres';
import type { OpenAIApp } from './app.js';
import { OpenAIError, openaiResponses } from './errors.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, pageOf } from '../pagination.js';
import { ModelIdParams, ModelListQuery, ModelListResponse, ModelRetrieveResponse } from '../schemas/openai.js';
import { findModel, listModelVersions, listServedModels } from '../../db/queries/models.js';

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function modelRoutes(app: OpenAIApp, sql: postgres.Sql): void {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'OpenAI-compatible list of the served models (those with a production version)',
        tags: ['openai'],
        querystring: ModelListQuery,
        response: openaiResponses({ 200: ModelListResponse }),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
      const [after] = decodeCursor<[string]>(req.query.cursor, ['string']) ?? [];
      const { items, nextCursor } = pageOf(await listServedModels(sql, { limit: limit + 1, after }), limit, (m) => [
        m.name,
      ]);
      return {
        object: 'list' as const,
        data: items.map((m) => ({
          id: m.name,
          object: 'model' as const,
          created: seconds(m.createdAt),
          owned_by: m.developer,
          commons: { productionVersion: m.productionVersion, task: m.task },
        })),
        nextCursor,
      };
    },
  );

  app.get(
    '/v1/models/:name',
    {
      schema: {
        summary: "A model in OpenAI's shape, with its status, versions and lineage",
        tags: ['openai', 'inference'],
        params: ModelIdParams,
        response: openaiResponses({ 200: ModelRetrieveResponse }),
      },
    },
    async (req) => {
      const m = await findModel(sql, req.params.name);
      if (!m) throw new OpenAIError(404, `The model '${req.params.name}' does not exist`, 'model', 'model_not_found');
      const versions = await listModelVersions(sql, req.params.name);
      const first = versions.reduce<Date | undefined>((a, v) => (!a || v.createdAt < a ? v.createdAt : a), undefined);
      return {
        id: m.name,
        object: 'model' as const,
        created: first ? seconds(first) : 0,
        owned_by: m.developer,
        name: m.name,
        developer: m.developer,
        status: m.status,
        productionVersion: m.productionVersion,
        versions: versions.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
      };
    },
  );
}
