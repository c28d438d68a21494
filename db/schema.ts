import { sql } from 'drizzle-orm';
import {
  pgTable,
  text,
  timestamp,
  numeric,
  jsonb,
  integer,
  bigserial,
  bigint,
  primaryKey,
  index,
  boolean,
  doublePrecision,
  check,
  customType,
  smallint,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** Participants: Ed25519 identities. The address is derived from the public key. */
export const accounts = pgTable('accounts', {
  address: text('address').primaryKey(),
  publicKey: text('public_key').notNull().unique(),
  roles: text('roles')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  displayName: text('display_name'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Double-entry ledger. Balances are kept per (account, asset) in integer base units; an account is a
 * participant address or a system account (escrow:proposal:<id>, pool:model:<name>, treasury,
 * issuer:<asset>). Only issuer accounts may go negative: the sum per asset is always zero, so the
 * sum over every other account equals what was minted.
 */
export const balances = pgTable(
  'balances',
  {
    account: text('account').notNull(),
    asset: text('asset').notNull(),
    amount: numeric('amount', { precision: 38, scale: 0 }).notNull().default('0'),
  },
  (t) => [
    primaryKey({ columns: [t.account, t.asset] }),
    check('balances_non_negative', sql`${t.amount} >= 0 or ${t.account} like 'issuer:%'`),
  ],
);

export const transfers = pgTable(
  'transfers',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Workflow run id + activity id (or another caller-chosen key): a retried activity moves money once. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    asset: text('asset').notNull(),
    fromAccount: text('from_account').notNull(),
    toAccount: text('to_account').notNull(),
    amount: numeric('amount', { precision: 38, scale: 0 }).notNull(),
    reason: text('reason').notNull(),
    proposalId: text('proposal_id'),
    memo: jsonb('memo'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('transfers_to_idx').on(t.toAccount),
    index('transfers_from_idx').on(t.fromAccount),
    index('transfers_proposal_idx').on(t.proposalId),
    check('transfers_positive', sql`${t.amount} > 0`),
  ],
);

export const delegations = pgTable('delegations', {
  delegator: text('delegator').primaryKey(),
  delegatee: text('delegatee').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Signatures already used on state-changing requests (replay protection); pruned after expiry. */
export const usedSignatures = pgTable('used_signatures', {
  signature: text('signature').primaryKey(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/**
 * The deployment's identity: one row, created by the first API to start, bound into every signed
 * message (identity/request-signing.ts) unless COMMONS_DEPLOYMENT_ID names the deployment.
 */
export const deploymentIdentity = pgTable(
  'deployment_identity',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    id: text('id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('deployment_identity_singleton', sql`${t.singleton}`)],
);

/** Per-contributor token buckets, shared by every API instance (api/rate-limit.ts). */
export const rateBuckets = pgTable('rate_buckets', {
  key: text('key').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

export const proposals = pgTable('proposals', {
  id: text('id').primaryKey(),
  proposer: text('proposer').notNull(),
  modelName: text('model_name').notNull(),
  title: text('title').notNull(),
  description: text('description').notNull(),
  rationale: text('rationale').notNull().default(''),
  domain: text('domain').notNull(),
  labels: jsonb('labels').$type<string[]>().notNull(),
  datanetSpec: jsonb('datanet_spec').notNull(),
  params: jsonb('params').notNull(),
  stake: numeric('stake', { precision: 38, scale: 0 }).notNull(),
  /** Treasury budget the proposal asks for. */
  budget: numeric('budget', { precision: 38, scale: 0 }).notNull(),
  /** What was reserved into budget:proposal:<id> when it passed; null until then. */
  budgetReserved: numeric('budget_reserved', { precision: 38, scale: 0 }),
  workflowId: text('workflow_id').notNull(),
  stage: text('stage').notNull().default('proposed'),
  /** Terminal status: running | passed | expired | rejected | vetoed | withdrawn | cancelled | failed | serving */
  status: text('status').notNull().default('running'),
  statusReason: text('status_reason'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Unstaked validator stake: held in unbonding:validator:<address> until `available_at`, then claimable. */
export const unbondings = pgTable(
  'unbondings',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    address: text('address').notNull(),
    amount: numeric('amount', { precision: 38, scale: 0 }).notNull(),
    availableAt: timestamp('available_at', { withTimezone: true }).notNull(),
    /** unbonding | claimed */
    status: text('status').notNull().default('unbonding'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
  },
  (t) => [index('unbondings_address_idx').on(t.address, t.status)],
);

export const votes = pgTable(
  'votes',
  {
    proposalId: text('proposal_id').notNull(),
    voter: text('voter').notNull(),
    option: text('option').notNull(),
    power: numeric('power', { precision: 38, scale: 0 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.voter] })],
);

export const tallies = pgTable('tallies', {
  proposalId: text('proposal_id').primaryKey(),
  yes: numeric('yes', { precision: 38, scale: 0 }).notNull(),
  no: numeric('no', { precision: 38, scale: 0 }).notNull(),
  abstain: numeric('abstain', { precision: 38, scale: 0 }).notNull(),
  veto: numeric('veto', { precision: 38, scale: 0 }).notNull(),
  totalPower: numeric('total_power', { precision: 38, scale: 0 }).notNull(),
  outcome: text('outcome').notNull(),
  closedEarly: boolean('closed_early').notNull().default(false),
  closedAt: timestamp('closed_at', { withTimezone: true }).notNull().defaultNow(),
});

export const datanets = pgTable('datanets', {
  id: text('id').primaryKey(),
  proposalId: text('proposal_id').notNull(),
  spec: jsonb('spec').notNull(),
  status: text('status').notNull().default('open'),
  targetCount: integer('target_count').notNull(),
  closesAt: timestamp('closes_at', { withTimezone: true }),
  /** Records in the window when it closed (the scoring pass's total; null while open). */
  received: integer('received'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Progress of a Datanet's scoring and dedupe passes, one row per batch and pass, written in the
 * transaction that writes the batch's statuses (a retry writes the same row again). Status reads
 * sum these few hundred rows instead of counting the Datanet's records by status, which at 1M
 * records is a scan of the whole contributions heap (over 1 s, every 2 s while a client polls).
 */
export const datanetBatchProgress = pgTable(
  'datanet_batch_progress',
  {
    datanetId: text('datanet_id').notNull(),
    /** 'score' or 'dedupe'. */
    pass: text('pass').notNull(),
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    /** Records the batch decided: all of its range when scoring, those that passed scoring when deduping. */
    records: integer('records').notNull(),
    /** Of those, passed scoring ('scored') or accepted by the dedupe pass. */
    passed: integer('passed').notNull(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.pass, t.fromSeq] })],
);

export const contributions = pgTable(
  'contributions',
  {
    datanetId: text('datanet_id').notNull(),
    hash: text('hash').notNull(),
    contributor: text('contributor').notNull(),
    signature: text('signature').notNull(),
    size: integer('size').notNull(),
    /** The pack object holding the record's bytes (storage/packs.ts). */
    s3Key: text('s3_key').notNull(),
    /** Byte offset and length of the record in its pack. */
    packOffset: bigint('pack_offset', { mode: 'number' }).notNull(),
    packLength: integer('pack_length').notNull(),
    /** Sequence within the datanet, so scoring batches page by a stable integer cursor. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    status: text('status').notNull().default('pending'),
    quality: doublePrecision('quality'),
    relevance: doublePrecision('relevance'),
    reasons: jsonb('reasons').$type<string[]>(),
    duplicateOf: text('duplicate_of'),
    /** Low byte of each MinHash permutation (b-bit MinHash): enough to confirm an LSH candidate. */
    sketch: bytea('sketch'),
    label: text('label'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.datanetId, t.hash] }),
    index('contributions_seq_idx').on(t.datanetId, t.seq),
    index('contributions_contributor_idx').on(t.contributor),
  ],
);

/**
 * The scoring pass's band claims, staged: one row per (Datanet, band partition, scoring batch) with
 * that batch's bands in the partition and each band's lowest seq in the batch, appended once per batch
 * (a retry conflicts and changes nothing). Appending touches no btree page per band, so the cost of a
 * batch does not grow with the Datanet (a per-band index outgrows Postgres's cache at a million
 * records, and every upsert then reads from disk). Before the dedupe pass reads owners, each
 * partition is reduced once (`lsh_band_reductions`): for each batch, the bands an earlier record in
 * another batch claimed too go to lsh_band_owners with that record's seq, and the partition's rows
 * are deleted.
 */
export const lshBandClaims = pgTable(
  'lsh_band_claims',
  {
    datanetKey: bigint('datanet_key', { mode: 'bigint' }).notNull(),
    part: smallint('part').notNull(),
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    bands: bigint('bands', { mode: 'number' }).array().notNull(),
    seqs: bigint('seqs', { mode: 'number' }).array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.datanetKey, t.part, t.fromSeq] })],
);

/**
 * What a reduction found for each scoring batch (one row per batch and partition): the batch's bands
 * that an earlier record in another batch claimed too, and that record's seq. The dedupe pass reads
 * its batch's rows by key instead of looking each of its ~56k bands up in a band index.
 */
export const lshBandOwners = pgTable(
  'lsh_band_owners',
  {
    datanetKey: bigint('datanet_key', { mode: 'bigint' }).notNull(),
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    part: smallint('part').notNull(),
    bands: bigint('bands', { mode: 'number' }).array().notNull(),
    owners: bigint('owners', { mode: 'number' }).array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.datanetKey, t.fromSeq, t.part] })],
);

/** Partitions of a Datanet's staged band claims already reduced (each exactly once). */
export const lshBandReductions = pgTable(
  'lsh_band_reductions',
  {
    datanetKey: bigint('datanet_key', { mode: 'bigint' }).notNull(),
    part: smallint('part').notNull(),
    /** Bands of the partition that more than one scoring batch claimed. */
    shared: integer('shared').notNull(),
    reducedAt: timestamp('reduced_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetKey, t.part] })],
);

export const datasetVersions = pgTable('dataset_versions', {
  id: text('id').primaryKey(),
  datanetId: text('datanet_id').notNull(),
  /** 1 for the version the collection builds; each later change of the accepted set (curation) adds one. */
  version: integer('version').notNull().default(1),
  /** What changed the accepted set (null for the collection's own build). */
  cause: text('cause'),
  proposalId: text('proposal_id').notNull(),
  manifestKey: text('manifest_key').notNull(),
  merkleRoot: text('merkle_root').notNull(),
  recordCount: integer('record_count').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const attributionWeights = pgTable(
  'attribution_weights',
  {
    datasetVersionId: text('dataset_version_id').notNull(),
    contributor: text('contributor').notNull(),
    rawScore: doublePrecision('raw_score').notNull(),
    weight: doublePrecision('weight').notNull(),
    accepted: integer('accepted').notNull(),
    rejected: integer('rejected').notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetVersionId, t.contributor] })],
);

export const trainingRuns = pgTable('training_runs', {
  id: text('id').primaryKey(),
  proposalId: text('proposal_id').notNull(),
  kind: text('kind').notNull(),
  trainer: text('trainer').notNull(),
  status: text('status').notNull(),
  artifactKey: text('artifact_key'),
  sha256: text('sha256'),
  metrics: jsonb('metrics'),
  steps: integer('steps'),
  resumedFromStep: integer('resumed_from_step'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});

/** A fine-tune's training loss at the end of each epoch, as its heartbeats reported it (the loss curve). */
export const trainingEpochs = pgTable(
  'training_epochs',
  {
    runId: text('run_id').notNull(),
    proposalId: text('proposal_id').notNull(),
    epoch: integer('epoch').notNull(),
    step: integer('step').notNull(),
    loss: doublePrecision('loss').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.epoch] }), index('training_epochs_proposal').on(t.proposalId)],
);

export const reviewTasks = pgTable(
  'review_tasks',
  {
    id: text('id').primaryKey(),
    proposalId: text('proposal_id').notNull(),
    round: integer('round').notNull(),
    workflowId: text('workflow_id').notNull(),
    prompt: text('prompt').notNull(),
    candidates: jsonb('candidates').$type<string[]>().notNull(),
    requiredAnswers: integer('required_answers').notNull(),
    status: text('status').notNull().default('open'),
    consensus: text('consensus'),
    /** Known answer of a gold task (never shown before settlement; gold tasks look like any other). */
    goldAnswer: text('gold_answer'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('review_tasks_status_idx').on(t.status)],
);

/**
 * Reviewers who enlisted for a proposal's review rounds (a reviewer chooses the models they can
 * judge, as annotators join projects); each round draws its assignments among the enlisted
 * reviewers whose bond is at least the protocol minimum.
 */
export const reviewEnlistments = pgTable(
  'review_enlistments',
  {
    proposalId: text('proposal_id').notNull(),
    reviewer: text('reviewer').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.reviewer] })],
);

/** Who may answer a task: drawn by the round workflow (seeded, stake-weighted, capped per reviewer). */
export const reviewAssignments = pgTable(
  'review_assignments',
  {
    taskId: text('task_id').notNull(),
    reviewer: text('reviewer').notNull(),
    /** Drawn for a low-agreement item after the main window (the bounded extension). */
    extension: boolean('extension').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.reviewer] }), index('review_assignments_reviewer_idx').on(t.reviewer)],
);

/**
 * The randomness of a staked review round's draws. When the round opens the server commits to a
 * secret (`commitment` = SHA-256 of it, readable at once); when the pool is snapshotted (enlistment
 * closes for the round) the seed is derived from the secret and the pool, which is recorded here and
 * whose bonds stay locked until the round settles; the secret is revealed at settlement, so anyone
 * can check the commitment and recompute the seed (domain/rlhf/round-seed.ts).
 */
export const reviewRoundSeeds = pgTable(
  'review_round_seeds',
  {
    proposalId: text('proposal_id').notNull(),
    round: integer('round').notNull(),
    secret: text('secret').notNull(),
    commitment: text('commitment').notNull(),
    committedAt: timestamp('committed_at', { withTimezone: true }).notNull().defaultNow(),
    /** The snapshotted pool, `[{ reviewer, stake }]` by address; null until enlistment closes. */
    pool: jsonb('pool').$type<{ reviewer: string; stake: string }[]>(),
    seed: text('seed'),
    drawnAt: timestamp('drawn_at', { withTimezone: true }),
    revealedAt: timestamp('revealed_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.round] })],
);

/**
 * One row per reviewer per settled round: the settlement's outcome, written once (a retried
 * settlement reads it back, so it pays the same). Running gold accuracy is the sum over a
 * reviewer's rows with the Beta prior (domain/rlhf/stake-consensus.ts goldGate).
 */
export const reviewRoundReviewers = pgTable(
  'review_round_reviewers',
  {
    proposalId: text('proposal_id').notNull(),
    round: integer('round').notNull(),
    reviewer: text('reviewer').notNull(),
    stake: numeric('stake', { precision: 38, scale: 0 }).notNull(),
    assigned: integer('assigned').notNull(),
    answered: integer('answered').notNull(),
    resolved: integer('resolved').notNull(),
    agreed: integer('agreed').notNull(),
    disagreed: integer('disagreed').notNull(),
    /** This round's gold answers (the running totals are sums over rounds). */
    goldCorrect: integer('gold_correct').notNull(),
    goldAnswered: integer('gold_answered').notNull(),
    goldAccuracy: doublePrecision('gold_accuracy').notNull(),
    paused: boolean('paused').notNull(),
    alpha: doublePrecision('alpha'),
    reward: numeric('reward', { precision: 38, scale: 0 }).notNull(),
    penalty: numeric('penalty', { precision: 38, scale: 0 }).notNull(),
    settledAt: timestamp('settled_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.proposalId, t.round, t.reviewer] }),
    index('review_round_reviewers_reviewer_idx').on(t.reviewer),
  ],
);

export const reviewAnswers = pgTable(
  'review_answers',
  {
    taskId: text('task_id').notNull(),
    reviewer: text('reviewer').notNull(),
    choice: text('choice').notNull(),
    weight: numeric('weight', { precision: 38, scale: 0 }).notNull(),
    agreed: boolean('agreed'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.reviewer] })],
);

export const rlhfRounds = pgTable(
  'rlhf_rounds',
  {
    proposalId: text('proposal_id').notNull(),
    round: integer('round').notNull(),
    status: text('status').notNull(),
    artifactKey: text('artifact_key'),
    metrics: jsonb('metrics'),
    summary: jsonb('summary'),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.round] })],
);

