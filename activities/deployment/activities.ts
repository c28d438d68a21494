import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.js';
import { accountsOf } from '../../contracts/accounts.js';
import { splitByWeight } from '../../domain/serving/split-by-weight.js';
import type { EvalMetrics } from '../../ml/trainer.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function createDeploymentActivities({ sql, store, ledger }: Pick<ActivityDeps, 'sql' | 'store' | 'ledger'>) {
  const nextVersion = async (modelName: string): Promise<number> => {
    const [r] = await sql<
      { v: number }[]
    >`select coalesce(max(version), 0) + 1 as v from model_versions where model_name = ${modelName}`;
    if (!r) throw new Error('an aggregate query returned no row');
    return r.v;
  };
  return {
    async productionMetrics(a: { modelName: string }): Promise<{ version: number; metrics: EvalMetrics } | null> {
      const [row] = await sql<{ version: number; metrics: EvalMetrics }[]>`
        select v.version, v.metrics from models m join model_versions v on v.model_name = m.name and v.version = m.production_version
        where m.name = ${a.modelName}`;
      return row ? { version: row.version, metrics: row.metrics } : null;
    },

    /**
     * Copies the staged artifact to the immutable models/<name>/<version>/ prefix (never
     * overwriting), verifies its SHA-256 after the copy, registers the version with its lineage and
     * marks it production. A retry finds its own earlier registration and returns it.
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
      const [mine] = await sql<
        { version: number; prefix: string; sha256: string; status: string }[]
      >`select version, prefix, sha256, status from model_versions where model_name = ${a.modelName} and proposal_id = ${a.proposalId}`;
      if (mine && mine.status === 'production')
        return { version: mine.version, prefix: mine.prefix, sha256: mine.sha256 };
      const staged = await store.get(a.stagingArtifactKey);
      const digest = sha256(staged);
      const version = mine ? mine.version : await nextVersion(a.modelName);
      const prefix = `models/${a.modelName}/${version}/`;
      const key = `${prefix}model.bin`;
      const existing = await store.head(key);
      if (existing) {
        // A previous attempt got this far: accept only the same bytes, never overwrite.
        if (sha256(await store.get(key)) !== digest)
          throw ApplicationFailure.nonRetryable(`${key} exists with different content`, 'IntegrityError');
      } else {
        await store.put(key, staged, {
          ifNoneMatch: true,
          contentType: 'application/octet-stream',
          metadata: { sha256: digest },
        });
      }
      const copied = await store.get(key);
      if (sha256(copied) !== digest)
        throw ApplicationFailure.nonRetryable(`checksum mismatch after promoting ${key}`, 'IntegrityError');
      const manifest = {
        modelName: a.modelName,
        version,
        sha256: digest,
        artifact: 'model.bin',
        merkleRoot: a.merkleRoot,
        lineage: a.lineage,
        metrics: a.metrics,
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
      await sql.begin(async (tx) => {
        await tx`insert into models (name, developer, proposal_id) values (${a.modelName}, ${a.developer}, ${a.proposalId}) on conflict (name) do nothing`;
        await tx`
          insert into model_versions (model_name, version, proposal_id, prefix, artifact_key, sha256, dataset_version_id, merkle_root, lineage, metrics, status)
          values (${a.modelName}, ${version}, ${a.proposalId}, ${prefix}, ${key}, ${digest}, ${a.datasetVersionId}, ${a.merkleRoot}, ${tx.json(a.lineage as never)}, ${tx.json(a.metrics as never)}, 'production')
          on conflict (model_name, version) do update set status = 'production'`;
        await tx`update model_versions set status = 'retired' where model_name = ${a.modelName} and version <> ${version} and status = 'production'`;
        await tx`update models set production_version = ${version} where name = ${a.modelName}`;
      });
      return { version, prefix, sha256: digest };
    },

    /**
     * Funds the model's reward pool from the treasury and splits it among contributors by their
     * recorded attribution weights (largest-remainder rounding so the pool is paid out exactly).
     */
    async settleRewards(a: { proposalId: string; modelName: string; datasetVersionId: string; amount: string }) {
      const total = BigInt(a.amount);
      if (total === 0n) return { paid: 0 };
      const pool = accountsOf.modelPool(a.modelName);
      await ledger.transfer({
        idempotencyKey: `rewards:${a.proposalId}:fund`,
        asset: 'OPEN',
        from: accountsOf.treasury,
        to: pool,
        amount: a.amount,
        reason: 'contributor reward pool',
        proposalId: a.proposalId,
      });
      const weights =
        await sql`select contributor, weight from attribution_weights where dataset_version_id = ${a.datasetVersionId} and weight > 0 order by contributor`;
      const shares = splitByWeight(
        total,
        weights.map((w) => ({ key: w.contributor as string, weight: Number(w.weight) })),
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
