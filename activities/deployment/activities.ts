import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { promoteVersionUpdate } from '../../contracts/messages.js';
import { MODEL_WORKFLOW_TYPE, modelEntityStartOptions } from '../../contracts/model-entity.js';
import type { VersionChange } from '../../domain/serving/model-entity.js';
import type { ActivityDeps } from '../deps.js';
import { ERROR_TYPES } from '../../contracts/error-types.js';
import { accountsOf } from '../../contracts/accounts.js';
import { payFromBudget } from '../../db/budgets.js';
import { splitByWeight } from '../../domain/serving/split-by-weight.js';
import type { EvalMetrics } from '../../ml/trainer.js';
import { deserializeModel } from '../../ml/embedded/serialize.js';
import { promoteAttributionIndex } from '../../ml/embedded/attribution-index.js';
import { attributionIndexPrefix } from '../../storage/keys.js';
import { promoteSpanIndex } from '../../ml/spans/span-store.js';
import {
  findModel,
  findModelNameOwner,
  findModelVersionStatus,
  findProductionDatasetVersion,
  findProductionMetrics,
  findProductionVersion,
  findProposalModelVersion,
  reserveModelVersion,
  retireProduction,
  setProduction,
} from '../../db/queries/models.js';
import { positiveAttributionWeights } from '../../db/queries/datanets.js';
import { findTransferByKey } from '../../db/queries/transfers.js';
import { closeReceiptEpoch } from '../../db/queries/receipts.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const refused = (message: string) => ApplicationFailure.nonRetryable(message, ERROR_TYPES.modelRefused);

/** The staging prefix of the attribution index an embedded model artifact names, if any. */
function stagedIndexRef(artifact: Buffer): string | undefined {
  let meta: Record<string, unknown>;
  try {
    meta = deserializeModel(artifact).meta;
  } catch {
    return undefined; // not an embedded model (an external trainer's artifact): nothing to promote
  }
  const ref = meta.attributionIndex as { prefix?: unknown } | undefined;
  return typeof ref?.prefix === 'string' ? ref.prefix : undefined;
}

