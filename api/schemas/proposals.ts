import { Type, type Static } from '@sinclair/typebox';
import { DatanetSpecSchema } from '../../domain/data/datanet-spec.js';
import { STAGES, TASK_TYPES, type LifecycleStatusView } from '../../domain/lifecycle/types.js';
import type { LiveProgress } from '../progress.js';
import { Nullable, Timestamp, Units } from './common.js';
import { ProposalParams } from './proposal-params.js';
import { nextCursorField, pageQuery } from '../pagination.js';

const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{2,62}$' });

export const ProposalBody = Type.Object({
  id: Type.Optional(
    Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{2,62}$',
      description: 'client-chosen id (idempotent retries); generated if absent',
    }),
  ),
  modelName: Slug,
  title: Type.String({ minLength: 3, maxLength: 200 }),
  description: Type.String({
    minLength: 10,
    maxLength: 10_000,
    description: 'what the model should do and how it works',
  }),
  rationale: Type.String({ maxLength: 10_000, description: 'why it matters' }),
  domain: Type.String({ minLength: 2, maxLength: 100 }),
  task: Type.Optional(
    Type.Union([Type.Literal(TASK_TYPES[0]), Type.Literal(TASK_TYPES[1])], {
      description: 'classification (text → one of the labels; the default) or generation (prompt or chat → response)',
    }),
  ),
  labels: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    minItems: 0,
    maxItems: 100,
    uniqueItems: true,
    description: 'the label set (at least two for classification; unused by generation)',
  }),
  datanetSpec: DatanetSpecSchema,
  params: Type.Optional(ProposalParams),
  budget: Type.Optional(
    Type.String({
      pattern: '^(0|[1-9][0-9]{0,29})$',
      description:
        'OPEN the treasury reserves for this proposal if it passes (review rewards and the reward pool are paid from it; default 0; at most treasury.maxProposalBudget)',
    }),
  ),
});
export type ProposalBody = Static<typeof ProposalBody>;

export const ProposeResponse = Type.Object({
  proposalId: Type.String(),
  workflowId: Type.String(),
  stage: Type.Literal('proposed'),
  stake: Units,
  budget: Units,
});
export type ProposeResponse = Static<typeof ProposeResponse>;

export const ListProposalsQuery = pageQuery({
  stage: Type.Optional(Type.Union(STAGES.map((s) => Type.Literal(s)))),
  status: Type.Optional(Type.String({ maxLength: 50 })),
});

export const ProposalSummary = Type.Object({
  id: Type.String(),
  proposer: Type.String(),
  modelName: Type.String(),
  title: Type.String(),
  domain: Type.String(),
  stage: Type.String(),
  status: Type.String(),
  reason: Nullable(Type.String()),
  stake: Units,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const ListProposalsResponse = Type.Object({ proposals: Type.Array(ProposalSummary), ...nextCursorField });
export type ListProposalsResponse = Static<typeof ListProposalsResponse>;

/** The workflow's own view (statusQuery): governance, collection, training, RLHF rounds, deployment, history. */
const LifecycleView = Type.Unsafe<LifecycleStatusView>(
  Type.Object({}, { additionalProperties: true, description: "the lifecycle workflow's status query" }),
);
/** What is moving in the current stage: pending activities with heartbeats, Datanet counts, the open round. */
const Progress = Type.Unsafe<LiveProgress>(
  Type.Object({}, { additionalProperties: true, description: 'live progress of the current stage' }),
);

export const ProposalResponse = Type.Object({
  proposalId: Type.String(),
  modelName: Type.String(),
  title: Type.String(),
  proposer: Type.String(),
  description: Type.String(),
  rationale: Type.String(),
  domain: Type.String(),
  labels: Type.Array(Type.String()),
  stake: Units,
  budget: Type.Optional(
    Type.Object(
      {
        asked: Units,
        reserved: Nullable(Units),
        paid: Units,
        left: Units,
        returned: Units,
      },
      {
        description:
          'the treasury budget: asked, reserved when the vote passed (null before), paid out, left, returned',
      },
    ),
  ),
  params: Type.Record(Type.String(), Type.Unknown(), {
    description: 'the effective lifecycle parameters (protocol values filled in) governors approve by passing',
  }),
  stage: Type.String(),
  status: Type.String(),
  reason: Nullable(Type.String()),
  lifecycle: Type.Optional(LifecycleView),
  progress: Type.Optional(Progress),
  source: Type.Optional(
    Type.Union([Type.Literal('projection'), Type.Literal('workflow')], {
      description: 'projection: the Postgres read model (default); workflow: the live query (?live=1)',
    }),
  ),
  projectedAt: Type.Optional(Timestamp),
  liveError: Type.Optional(
    Type.String({ description: 'why a ?live=1 read was answered from the read model (the workflow did not answer)' }),
  ),
});
export type ProposalResponse = Static<typeof ProposalResponse>;

/** `?live=1` asks the workflow itself (a query that wakes it); otherwise the Postgres read model answers. */
export const StatusReadQuery = Type.Object({
  live: Type.Optional(
    Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')], {
      description: '1 or true: query the workflow for live detail (wakes it on a worker)',
    }),
  ),
});

/** True when a status read asks for the workflow's live answer. */
export const wantsLive = (q: { live?: string }) => q.live === '1' || q.live === 'true';

export const TallyCounts = Type.Object({
  yes: Units,
  no: Units,
  abstain: Units,
  veto: Units,
  total: Units,
  cast: Type.Optional(Units),
  remaining: Type.Optional(Units),
  turnout: Type.Optional(Type.Number()),
});
export const TallyResponse = Type.Object({
  open: Type.Boolean(),
  tally: Type.Optional(TallyCounts),
  outcome: Nullable(Type.String()),
  closedEarly: Nullable(Type.Boolean()),
  votes: Type.Array(Type.Object({ voter: Type.String(), option: Type.String(), power: Units, at: Timestamp })),
  liveError: Type.Optional(
    Type.String({ description: 'why a ?live=1 read was answered from the read model (the workflow did not answer)' }),
  ),
});
export type TallyResponse = Static<typeof TallyResponse>;

export const VoteBody = Type.Object({
  option: Type.Union([Type.Literal('yes'), Type.Literal('no'), Type.Literal('abstain'), Type.Literal('veto')]),
});
export const VoteResponse = Type.Object({ accepted: Type.Literal(true), tally: TallyCounts });
export type VoteResponse = Static<typeof VoteResponse>;

export const WithdrawResponse = Type.Object({ withdrawn: Type.Literal(true) });
export type WithdrawResponse = Static<typeof WithdrawResponse>;
