import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { FastifyRequest } from 'fastify';
import { HttpError, paymentRequired } from '../errors.js';
import { PaymentRefusedError, type FeeGroupCommit } from './group-commit.js';
import type { LoadedVersion } from './model-cache.js';
import type { Attribution } from '../../ml/embedded/influence.js';
import { feeSplitter, type FeeSplit, type Recipients } from '../../domain/serving/fee-split.js';
import type { LifecycleParams } from '../../domain/lifecycle/types.js';
import { findProposalParams } from '../../db/queries/proposals.js';
import { findVersionOwner } from '../../db/queries/models.js';
import type { Ledger } from '../../db/ledger.js';
import type { ModelCache } from './model-cache.js';
import type { PaidCallMeter } from '../paid-call-metrics.js';
import { listAgreedReviewerWeights } from '../../db/queries/reviews.js';
import { listVoterPowers } from '../../db/queries/governance.js';
import { erasedHashesOfProposal } from '../../db/queries/erasures.js';
import { payableContributors } from '../../domain/serving/erased-share.js';
import { findVersionContributorWeights } from '../../db/queries/version-weights.js';

/** What feeRecipients answers for a version. */
interface RecipientsEntry {
  r: Omit<Recipients, 'contributors'>;
  serving: LifecycleParams['serving'];
  /** The version's fee split, given a call's attributed contributors. */
  split: (contributors: Recipients['contributors']) => FeeSplit;
  at: number;
}

export interface CallerKey {
  id: string;
  owner: string;
}

/**
 * What every paid inference route shares (the model routes and the OpenAI-compatible ones), behind
 * the API key check of api/api-key-auth.ts: the fee's recipients and the charge through the group commit, which resolves
 * only once the fee is durable, so an answer is never sent for a call that was not paid.
 */
export class PaidCalls {
  private readonly recipients = new Map<string, RecipientsEntry>();

  /** Payers seen able to cover a version's fee, and when: admitted again without a query for a second. */
  private readonly solvent = new Map<string, number>();
  /** Who proposed and developed each version: fixed once the version exists. */
  private readonly owners = new Map<string, { proposalId: string; developer: string }>();
  /**
   * The records erased from each proposal's Datanet, re-read at most every second: an erasure
   * reaches every replica's fee splits within that (at once on the replica that made it, see
   * forgetErasures), without a query per call.
   */
  private readonly erased = new Map<string, { hashes: Promise<Set<string>>; read?: Set<string>; at: number }>();
  /** Each version's training-set contributor weights (what an embedding is attributed to). */
  private readonly trainingSets = new Map<string, Attribution['contributors']>();

  constructor(
    private readonly sql: postgres.Sql,
    private readonly ledger: Ledger,
    private readonly fees: FeeGroupCommit,
    private readonly cache: ModelCache,
    private readonly meter?: PaidCallMeter,
  ) {}

  /**
   * The version a paid call asks for (production when none is named), loaded only once the key's
   * owner is admitted: a payer who cannot cover the fee gets its 402 before any model is loaded or
   * any prediction made. The charge after the prediction stays the authority (balances move).
   * Answered without a promise when this replica already holds everything the checks read (the
   * common case under load: each await costs the API's one thread a turn of the microtask queue).
   */
  admittedVersion(key: CallerKey, modelName: string, version?: number): LoadedVersion | Promise<LoadedVersion> {
    return this.admittedNow(key, modelName, version) ?? this.admittedRead(key, modelName, version);
  }

  /** The same checks on what is in memory only; undefined when any of them must read Postgres. */
  private admittedNow(key: CallerKey, modelName: string, version: number | undefined): LoadedVersion | undefined {
    const n = this.cache.servedNow(modelName, version ?? 'production');
    if (n === undefined) return undefined;
    const versionKey = `${modelName}@${n}`;
    const owner = this.owners.get(versionKey);
    const entry = this.recipientsNow(versionKey);
    if (!owner || !entry || !this.admittedFromMemory(key, entry)) return undefined;
    return this.cache.loadedNow(modelName, n);
  }

  private async admittedRead(key: CallerKey, modelName: string, version?: number): Promise<LoadedVersion> {
    const n = await this.cache.served(modelName, version ?? 'production');
    const versionKey = `${modelName}@${n}`;
    let owner = this.owners.get(versionKey);
    if (!owner) {
      owner = await findVersionOwner(this.sql, modelName, n);
      if (owner) {
        if (this.owners.size > 10_000) this.owners.clear();
        this.owners.set(versionKey, owner);
      }
    }
    // An unknown version is the cache's 404.
    if (owner) await this.admit(key, { modelName, version: n, ...owner });
    return this.cache.get(modelName, n);
  }

  /**
   * Whether the key's owner is admitted without a balance read: no fee, a fixed recipient (who pays
   * the fee less its own part: the charge decides), or seen able to pay within the last second.
   */
  private admittedFromMemory(key: CallerKey, entry: RecipientsEntry): boolean {
    const { serving, r } = entry;
    const fee = BigInt(serving.feePerCall);
    if (fee === 0n) return true;
    if (
      key.owner === r.developer ||
      r.reviewers.some((x) => x.address === key.owner) ||
      r.governors.some((x) => x.address === key.owner)
    )
      return true;
    const seen = this.solvent.get(`${key.owner}:${fee}`);
    return seen !== undefined && Date.now() - seen < 1000;
  }