export function createDeploymentActivities({ sql, store, ledger }: Pick<ActivityDeps, 'sql' | 'store' | 'ledger'>) {
  return {
    async productionMetrics(a: { modelName: string }): Promise<{ version: number; metrics: EvalMetrics } | null> {
      const row = await findProductionMetrics<EvalMetrics>(sql, a.modelName);
      return row ? { version: row.version, metrics: row.metrics } : null;
    },

    /**
     * Copies the staged artifact to the immutable models/<name>/<version>/ prefix (never
     * overwriting), verifies its SHA-256 after the copy and registers the version with its lineage.
     * The version number is reserved first, under a per-model advisory lock, as a `candidate` row
     * owned by this proposal: two lifecycles promoting the same model at once get different
     * versions instead of racing for one prefix, and a retry finds its own reservation. The
     * model's entity workflow makes it production (handOverToModel).
     */
    async promoteModel(a: {
      proposalId: string;
      modelName: string;
      developer: string;
      stagingArtifactKey: string;
      datasetVersionId: string;
      merkleRoot: string;
      metrics: EvalMetrics;
      lineage: Record<string, unknown>;
    }): Promise<{ version: number; prefix: string; sha256: string }> {
      // The name is its owner's (claimed by the first proposal), and a retired model takes no new
      // version: both are refused before anything is copied, and the lifecycle compensates.
      const owner = await findModelNameOwner(sql, a.modelName);
      if (owner !== a.developer)
        throw refused(`model name ${a.modelName} belongs to ${owner ?? 'nobody'}, not to ${a.developer}`);
      if ((await findModel(sql, a.modelName))?.status === 'retired')
        throw refused(`model ${a.modelName} is retired; only an admin's restore brings it back`);
      const mine = await findProposalModelVersion(sql, a.modelName, a.proposalId);
      // Registered by an earlier attempt: answer once the copy is complete (its manifest is written last).
      if (mine && (await store.head(`${mine.prefix}manifest.json`)))
        return { version: mine.version, prefix: mine.prefix, sha256: mine.sha256 };
      if (mine && mine.status === 'abandoned')
        throw ApplicationFailure.nonRetryable(
          `version ${mine.version} of ${a.modelName} was abandoned by its lifecycle`,
          ERROR_TYPES.integrity,
        );
      const staged = await store.get(a.stagingArtifactKey);
      const digest = sha256(staged);
      const version = await reserveModelVersion(sql, {
        modelName: a.modelName,
        proposalId: a.proposalId,
        sha256: digest,
        datasetVersionId: a.datasetVersionId,
        merkleRoot: a.merkleRoot,
        lineage: a.lineage,
        metrics: a.metrics,
      });
      const prefix = `models/${a.modelName}/${version}/`;
      const key = `${prefix}model.bin`;
      const existing = await store.head(key);
      if (existing) {
        // A previous attempt got this far: accept only the same bytes, never overwrite.
        if (sha256(await store.get(key)) !== digest)
          throw ApplicationFailure.nonRetryable(`${key} exists with different content`, ERROR_TYPES.integrity);
      } else {
        await store.put(key, staged, {
          ifNoneMatch: true,
          contentType: 'application/octet-stream',
          metadata: { sha256: digest },
        });
      }
      const copied = await store.get(key);
      if (sha256(copied) !== digest)
        throw ApplicationFailure.nonRetryable(`checksum mismatch after promoting ${key}`, ERROR_TYPES.integrity);
      // The attribution index built at training time is promoted with the model (copied, never
      // overwritten, both checksums verified), so API replicas load it instead of rebuilding it.
      const indexRef = stagedIndexRef(staged);
      let attributionIndex: Record<string, unknown> | undefined;
      if (indexRef) {
        const header = await promoteAttributionIndex(store, indexRef, attributionIndexPrefix(key)).catch(
          (err: unknown) => {
            throw ApplicationFailure.nonRetryable(
              `attribution index of ${a.stagingArtifactKey} could not be promoted: ${String(err)}`,
              ERROR_TYPES.integrity,
            );
          },
        );
        attributionIndex = { prefix: 'attribution/', size: header.size, sha256: header.sha256 };
      }
      // So is a generation model's span index (beside any artifact, embedded or external).
      const spanIndex = await promoteSpanIndex(store, a.stagingArtifactKey, key).catch((err: unknown) => {
        throw ApplicationFailure.nonRetryable(
          `span index of ${a.stagingArtifactKey} could not be promoted: ${String(err)}`,
          ERROR_TYPES.integrity,
        );
      });
      const manifest = {
        modelName: a.modelName,
        version,
        sha256: digest,
        artifact: 'model.bin',
        merkleRoot: a.merkleRoot,
        lineage: a.lineage,
        metrics: a.metrics,
        ...(attributionIndex ? { attributionIndex } : {}),
        ...(spanIndex ? { spanIndex } : {}),
      };
      if (!(await store.head(`${prefix}manifest.json`))) {
        await store
          .put(`${prefix}manifest.json`, JSON.stringify(manifest, null, 2), {
            ifNoneMatch: true,
            contentType: 'application/json',
          })
          .catch(async (err) => {
            if (!(await store.head(`${prefix}manifest.json`))) throw err;
          });
      }
      return { version, prefix, sha256: digest };
    },

    /**
     * Makes a registered version production (the one that was production becomes superseded):
     * the model entity workflow's promotion and rollback. Refused for a retired model. Idempotent.
     */
    async setProductionVersion(a: { modelName: string; version: number; developer: string; proposalId: string }) {
      const status = await findModelVersionStatus(sql, a.modelName, a.version);
      if (status === undefined || status === 'abandoned')
        throw refused(`model ${a.modelName} has no servable version ${a.version}`);
      const previous = (await findProductionVersion(sql, a.modelName)) ?? null;
      if (!(await setProduction(sql, a))) throw refused(`model ${a.modelName} is retired`);
      return { productionVersion: a.version, previous };
    },

    /**
     * Retirement, recorded durably before the entity completes: nothing serves any more, the
     * production version is kept for a restore; the versions stay in S3 and the registry.
     */
    async retireModel(a: { modelName: string }) {
      await retireProduction(sql, a.modelName);
    },

    /**
     * Hands a promoted version to the model's entity workflow `model-<name>` with update-with-start
     * (started on the model's first version, used as it is afterwards), which makes it production.
     * The update id is per proposal, so a retried activity is the same Update. A retired model is
     * refused: its retirement is checked in Postgres first, and the start options refuse to start a
     * fresh entity after one that completed (a retirement that lands between the two).
     */
    async handOverToModel(a: {
      modelName: string;
      developer: string;
      proposalId: string;
      version: number;
      settlementPeriodMs: number;
    }): Promise<VersionChange> {
      if ((await findModel(sql, a.modelName))?.status === 'retired')
        throw refused(`model ${a.modelName} is retired; only an admin's restore brings it back`);
      const client = Context.current().client;
      try {
        return await client.workflow.executeUpdateWithStart(promoteVersionUpdate, {
          args: [{ version: a.version, proposalId: a.proposalId }],
          updateId: `promote-${a.proposalId}`,
          startWorkflowOperation: new WithStartWorkflowOperation(MODEL_WORKFLOW_TYPE, modelEntityStartOptions(a)),
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError)
          throw refused(`model ${a.modelName}'s entity has completed (retired); only an admin's restore restarts it`);
        if (err instanceof WorkflowUpdateFailedError)
          throw refused(`model ${a.modelName} refused version ${a.version}: ${err.cause?.message ?? err.message}`);
        throw err;
      }
    },

    /**
     * One settlement epoch of a served model. First its receipts: every paid call committed since
     * the last epoch joins this one and the epoch's Merkle root over their receipts is stored
     * (docs/receipts.md); a retry finds the stored root. Then its rewards: whatever accrued in
     * `rewards:model:<name>` is collected into the epoch's account (the amount is fixed by that
     * transfer, so a retry splits the same amount) and paid to the production version's
     * contributors by attribution weight, largest-remainder rounding, each payment keyed by epoch
     * and contributor.
     */
    async settleModelEpoch(a: {
      modelName: string;
      epoch: number;
    }): Promise<{ paid: string; recipients: number; receipts: { root: string; size: number } }> {
      const closed = await closeReceiptEpoch(sql, a.modelName, a.epoch);
      const receipts = { root: closed.root, size: closed.size };
      const datasetVersionId = await findProductionDatasetVersion(sql, a.modelName);
      if (datasetVersionId === undefined) return { paid: '0', recipients: 0, receipts };
      const epochAccount = accountsOf.modelEpoch(a.modelName, a.epoch);
      const collectKey = `model:${a.modelName}:epoch:${a.epoch}:collect`;
      const done = await findTransferByKey(sql, collectKey);
      let total = done
        ? BigInt(done.amount)
        : BigInt(await ledger.balance(accountsOf.modelRewards(a.modelName), 'OPEN'));
      if (total === 0n) return { paid: '0', recipients: 0, receipts };
      if (!done)
        await ledger.transfer({
          idempotencyKey: collectKey,
          asset: 'OPEN',
          from: accountsOf.modelRewards(a.modelName),
          to: epochAccount,
          amount: total.toString(),
          reason: `model reward epoch ${a.epoch}`,
        });
      const weights = await positiveAttributionWeights(sql, datasetVersionId);
      const shares = splitByWeight(
        total,
        weights.map((w) => ({ key: w.contributor, weight: w.weight })),
      );
      if (shares.length === 0) shares.push({ key: accountsOf.treasury, weight: 1, amount: total });
      let recipients = 0;
      for (const sh of shares) {
        if (sh.amount === 0n) continue;
        await ledger.transfer({
          idempotencyKey: `model:${a.modelName}:epoch:${a.epoch}:${sh.key}`,
          asset: 'OPEN',
          from: epochAccount,
          to: sh.key,
          amount: sh.amount.toString(),
          reason: 'model reward epoch (attribution weight)',
          memo: { epoch: a.epoch, weight: sh.weight, datasetVersionId },
        });
        recipients++;
      }
      total = shares.reduce((x, sh) => x + sh.amount, 0n);
      return { paid: total.toString(), recipients, receipts };
    },

    /**
     * Funds the model's reward pool from the treasury and splits it among contributors by their
     * recorded attribution weights (largest-remainder rounding so the pool is paid out exactly).
     */
    async settleRewards(a: { proposalId: string; modelName: string; datasetVersionId: string; amount: string }) {
      if (BigInt(a.amount) === 0n) return { paid: 0 };
      const pool = accountsOf.modelPool(a.modelName);
      // Funded from the proposal's reserved budget (at most what is left of it), so it can never
      // run short or fail the lifecycle; a retry answers what the first call moved.
      const funded = await payFromBudget(ledger, {
        idempotencyKey: `rewards:${a.proposalId}:fund`,
        proposalId: a.proposalId,
        to: pool,
        amount: a.amount,
        reason: 'contributor reward pool',
      });
      const total = BigInt(funded.paid);
      if (total === 0n) return { paid: 0 };
      const weights = await positiveAttributionWeights(sql, a.datasetVersionId);
      const shares = splitByWeight(
        total,
        weights.map((w) => ({ key: w.contributor, weight: w.weight })),
      );
      let paid = 0;
      for (const s of shares) {
        if (s.amount === 0n) continue;
        await ledger.transfer({
          idempotencyKey: `rewards:${a.proposalId}:${s.key}`,
          asset: 'OPEN',
          from: pool,
          to: s.key,
          amount: s.amount.toString(),
          reason: 'data contribution reward (attribution weight)',
          proposalId: a.proposalId,
          memo: { weight: s.weight, datasetVersionId: a.datasetVersionId },
        });
        paid++;
      }
      return { paid };
    },
  };
}
