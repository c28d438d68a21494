import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

export const MAX_BATCH = 1000;

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the canonical JSON payload' });

/**
 * A record sealed to an encrypted Datanet's public key (domain/data/envelope/record-envelope.ts):
 * what a contributor sends instead of the payload when the Datanet's visibility is members or private.
 */
export const RecordEnvelope = Type.Object(
  {
    hash: Hash,
    sealedKey: Type.String({
      maxLength: 256,
      description: "base64: the record's AES-256 data key sealed to the Datanet's X25519 public key",
    }),
    ciphertext: Type.String({
      maxLength: 1_500_000,
      description: "base64: the record's canonical JSON bytes under its data key (AES-256-GCM)",
    }),
  },
  { additionalProperties: false },
);
const ContributionRecord = Type.Object({
  payload: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'the record: public Datanets' })),
  envelope: Type.Optional(
    Type.Object(RecordEnvelope.properties, {
      additionalProperties: false,
      description: "the record sealed to the Datanet's public key: members and private Datanets",
    }),
  ),
});
/** `payload` for a public Datanet, `envelope` for an encrypted one (members or private): exactly one. */
export const ContributionBody = ContributionRecord;
export const ContributionBatchBody = Type.Object({
  records: Type.Array(ContributionRecord, { minItems: 1, maxItems: MAX_BATCH }),
});
export const HashParams = Type.Object({ hash: Hash });

export const ContributionResponse = Type.Object({
  hash: Type.String(),
  status: Type.Union([Type.Literal('stored'), Type.Literal('already-stored')]),
});
export type ContributionResponse = Static<typeof ContributionResponse>;

export const BatchResult = Type.Object({
  index: Type.Integer(),
  status: Type.Union([
    Type.Literal('stored'),
    Type.Literal('already-stored'),
    Type.Literal('duplicate'),
    Type.Literal('invalid'),
    Type.Literal('too-large'),
  ]),
  hash: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.String())),
});
export type BatchResult = Static<typeof BatchResult>;
export const ContributionBatchResponse = Type.Object({
  stored: Type.Integer({ description: 'how many records were stored by this request' }),
  results: Type.Array(BatchResult),
});
export type ContributionBatchResponse = Static<typeof ContributionBatchResponse>;

export const ClosingResponse = Type.Object({ closing: Type.Literal(true) });
export type ClosingResponse = Static<typeof ClosingResponse>;

export const DatanetResponse = Type.Object({
  id: Type.String(),
  proposalId: Type.String(),
  status: Type.String(),
  spec: Type.Unknown({ description: 'the Datanet spec of the proposal' }),
  targetCount: Type.Integer(),
  closesAt: Nullable(Timestamp),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'contributions by scoring status' }),
  /** Null for a public Datanet (payloads go in the clear). */
  encryption: Nullable(
    Type.Object(
      {
        scheme: Type.String({ description: 'the envelope scheme (docs/private-datanets.md "Keys and encryption")' }),
        publicKey: Type.String({ description: "base64: the Datanet's raw X25519 public key; seal records to it" }),
      },
      { description: 'members and private Datanets: seal records to this key; null: send payloads' },
    ),
  ),
  datasetVersion: Nullable(
    Type.Object({ id: Type.String(), merkleRoot: Type.String(), manifestKey: Type.String(), records: Type.Integer() }),
  ),
});
export type DatanetResponse = Static<typeof DatanetResponse>;

export const ContributionView = Type.Object({
  datanetId: Type.String(),
  hash: Type.String(),
  contributor: Type.String(),
  size: Type.Integer(),
  status: Type.String(),
  quality: Nullable(Type.Number()),
  relevance: Nullable(Type.Number()),
  reasons: Nullable(Type.Array(Type.String())),
  duplicateOf: Nullable(Type.String()),
  createdAt: Timestamp,
});
export const ContributionsResponse = Type.Object({ contributions: Type.Array(ContributionView) });
export type ContributionsResponse = Static<typeof ContributionsResponse>;

export const ContributionPayloadResponse = Type.Object({
  hash: Type.String(),
  datanetId: Type.String({ description: 'the Datanet whose stored copy was read' }),
  payload: Type.Unknown({ description: 'the record as stored: its canonical JSON hashes to `hash`' }),
});
export type ContributionPayloadResponse = Static<typeof ContributionPayloadResponse>;

export const MerkleProof = Type.Object({
  leaf: Type.String(),
  index: Type.Integer(),
  siblings: Type.Array(
    Type.Object({ hash: Type.String(), position: Type.Union([Type.Literal('left'), Type.Literal('right')]) }),
  ),
  root: Type.String(),
});
export const ProofResponse = Type.Object({
  datasetVersionId: Type.String(),
  root: Type.String(),
  proof: MerkleProof,
});
export type ProofResponse = Static<typeof ProofResponse>;
