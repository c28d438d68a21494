import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { signed } from '../auth.js';
import { HttpError, badRequest, forbidden, notFound, paymentRequired } from '../errors.js';
import { attributeWithIndex } from '../../ml/embedded/influence.js';
import { ModelCache, type LoadedVersion } from '../inference/model-cache.js';
import { FeeBatcher } from '../inference/fee-batcher.js';
import { splitFee, type Recipients } from '../../domain/serving/fee-split.js';
import type { LifecycleParams } from '../../domain/lifecycle/types.js';
import type { ApiContext } from '../context.js';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { retireUpdate, rollbackUpdate } from '../../contracts/messages.js';
import { MODEL_WORKFLOW_TYPE, modelEntityStartOptions } from '../../contracts/model-entity.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { DEFAULT_PARAMS } from '../../domain/lifecycle/params.js';
import { runUpdate } from '../temporal-errors.js';
import type { modelWorkflow } from '../../workflows/model.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface ModelRoutesHandle {
  batcher: FeeBatcher;
  cache: ModelCache;
}

export const modelRoutes =
  (ctx: ApiContext, handle: ModelRoutesHandle): FastifyPluginAsyncTypebox =>
  async (app) => {
    const { sql, temporal } = ctx;
    const { cache, batcher } = handle;
    const keys = new Map<string, { id: string; owner: string; revoked: boolean; at: number }>();
    const recipients = new Map<
      string,
      { r: Omit<Recipients, 'contributors'>; serving: LifecycleParams['serving']; at: number }
    >();

    async function apiKey(req: FastifyRequest) {
      const raw =
        (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || String(req.headers['x-api-key'] ?? '');
      if (!raw)
        throw new HttpError(
          401,
          'an API key is required (Authorization: Bearer <key>); issue one with POST /v1/api-keys',
        );
      const h = sha256(raw);
      let k = keys.get(h);
      if (!k || Date.now() - k.at > 30_000) {
        const [row] = await sql`select id, owner, revoked from api_keys where key_hash = ${h}`;
        if (!row) throw new HttpError(401, 'unknown API key');
        k = { id: row.id, owner: row.owner, revoked: row.revoked, at: Date.now() };
        keys.set(h, k);
      }
      if (k.revoked) throw new HttpError(401, 'this API key has been revoked');
      return k;
    }

    /** Who besides the contributors shares a model's fees; stable for a version, so cached briefly. */
    async function feeRecipients(v: LoadedVersion) {
      const key = `${v.modelName}@${v.version}`;
      const hit = recipients.get(key);
      if (hit && Date.now() - hit.at < 60_000) return hit;
      const [p] = await sql`select params from proposals where id = ${v.proposalId}`;
      const reviewers = await sql`
        select a.reviewer as address, count(*)::int as weight from review_answers a join review_tasks t on t.id = a.task_id
        where t.proposal_id = ${v.proposalId} and a.agreed group by a.reviewer order by a.reviewer`;
      const governors =
        await sql`select voter as address, power from votes where proposal_id = ${v.proposalId} order by voter`;
      const entry = {
        r: {
          developer: v.developer,
          reviewers: reviewers.map((x) => ({ address: x.address as string, weight: x.weight as number })),
          governors: governors.map((g) => ({ address: g.address as string, weight: Number(g.power) })),
        },
        serving: (p.params as LifecycleParams).serving,
        at: Date.now(),
      };
      recipients.set(key, entry);
      return entry;
    }

    async function infer(req: FastifyRequest, v: LoadedVersion, input: string, topK: number) {
      const key = await apiKey(req);
      const { r, serving } = await feeRecipients(v);
      const fee = BigInt(serving.feePerCall);
      await batcher.drainIfBacklogged();
      if (fee > 0n && !(await batcher.canPay(key.owner, fee)))
        throw paymentRequired(`the API key's owner ${key.owner} has less than ${fee} OPEN available for this call`);
      const prediction = v.model.predict(input);
      const attribution = attributeWithIndex(v.index, v.model, input, topK);
      const callId = randomUUID();
      if (fee > 0n) {
        const splits = splitFee(fee, serving.shares, { ...r, contributors: attribution.contributors });
        batcher.enqueue({
          callId,
          modelName: v.modelName,
          version: v.version,
          proposalId: v.proposalId,
          apiKeyId: key.id,
          payer: key.owner,
          fee,
          splits,
          attribution: attribution.contributors,
        });
      }
      return {
        callId,
        model: v.modelName,
        version: v.version,
        output: prediction.label,
        probabilities: prediction.probs,
        attribution: { contributors: attribution.contributors, records: attribution.records },
        fee: fee.toString(),
      };
    }

    const InferBody = Type.Object({
      input: Type.String({ minLength: 1, maxLength: 100_000 }),
      topK: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })),
    });

    app.post(
      '/v1/models/:name/infer',
      {
        schema: {
          summary: 'Paid inference on the production version; answers with the attribution',
          tags: ['inference'],
          params: Type.Object({ name: Type.String() }),
          body: InferBody,
        },
      },
      async (req) => infer(req, await cache.production(req.params.name), req.body.input, req.body.topK ?? 5),
    );

    app.post(
      '/v1/models/:name/versions/:version/infer',
      {
        schema: {
          summary: 'Paid inference on a specific version',
          tags: ['inference'],
          params: Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1 }) }),
          body: InferBody,
        },
      },
      async (req) =>
        infer(req, await cache.get(req.params.name, req.params.version), req.body.input, req.body.topK ?? 5),
    );

    app.get(
      '/v1/models/:name',
      {
        schema: {
          summary: 'A model, its versions and lineage',
          tags: ['inference'],
          params: Type.Object({ name: Type.String() }),
        },
      },
      async (req) => {
        const [m] = await sql`select * from models where name = ${req.params.name}`;
        if (!m) throw notFound(`no model ${req.params.name}`);
        const versions =
          await sql`select version, status, prefix, sha256, merkle_root, dataset_version_id, lineage, metrics, created_at from model_versions where model_name = ${req.params.name} order by version`;
        return {
          name: m.name,
          developer: m.developer,
          productionVersion: m.production_version,
          versions: versions.map((v) => ({
            version: v.version,
            status: v.status,
            prefix: v.prefix,
            sha256: v.sha256,
            merkleRoot: v.merkle_root,
            datasetVersionId: v.dataset_version_id,
            lineage: v.lineage,
            metrics: v.metrics,
            createdAt: v.created_at,
          })),
        };
      },
    );

    app.post(
      '/v1/models/:name/rollback',
      {
        schema: {
          summary: 'Make an earlier version production again (the model developer or an admin)',
          tags: ['inference'],
          params: Type.Object({ name: Type.String() }),
          body: Type.Object({ version: Type.Integer({ minimum: 1 }) }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const [m] = await sql`select developer, production_version from models where name = ${req.params.name}`;
        if (!m) throw notFound(`no model ${req.params.name}`);
        if (m.developer !== req.caller!.address && !req.caller!.roles.includes('admin'))
          throw forbidden('only the model developer or an admin may roll back');
        const [v] =
          await sql`select status from model_versions where model_name = ${req.params.name} and version = ${req.body.version}`;
        if (!v || v.status === 'candidate' || v.status === 'abandoned')
          throw badRequest(`model ${req.params.name} has no version ${req.body.version}`);
        // The model's entity workflow owns the production version: the rollback is an Update into
        // it (started here for a model served before entity workflows existed).
        const change = await runUpdate('rollback', () =>
          temporal.workflow.executeUpdateWithStart(rollbackUpdate, {
            args: [{ version: req.body.version, requester: req.caller!.address }],
            startWorkflowOperation: new WithStartWorkflowOperation<typeof modelWorkflow>(
              MODEL_WORKFLOW_TYPE,
              modelEntityStartOptions({
                modelName: req.params.name,
                developer: String(m.developer),
                settlementPeriodMs: DEFAULT_PARAMS.serving.settlementPeriodMs ?? 86_400_000,
              }),
            ),
          }),
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
          params: Type.Object({ name: Type.String() }),
          body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const [m] = await sql`select developer from models where name = ${req.params.name}`;
        if (!m) throw notFound(`no model ${req.params.name}`);
        if (m.developer !== req.caller!.address && !req.caller!.roles.includes('admin'))
          throw forbidden('only the model developer or an admin may retire the model');
        await runUpdate('retirement', () =>
          temporal.workflow
            .getHandle(workflowIds.model(req.params.name))
            .executeUpdate(retireUpdate, { args: [{ requester: req.caller!.address, reason: req.body.reason }] }),
        );
        cache.invalidate(req.params.name);
        return { model: req.params.name, retired: true };
      },
    );

    app.post(
      '/v1/api-keys',
      {
        schema: {
          summary: 'Issue an inference API key (shown once)',
          tags: ['inference'],
          body: Type.Object({ label: Type.Optional(Type.String({ maxLength: 80 })) }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard, roles: ['app-builder'] }),
      },
      async (req, reply) => {
        const key = `ck_${randomBytes(24).toString('hex')}`;
        const id = `key_${randomBytes(6).toString('hex')}`;
        await sql`insert into api_keys (id, key_hash, owner) values (${id}, ${sha256(key)}, ${req.caller!.address})`;
        return reply.code(201).send({ id, apiKey: key, owner: req.caller!.address });
      },
    );
  };
