import { Type, type Static } from '@sinclair/typebox';
import { Amount, Nullable, Timestamp, Units } from './common.js';
import { nextCursorField, pageQuery } from '../pagination.js';

export const ReviewsQuery = pageQuery({
  reviewer: Type.Optional(Type.String({ maxLength: 200 })),
  proposalId: Type.Optional(Type.String({ maxLength: 200 })),
});

export const ReviewTask = Type.Object({
  id: Type.String(),
  proposalId: Type.String(),
  round: Type.Integer(),
  prompt: Type.String(),
  candidates: Type.Array(Type.String()),
  requiredAnswers: Type.Integer(),
  answers: Type.Integer(),
  createdAt: Timestamp,
  guidelines: Nullable(
    Type.Object(
      { title: Type.String(), domain: Type.String(), description: Type.String(), labels: Type.Array(Type.String()) },
      { description: "what to judge against: the proposal's title, domain, description and labels" },
    ),
  ),
});
export type ReviewTask = Static<typeof ReviewTask>;
export const ReviewsResponse = Type.Object({ tasks: Type.Array(ReviewTask), ...nextCursorField });
export type ReviewsResponse = Static<typeof ReviewsResponse>;

export const ReviewAnswerBody = Type.Object({ choice: Type.String({ minLength: 1 }) });
export const ReviewAnswerResponse = Type.Object({
  accepted: Type.Literal(true),
  answers: Type.Integer({ description: 'answers the task has now' }),
});
export type ReviewAnswerResponse = Static<typeof ReviewAnswerResponse>;

export const ReviewBondBody = Type.Object({ amount: Amount });
export const ReviewBondResponse = Type.Object({
  bond: Units,
  minBond: Units,
});
export type ReviewBondResponse = Static<typeof ReviewBondResponse>;

export const AddressParams = Type.Object({ address: Type.String() });

export const ReviewerRound = Type.Object({
  proposalId: Type.String(),
  round: Type.Integer(),
  stake: Units,
  assigned: Type.Integer(),
  answered: Type.Integer(),
  agreed: Type.Integer({ description: 'answers equal to the consensus (0 in a round started paused)' }),
  disagreed: Type.Integer({
    description:
      'answers against the consensus plus assigned items left unanswered (in a round started paused, only the items left unanswered: its answers count only on gold items, toward its accuracy)',
  }),
  goldCorrect: Type.Integer(),
  goldAnswered: Type.Integer(),
  goldAccuracy: Type.Number({ description: 'running gold accuracy after this round (Beta prior)' }),
  paused: Type.Boolean(),
  alpha: Nullable(Type.Number({ description: "this reviewer's Krippendorff's alpha in the round" })),
  reward: Units,
  penalty: Units,
  settledAt: Timestamp,
});
export const ReviewerResponse = Type.Object({
  address: Type.String(),
  bond: Units,
  minBond: Units,
  bonded: Type.Boolean({ description: 'bond at least the protocol minimum (may be assigned and answer)' }),
  goldCorrect: Type.Integer(),
  goldAnswered: Type.Integer(),
  goldAccuracy: Type.Number({ description: 'running gold accuracy with the Beta prior' }),
  goldThreshold: Type.Number(),
  paused: Type.Boolean({
    description:
      'gold accuracy below the threshold: still assigned an ordinary mix of tasks, but only gold answers count (weight 0, no reward, no penalty) until the accuracy is back at the threshold',
  }),
  rounds: Type.Array(ReviewerRound, { description: 'settled rounds, newest first, a page at a time' }),
  ...nextCursorField,
});
export const ReviewerQuery = pageQuery({});
export type ReviewerResponse = Static<typeof ReviewerResponse>;

export const ReviewRoundsQuery = pageQuery({ proposalId: Type.String({ minLength: 1, maxLength: 200 }) });
export const ReviewRoundsResponse = Type.Object({
  rounds: Type.Array(
    Type.Object({
      round: Type.Integer(),
      status: Type.String(),
      summary: Nullable(
        Type.Record(Type.String(), Type.Unknown(), {
          description:
            "settlement summary: answers, consensus, alpha (Krippendorff's), gold, extended, paused, reviewers",
        }),
      ),
    }),
  ),
  ...nextCursorField,
});
export type ReviewRoundsResponse = Static<typeof ReviewRoundsResponse>;

export const ReviewEnlistBody = Type.Object({ proposalId: Type.String({ minLength: 1 }) });
export const ReviewEnlistResponse = Type.Object({
  proposalId: Type.String(),
  enlisted: Type.Literal(true),
  bond: Units,
});
export type ReviewEnlistResponse = Static<typeof ReviewEnlistResponse>;

export const RoundSeedQuery = Type.Object({
  proposalId: Type.String({ minLength: 1 }),
  round: Type.Integer({ minimum: 1, maximum: 1000 }),
});
export const RoundSeedResponse = Type.Object({
  proposalId: Type.String(),
  round: Type.Integer(),
  commitment: Type.String({ description: 'SHA-256 of the secret, published when the round opened' }),
  committedAt: Type.String({ format: 'date-time' }),
  pool: Nullable(
    Type.Array(Type.Object({ reviewer: Type.String(), stake: Units }), {
      description: 'the pool recorded when enlistment closed (its bonds are locked until the round settles)',
    }),
  ),
  revealedAt: Nullable(Type.String({ format: 'date-time' })),
  secret: Nullable(Type.String({ description: 'revealed at settlement' })),
  seed: Nullable(Type.String({ description: "the draws' seed, revealed at settlement" })),
  verified: Nullable(
    Type.Boolean({ description: 'the secret opens the commitment and yields the seed from the pool' }),
  ),
});
export type RoundSeedResponse = Static<typeof RoundSeedResponse>;