/**
 * Who owns a model name: claimed by a developer's first proposal for it, in one statement with the
 * proposal row (db/queries/models.ts claimModelName). Another developer may take the name over
 * only once the owner has no running or serving lifecycle for it and no registered model.
 */
export const modelNames = pgTable('model_names', {
  name: text('name').primaryKey(),
  developer: text('developer').notNull(),
  proposalId: text('proposal_id').notNull(),
  claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
});

export const models = pgTable('models', {
  name: text('name').primaryKey(),
  developer: text('developer').notNull(),
  proposalId: text('proposal_id').notNull(),
  productionVersion: integer('production_version'),
  /**
   * `serving` | `retired`. The durable record of a retirement: promotions, rollbacks and hand-overs
   * check it before they reach the entity workflow, and only an admin's restore sets it back.
   */
  status: text('status').notNull().default('serving'),
  /** The production version when the model was retired (what a restore makes production again). */
  retiredVersion: integer('retired_version'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const modelVersions = pgTable(
  'model_versions',
  {
    modelName: text('model_name').notNull(),
    version: integer('version').notNull(),
    proposalId: text('proposal_id').notNull(),
    prefix: text('prefix').notNull(),
    artifactKey: text('artifact_key').notNull(),
    sha256: text('sha256').notNull(),
    datasetVersionId: text('dataset_version_id').notNull(),
    merkleRoot: text('merkle_root').notNull(),
    lineage: jsonb('lineage').notNull(),
    metrics: jsonb('metrics').notNull(),
    /**
     * candidate | production | superseded (an earlier production; served by version, a rollback
     * target) | retired (its model was retired) | abandoned (its lifecycle ended before promotion).
     */
    status: text('status').notNull().default('candidate'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.modelName, t.version] })],
);

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  keyHash: text('key_hash').notNull().unique(),
  owner: text('owner').notNull(),
  revoked: boolean('revoked').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const inferenceCalls = pgTable(
  'inference_calls',
  {
    id: text('id').primaryKey(),
    modelName: text('model_name').notNull(),
    version: integer('version').notNull(),
    apiKeyId: text('api_key_id').notNull(),
    payer: text('payer').notNull(),
    fee: numeric('fee', { precision: 38, scale: 0 }).notNull(),
    attribution: jsonb('attribution').notNull(),
    /**
     * The group commit that paid this call's fee split (transfers carry it in memo.settlement): the
     * row is written in the same transaction, so every recorded call is settled.
     */
    settlementId: text('settlement_id').notNull(),
    /** The records the answer is attributed to (hash, contributor, influence): its receipt names them. */
    records: jsonb('records').notNull().default([]),
    /** The call's own part of each fee transfer (to, amount, part): its receipt's fee split. */
    splits: jsonb('splits').notNull().default([]),
    /** SHA-256 of the request's input (the conversation as JSON): a receipt names it, never the text. */
    inputHash: text('input_hash'),
    /** The caller's end-user id (OpenAI's `user` / `safety_identifier`), kept on the receipt for abuse tracing. */
    endUser: text('end_user'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * The settlement epoch whose Merkle root commits this receipt (docs/receipts.md), set with `leaf`
     * when the epoch closes; a trigger refuses any change to the row after that.
     */
    epoch: integer('epoch'),
    /** SHA-256 of the receipt's canonical JSON, the epoch tree's leaf. */
    leaf: text('leaf'),
  },
  (t) => [
    // A version's latest call (its lifecycle page's sample attribution) without scanning every call.
    index('inference_calls_version_latest').on(t.modelName, t.version, t.createdAt),
    // The calls an epoch closes (epoch null) and the leaves of a closed epoch.
    index('inference_calls_epoch').on(t.modelName, t.epoch),
  ],
);

/** Each closed settlement epoch's Merkle root over its receipts; rows are never changed (a trigger). */
export const receiptEpochs = pgTable(
  'receipt_epochs',
  {
    modelName: text('model_name').notNull(),
    epoch: integer('epoch').notNull(),
    root: text('root').notNull(),
    size: integer('size').notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.modelName, t.epoch] })],
);

