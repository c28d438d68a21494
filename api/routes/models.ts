import { randomBytes } from 'node:crypto';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { callerOf, signed, type Caller } from '../auth.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { ModelCache, LoadedVersion } from '../inference/model-cache.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import type { ApiContext } from '../context.js';
import { insertApiKey, revokeApiKey } from '../../db/queries/api-keys.js';
import { apiKeyOf, authenticateApiKey, sha256 } from '../api-key-auth.js';
import { findModel, findModelVersionStatus, listModelVersions } from '../../db/queries/models.js';
import { IdParams, responses } from '../schemas/common.js';
import {
  ApiKeyBody,
  ApiKeyResponse,
  InferBody,
  InferResponse,
  ModelResponse,
  NameParams,
  RollbackBody,
  RetireBody,
  RetireResponse,
  RevokeApiKeyResponse,
  RollbackResponse,
  VersionParams,
} from '../schemas/models.js';
import { retireUpdate, rollbackUpdate } from '../../contracts/messages.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { runUpdate } from '../temporal-errors.js';

export interface ModelRoutesHandle {
  cache: ModelCache;
  paid: PaidCalls;
}

export const modelRoutes =
  (ctx: ApiContext, handle: ModelRoutesHandle): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, temporal } = ctx;
    const { cache, paid } = handle;
    async function infer(req: FastifyRequest, v: LoadedVersion, input: string, topK: number): Promise<InferResponse> {
      const key = apiKeyOf(req);
      const prediction = await v.predictor.predict({ messages: [{ role: 'user', content: input }], topK });
      const { callId, fee } = await paid.charge(req, v, key, prediction.attribution);
      return {
        callId,
        model: v.modelName,
        version: v.version,
        output: prediction.output,
        probabilities: prediction.probabilities ?? {},
        attribution: { contributors: prediction.attribution.contributors, records: prediction.attribution.records },
        fee: fee.toString(),
      };
    }

    app.post(
      '/v1/models/:name/infer',
      {
        schema: {
          summary: 'Paid inference on the production version; answers with the attribution',
          tags: ['inference'],
          params: NameParams,
          body: InferBody,
          response: responses({ 200: InferResponse }),
        },
        onRequest: authenticateApiKey(sql),
      },
      async (req) =>
        infer(req, await paid.admittedVersion(apiKeyOf(req), req.params.name), req.body.input, req.body.topK ?? 5),
    );

    app.post(
      '/v1/models/:name/versions/:version/infer',
      {
        schema: {
          summary: 'Paid inference on a specific version',
          tags: ['inference'],
          params: VersionParams,
          body: InferBody,
          response: responses({ 200: InferResponse }),
        },
        onRequest: authenticateApiKey(sql),
      },
      async (req) =>
        infer(
          req,
          await paid.admittedVersion(apiKeyOf(req), req.params.name, req.params.version),
          req.body.input,
          req.body.topK ?? 5,
        ),
    );

    app.get(
      '/v1/models/:name',
      {
        schema: {
          summary: 'A model, its versions and lineage',
          tags: ['inference'],
          params: NameParams,
          response: responses({ 200: ModelResponse }),
        },
      },
      async (req) => {
        const m = await findModel(sql, req.params.name);
        if (!m) throw notFound(`no model ${req.params.name}`);
        const versions = await listModelVersions(sql, req.params.name);
        return {
          name: m.name,
          developer: m.developer,
          productionVersion: m.productionVersion,
          versions: versions.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
        };
      },
    );

    /** The model, when the caller is its developer or an admin (rollback and retirement). */
    const modelManagedBy = async (caller: Caller, name: string, what: string) => {
      const m = await findModel(sql, name);
      if (!m) throw notFound(`no model ${name}`);
      if (m.developer !== caller.address && !caller.roles.includes('admin'))
        throw forbidden(`only the model developer or an admin may ${what}`);
      return m;
    };

    app.post(
      '/v1/models/:name/rollback',
      {
        schema: {
          summary: 'Make an earlier version production again (the model developer or an admin)',
          tags: ['inference'],
          params: NameParams,
          body: RollbackBody,
          response: responses({ 200: RollbackResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const caller = callerOf(req);
        await modelManagedBy(caller, req.params.name, 'roll back');
        const status = await findModelVersionStatus(sql, req.params.name, req.body.version);
        if (!status || status === 'candidate' || status === 'abandoned')
          throw badRequest(`model ${req.params.name} has no version ${req.body.version}`);
        // The model's entity workflow owns the production version: the rollback is an Update into
        // it. A retired model's entity has ended, so its rollback is refused (409), never restarted.
        const change = await runUpdate('rollback', () =>
          temporal.workflow
            .getHandle(workflowIds.model(req.params.name))
            .executeUpdate(rollbackUpdate, { args: [{ version: req.body.version, requester: caller.address }] }),
        );
        cache.invalidate(req.params.name);
        return { model: req.params.name, productionVersion: change.productionVersion, previous: change.previous };
      },
    );

    app.post(
      '/v1/models/:name/retire',
      {
        schema: {
          summary: 'Retire a model: nothing is served any more (the model developer or an admin)',
          tags: ['inference'],
          params: NameParams,
          body: RetireBody,
          response: responses({ 200: RetireResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const caller = callerOf(req);
        await modelManagedBy(caller, req.params.name, 'retire the model');
        await runUpdate('retirement', () =>
          temporal.workflow
            .getHandle(workflowIds.model(req.params.name))
            .executeUpdate(retireUpdate, { args: [{ requester: caller.address, reason: req.body.reason }] }),
        );
        cache.invalidate(req.params.name);
        return { model: req.params.name, retired: true as const };
      },
    );

    app.post(
      '/v1/api-keys/:id/revoke',
      {
        schema: {
          summary: 'Revoke an inference API key at once, on every API replica (its owner or an admin)',
          tags: ['inference'],
          params: IdParams,
          response: responses({ 200: RevokeApiKeyResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const caller = callerOf(req);
        const owner = caller.roles.includes('admin') ? undefined : caller.address;
        if (!(await revokeApiKey(sql, req.params.id, owner))) throw notFound(`no API key ${req.params.id} of yours`);
        return { id: req.params.id, revoked: true as const };
      },
    );

    app.post(
      '/v1/api-keys',
      {
        schema: {
          summary: 'Issue an inference API key (shown once)',
          tags: ['inference'],
          body: ApiKeyBody,
          response: responses({ 201: ApiKeyResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['app-builder'] }),
      },
      async (req, reply) => {
        const key = `ck_${randomBytes(24).toString('hex')}`;
        const id = `key_${randomBytes(6).toString('hex')}`;
        const owner = callerOf(req).address;
        await insertApiKey(sql, { id, keyHash: sha256(key), owner });
        return reply.code(201).send({ id, apiKey: key, owner });
      },
    );
    done();
  };