  private async admit(
    key: CallerKey,
    v: Pick<LoadedVersion, 'modelName' | 'version' | 'proposalId' | 'developer'>,
  ): Promise<void> {
    const entry = await this.feeRecipients(v);
    if (this.admittedFromMemory(key, entry)) return;
    const fee = BigInt(entry.serving.feePerCall);
    const available = BigInt(await this.ledger.balance(key.owner, 'OPEN'));
    if (available < fee) {
      this.meter?.refused(v.modelName);
      throw paymentRequired(new PaymentRefusedError(key.owner, fee, available).message);
    }
    if (this.solvent.size > 10_000) this.solvent.clear();
    this.solvent.set(`${key.owner}:${fee}`, Date.now());
  }

  /** A version's training-set contributors by attribution weight (summing to 1); fixed once the version exists. */
  async trainingSetWeights(v: Pick<LoadedVersion, 'modelName' | 'version'>): Promise<Attribution['contributors']> {
    const key = `${v.modelName}@${v.version}`;
    let hit = this.trainingSets.get(key);
    if (!hit) {
      const weights = await findVersionContributorWeights(this.sql, v.modelName, v.version);
      const total = weights.reduce((s, w) => s + w.weight, 0);
      hit = total > 0 ? weights.map((w) => ({ contributor: w.contributor, weight: w.weight / total })) : [];
      if (this.trainingSets.size > 1000) this.trainingSets.clear();
      this.trainingSets.set(key, hit);
    }
    return hit;
  }

  /** feeRecipients while its copy in memory is fresh; undefined when it must be read. */
  private recipientsNow(versionKey: string): RecipientsEntry | undefined {
    const hit = this.recipients.get(versionKey);
    return hit && Date.now() - hit.at < 60_000 ? hit : undefined;
  }

  /** Who besides the contributors shares a model's fees; stable for a version, so cached briefly. */
  async feeRecipients(
    v: Pick<LoadedVersion, 'modelName' | 'version' | 'proposalId' | 'developer'>,
  ): Promise<RecipientsEntry> {
    const key = `${v.modelName}@${v.version}`;
    const hit = this.recipientsNow(key);
    if (hit) return hit;
    const params = (await findProposalParams(this.sql, v.proposalId)) as LifecycleParams | undefined;
    if (!params) throw new HttpError(500, `model ${key} has no proposal ${v.proposalId}`);
    const reviewers = await listAgreedReviewerWeights(this.sql, v.proposalId);
    const governors = await listVoterPowers(this.sql, v.proposalId);
    const r = {
      developer: v.developer,
      reviewers,
      governors: governors.map((g) => ({ address: g.address, weight: Number(g.power) })),
    };
    const entry = {
      r,
      serving: params.serving,
      split: feeSplitter(BigInt(params.serving.feePerCall), params.serving.shares, r),
      at: Date.now(),
    };
    this.recipients.set(key, entry);
    return entry;
  }

  /**
   * The hashes of records erased from a proposal's Datanet (the shares the treasury takes instead):
   * the set itself when a fresh read has finished, else the read to wait for.
   */
  private erasedOf(proposalId: string): Set<string> | Promise<Set<string>> {
    const hit = this.erased.get(proposalId);
    if (hit && Date.now() - hit.at < 1000) return hit.read ?? hit.hashes;
    const hashes = erasedHashesOfProposal(this.sql, proposalId);
    if (this.erased.size > 10_000) this.erased.clear();
    const entry: { hashes: Promise<Set<string>>; read?: Set<string>; at: number } = { hashes, at: Date.now() };
    this.erased.set(proposalId, entry);
    // A failed read is not kept: the next call reads again.
    hashes.then(
      (read) => void (entry.read = read),
      () => {
        if (this.erased.get(proposalId) === entry) this.erased.delete(proposalId);
      },
    );
    return hashes;
  }

  /** An erasure this replica made applies to the next call, not a second later. */
  forgetErasures(proposalId: string): void {
    this.erased.delete(proposalId);
  }

  /**
   * Charges one call, split among the developer, the attributed contributors, reviewers, governors
   * and the treasury. Resolves once the call's row and transfers are committed; 402 when the key's
   * owner cannot pay (nothing charged), 503 when the database could not commit.
   */
  async charge(
    req: Pick<FastifyRequest, 'log'>,
    v: LoadedVersion,
    key: CallerKey,
    attribution: Attribution,
    receipt: { inputHash?: string; endUser?: string } = {},
  ): Promise<{ callId: string; fee: bigint }> {
    const { serving, split } = this.recipientsNow(`${v.modelName}@${v.version}`) ?? (await this.feeRecipients(v));
    const fee = BigInt(serving.feePerCall);
    const callId = randomUUID();
    if (fee > 0n) {
      const known = this.erasedOf(v.proposalId);
      const splits = split(payableContributors(attribution, known instanceof Set ? known : await known));
      // Answered only once the row and its charge are committed (group commit, see docs/design.md, "Inference fees").
      try {
        await this.fees.charge({
          callId,
          modelName: v.modelName,
          version: v.version,
          proposalId: v.proposalId,
          apiKeyId: key.id,
          payer: key.owner,
          fee,
          splits,
          attribution: attribution.contributors,
          records: attribution.records,
          ...receipt,
        });
      } catch (err) {
        if (err instanceof PaymentRefusedError) {
          this.meter?.refused(v.modelName);
          throw paymentRequired(err.message);
        }
        this.meter?.failed(v.modelName);
        req.log.error({ err }, 'inference fee not committed');
        throw new HttpError(503, 'the fee for this call could not be committed (database unavailable); retry');
      }
    }
    this.meter?.charged(v.modelName, fee);
    return { callId, fee };
  }
}