/**
 * Each account a closed (or closing) receipt names, attributed or paid a part: how an account's
 * receipts are listed without scanning every call's attribution. Written in the transaction that
 * gives the call its epoch (db/queries/receipts.ts).
 */
export const receiptParties = pgTable(
  'receipt_parties',
  {
    account: text('account').notNull(),
    callId: text('call_id')
      .notNull()
      .references(() => inferenceCalls.id),
  },
  (t) => [primaryKey({ columns: [t.account, t.callId] })],
);

/**
 * Verified contributors (domain/data/datanet-access.ts): attestations signed by a verifier key
 * (identity/attestations.ts), stored once their signature checks; revocations signed by the same key.
 */
export const attestations = pgTable(
  'attestations',
  {
    id: text('id').primaryKey(),
    claim: text('claim').notNull(),
    subject: text('subject').notNull(),
    verifier: text('verifier').notNull(),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    signature: text('signature').notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revocationSignature: text('revocation_signature'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('attestations_subject_idx').on(t.subject, t.claim)],
);

/** A Datanet's entry assessment: gold items published by its owner (answers never served). */
export const assessmentItems = pgTable(
  'assessment_items',
  {
    datanetId: text('datanet_id').notNull(),
    idx: integer('idx').notNull(),
    prompt: text('prompt').notNull(),
    choices: jsonb('choices').$type<string[]>().notNull(),
    answer: text('answer').notNull(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.idx] })],
);

