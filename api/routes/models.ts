import { randomBytes } from 'node:crypto';
import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerOf, signed, type Caller } from '../auth.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { ModelCache, LoadedVersion } from '../inference/model-cache.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { RECEIPT_HEADER, inputHashOf } from '../inference/receipts.js';
import type { ApiContext } from '../context.js';
import { insertApiKey, revokeApiKey } from '../../db/queries/api-keys.js';
import { apiKeyOf, authenticateApiKey, sha256 } from '../api-key-auth.js';
import { findModel, findModelVersionStatus, findRetiredModel, restoreRetiredModel } from '../../db/queries/models.js';
import { findProposalParams } from '../../db/queries/proposals.js';
import type { LifecycleParams } from '../../domain/lifecycle/types.js';
import { MODEL_WORKFLOW_TYPE, modelEntityRestoreOptions } from '../../contracts/model-entity.js';
import { IdParams, responses } from '../schemas/common.js';
import {
  ApiKeyBody,
  ApiKeyResponse,
  InferBody,
  InferResponse,
  NameParams,
  RestoreBody,
  RestoreResponse,
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
    async function infer(
      req: FastifyRequest,
      reply: FastifyReply,
      v: LoadedVersion,
      input: string,
      topK: number,
    ): Promise<InferResponse> {
      const key = apiKeyOf(req);
      const messages = [{ role: 'user' as const, content: input }];
      const prediction = await v.predictor.predict({ messages, topK });
      const { callId, fee } = await paid.charge(req, v, key, prediction.attribution, {
        inputHash: inputHashOf(messages),
      });
      reply.header(RECEIPT_HEADER, callId);
      return {
        callId,
        receipt: callId,
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
      async (req, reply) =>
        infer(
          req,
          reply,
          await paid.admittedVersion(apiKeyOf(req), req.params.name),
          req.body.input,
          req.body.topK ?? 5,
        ),
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
      async (req, reply) =>
        infer(
          req,
          reply,
          await paid.admittedVersion(apiKeyOf(req), req.params.name, req.params.version),
          req.body.input,
          req.body.topK ?? 5,
        ),
    );

    /** The model, when the caller is its developer or an admin (rollback and retirement). */
    const modelManagedBy = async (caller: Caller, name: string, what: string) => {
      const m = await findModel(sql, name);
      if (!m) throw notFound(`no model ${name}`);
      if (m.developer !== caller.address && !caller.roles.includes('admin'))
        throw forbidden(`only the model developer or an admin may ${what}`);
      // The registry's record of a retirement is checked before any Update reaches the entity.
      if (m.status === 'retired') throw conflict(`model ${name} is retired; only an admin's restore brings it back`);
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
        // it (never an update-with-start). A retired model is refused above, from the registry.
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
      '/v1/models/:name/restore',
      {
        schema: {
          summary:
            'Restore a retired model (an admin): the version that was production serves again and its entity restarts from the recorded versions',
          tags: ['inference'],
          params: NameParams,
          body: RestoreBody,
          response: responses({ 200: RestoreResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['admin'] }),
      },
      async (req) => {
        const { name } = req.params;
        const m = await findModel(sql, name);
        if (!m) throw notFound(`no model ${name}`);
        if (m.status !== 'retired') throw conflict(`model ${name} is not retired`);
        const retired = await findRetiredModel(sql, name);
        if (!retired) throw conflict(`model ${name} has no recorded production version to restore`);
        const params = (await findProposalParams(sql, retired.proposalId)) as LifecycleParams | undefined;
        if (!params) throw conflict(`model ${name}'s version ${retired.retiredVersion} has no proposal`);
        const entity = temporal.workflow.getHandle(workflowIds.model(name));
        const running = await entity.describe().then(
          (d) => d.status.name === 'RUNNING',
          (err: unknown) => {
            if (err instanceof WorkflowNotFoundError) return false;
            throw err;
          },
        );
        // The retiring entity records the retirement before it completes: restore only once it has.
        if (running) throw conflict(`model ${name} is still completing its retirement; retry shortly`);
        // The entity starts first, from the registry's versions, production version and epoch
        // counter; the registry then serves again. A retry after either step finishes the other.
        await temporal.workflow
          .start(
            MODEL_WORKFLOW_TYPE,
            modelEntityRestoreOptions({
              modelName: name,
              developer: retired.developer,
              settlementPeriodMs: params.serving.settlementPeriodMs,
              state: {
                status: 'serving',
                productionVersion: retired.retiredVersion,
                versions: retired.versions.map((v) => ({
                  version: v.version,
                  proposalId: v.proposalId,
                  at: v.createdAt.getTime(),
                })),
                epoch: retired.epoch,
              },
            }),
          )
          .catch((err: unknown) => {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          });
        await restoreRetiredModel(sql, name);
        cache.invalidate(name);
        req.log.info({ model: name, admin: callerOf(req).address, reason: req.body.reason }, 'model restored');
        return {
          model: name,
          productionVersion: retired.retiredVersion,
          versions: retired.versions.map((v) => v.version),
        };
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
