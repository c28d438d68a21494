import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';
import { CLAIM_PATTERN } from '../../domain/data/datanet-access.js';

const HexKey = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex Ed25519 public key' });
const Address = Type.String({ pattern: '^cm[0-9a-f]{40}$' });
const Sig = Type.String({ minLength: 88, maxLength: 88, description: 'base64 Ed25519 signature' });
const Ms = Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'ms since the epoch' });
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const AttestationBody = Type.Object(
  {
    claim: Type.String({ pattern: CLAIM_PATTERN }),
    subject: Address,
    verifier: HexKey,
    issuedAt: Ms,
    expiresAt: Ms,
    signature: Sig,
  },
  { additionalProperties: false },
);
export const AttestationResponse = Type.Object({
  id: Type.String({ description: 'SHA-256 of the signed attestation message' }),
  stored: Type.Boolean({ description: 'false when it was already on record' }),
});
export type AttestationResponse = Static<typeof AttestationResponse>;

export const RevocationBody = Type.Object({ revokedAt: Ms, signature: Sig }, { additionalProperties: false });
export const RevocationResponse = Type.Object({ id: Type.String(), revokedAt: Timestamp, revoked: Type.Boolean() });
export type RevocationResponse = Static<typeof RevocationResponse>;

export const MissingRequirement = Type.Object({
  kind: Type.Union([Type.Literal('credential'), Type.Literal('assessment')]),
  requirement: Type.String(),
  reason: Type.String(),
});
export const EligibilityResponse = Type.Object({
  eligible: Type.Boolean(),
  missing: Type.Array(MissingRequirement),
  deposit: Units,
});
export type EligibilityResponse = Static<typeof EligibilityResponse>;
export const AddressParams = Type.Object({ id: Type.String(), address: Address });

const AssessmentItem = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 10_000 }),
    choices: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 2, maxItems: 20 }),
    answer: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export const AssessmentBody = Type.Object(
  { items: Type.Array(AssessmentItem, { minItems: 1, maxItems: 200 }) },
  { additionalProperties: false },
);
export const AssessmentResponse = Type.Object({
  minScore: Type.Number(),
  maxAttempts: Type.Integer(),
  failedAttemptFee: Units,
  items: Type.Array(Type.Object({ prompt: Type.String(), choices: Type.Array(Type.String()) })),
});
export type AssessmentResponse = Static<typeof AssessmentResponse>;
export const AttemptBody = Type.Object(
  { answers: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 200 }) },
  { additionalProperties: false },
);
export const AttemptResponse = Type.Object({
  attempt: Type.Integer(),
  /** Pass or fail only: a score would let throwaway accounts learn the answers item by item. */
  passed: Type.Boolean(),
  attemptsLeft: Type.Integer(),
  /** OPEN this attempt cost (failedAttemptFee when it failed, else 0). */
  fee: Units,
});
export type AttemptResponse = Static<typeof AttemptResponse>;

export const CuratorBody = Type.Object({ curator: Address }, { additionalProperties: false });
export const CuratorsResponse = Type.Object({ owner: Type.String(), curators: Type.Array(Type.String()) });
export type CuratorsResponse = Static<typeof CuratorsResponse>;

export const DecisionsBody = Type.Object(
  {
    decisions: Type.Array(
      Type.Object(
        {
          hash: Hash,
          decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
          reason: Type.String({ minLength: 1, maxLength: 2000 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);
export const VersionView = Type.Object({
  id: Type.String(),
  version: Type.Integer(),
  merkleRoot: Type.String(),
  manifestKey: Type.String(),
  records: Type.Integer(),
  cause: Nullable(Type.String()),
  createdAt: Timestamp,
});
export const DecisionsResponse = Type.Object({
  changed: Type.Integer({ description: 'decisions that differ from the one on record' }),
  applied: Type.Boolean({ description: 'false until the collection has built its dataset (applied then)' }),
  version: Nullable(VersionView),
  deposits: Type.Object({ refunded: Type.Integer(), forfeited: Type.Integer() }),
});
export type DecisionsResponse = Static<typeof DecisionsResponse>;
export const VersionsResponse = Type.Object({ versions: Type.Array(VersionView), ...nextCursorField });
export const PageQuery = pageQuery({});
export type VersionsResponse = Static<typeof VersionsResponse>;

export const QueueQuery = pageQuery({});
export const QueueResponse = Type.Object({
  encrypted: Type.Boolean({
    description: 'the Datanet is members or private: payloads are null, read each sealed (curator view, logged)',
  }),
  records: Type.Array(
    Type.Object({
      hash: Type.String(),
      contributor: Type.String(),
      status: Type.String(),
      quality: Nullable(Type.Number()),
      relevance: Nullable(Type.Number()),
      reasons: Nullable(Type.Array(Type.String())),
      payload: Type.Unknown({ description: 'the record; null when encrypted or when its stored bytes do not match' }),
    }),
  ),
  ...nextCursorField,
});
export type QueueResponse = Static<typeof QueueResponse>;

export const LeaderboardResponse = Type.Object({
  leaderboard: Type.Array(
    Type.Object({
      contributor: Type.String(),
      submitted: Type.Integer(),
      accepted: Type.Integer(),
      acceptanceRate: Type.Number(),
    }),
  ),
  ...nextCursorField,
});
export type LeaderboardResponse = Static<typeof LeaderboardResponse>;

export const RecordsResponse = Type.Object({
  contributor: Type.String(),
  earned: Units,
  records: Type.Array(
    Type.Object({
      hash: Type.String(),
      status: Type.String(),
      quality: Nullable(Type.Number()),
      relevance: Nullable(Type.Number()),
      reasons: Nullable(
        Type.Array(Type.String(), {
          description: 'null on a members or private Datanet unless signed by the contributor or a curator',
        }),
      ),
      duplicateOf: Nullable(Type.String()),
      decision: Nullable(Type.String()),
      decisionReason: Nullable(
        Type.String({
          description: 'null on a members or private Datanet unless signed by the contributor or a curator',
        }),
      ),
      deposit: Nullable(Units),
      depositOutcome: Nullable(Type.String()),
      earnings: Units,
      createdAt: Timestamp,
    }),
  ),
  ...nextCursorField,
});
export type RecordsResponse = Static<typeof RecordsResponse>;