/** Each attempt at a Datanet's assessment (keyed by the request signature, so a retry is one attempt). */
export const assessmentAttempts = pgTable(
  'assessment_attempts',
  {
    datanetId: text('datanet_id').notNull(),
    contributor: text('contributor').notNull(),
    attempt: integer('attempt').notNull(),
    score: doublePrecision('score').notNull(),
    requestSignature: text('request_signature').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.contributor, t.attempt] })],
);

/** Curators a Datanet's owner named after it opened (besides those in its spec). */
export const datanetCurators = pgTable(
  'datanet_curators',
  {
    datanetId: text('datanet_id').notNull(),
    curator: text('curator').notNull(),
    addedBy: text('added_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.curator] })],
);

/**
 * The latest curator decision on a record. `autoStatus` keeps the scoring verdict once the
 * decision has been applied to the record's status, so a later decision can be re-applied.
 */
export const curationDecisions = pgTable(
  'curation_decisions',
  {
    datanetId: text('datanet_id').notNull(),
    hash: text('hash').notNull(),
    decision: text('decision').notNull(),
    reason: text('reason').notNull(),
    curator: text('curator').notNull(),
    autoStatus: text('auto_status'),
    decidedAt: timestamp('decided_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.hash] })],
);

/**
 * Read model of each lifecycle: the workflow's status view as of its last stage transition,
 * written by the `recordStage` activity in the same transaction as the proposal's stage and status.
 * The API answers status reads from here (plus votes, Datanet counts, review answers and
 * activity_progress) without waking the workflow. `version` only grows, so a late retry of an
 * earlier transition never overwrites a later one.
 */
export const lifecycleViews = pgTable('lifecycle_views', {
  proposalId: text('proposal_id').primaryKey(),
  view: jsonb('view').notNull(),
  version: integer('version').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Voting power snapshotted when a proposal's voting opened (taken once: retries return this row). */
export const governanceSnapshots = pgTable('governance_snapshots', {
  proposalId: text('proposal_id').primaryKey(),
  snapshot: jsonb('snapshot').$type<Record<string, string>>().notNull(),
  total: numeric('total', { precision: 38, scale: 0 }).notNull(),
  takenAt: timestamp('taken_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Last heartbeat of each long activity (training, candidate generation, DPO), written by the worker
 * beside the heartbeat it sends Temporal and removed when the activity completes.
 */
export const activityProgress = pgTable(
  'activity_progress',
  {
    workflowId: text('workflow_id').notNull(),
    activityId: text('activity_id').notNull(),
    activityType: text('activity_type').notNull(),
    attempt: integer('attempt').notNull(),
    details: jsonb('details'),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.activityId] })],
);

/**
 * The X25519 key pair of an encrypted Datanet (visibility members or private), made when it opens:
 * contributors' clients seal each record's data key to the public key; the private key is stored
 * wrapped by the key-encryption key (infra/kms), which only the data-collection and training workers
 * can unwrap. Rotating the KEK rewraps these rows and re-encrypts no record.
 */
export const datanetKeys = pgTable('datanet_keys', {
  datanetId: text('datanet_id').primaryKey(),
  /** Raw 32-byte X25519 public key, published by GET /v1/datanets/:id. */
  publicKey: bytea('public_key').notNull(),
  wrappedPrivateKey: bytea('wrapped_private_key').notNull(),
  /** Which KEK wrapped it (a local key file's id or a KMS key ARN) and which version of it. */
  kekId: text('kek_id').notNull(),
  kekVersion: text('kek_version').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  rewrappedAt: timestamp('rewrapped_at', { withTimezone: true }),
});

/**
 * Each encrypted record's data key, sealed to its Datanet's public key. Erasure deletes the row
 * (crypto-shredding): the record's ciphertext in packs, parts and manifests then opens for nobody.
 */
export const recordKeys = pgTable(
  'record_keys',
  {
    datanetId: text('datanet_id').notNull(),
    hash: text('hash').notNull(),
    sealedKey: bytea('sealed_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.hash] })],
);

/** Records erased on request: who asked and when (the key itself is gone from record_keys). */
export const recordErasures = pgTable(
  'record_erasures',
  {
    datanetId: text('datanet_id').notNull(),
    hash: text('hash').notNull(),
    contributor: text('contributor').notNull(),
    erasedBy: text('erased_by').notNull(),
    erasedAt: timestamp('erased_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.datanetId, t.hash] }), index('record_erasures_contributor_idx').on(t.contributor)],
);

/**
 * Every decryption of an encrypted record, appended where the plaintext is produced (a worker
 * activity, or the curator/member view that runs in one): who, which record (and its contributor,
 * so a contributor's "who read my records" is one index range), why, when. No API route writes or
 * deletes rows.
 */
export const recordAccessLog = pgTable(
  'record_access_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    datanetId: text('datanet_id').notNull(),
    recordHash: text('record_hash').notNull(),
    contributor: text('contributor').notNull(),
    /** A worker identity (worker:<queue>) or the reader's address. */
    actor: text('actor').notNull(),
    /** contracts/access-log.ts ACCESS_PURPOSES. */
    purpose: text('purpose').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('record_access_log_contributor_idx').on(t.contributor, t.id),
    index('record_access_log_datanet_idx').on(t.datanetId, t.id),
    index('record_access_log_record_idx').on(t.datanetId, t.recordHash),
  ],
);
