import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp, Units } from './common.js';

const HeldOut = Type.Object({
  accuracy: Type.Number(),
  macroF1: Type.Number(),
  loss: Type.Number(),
});

export const TimelineResponse = Type.Object({
  proposalId: Type.String(),
  modelName: Type.String(),
  title: Type.String(),
  stage: Type.String(),
  status: Type.String(),
  reason: Nullable(Type.String()),
  stages: Type.Array(
    Type.Object({
      stage: Type.String(),
      enteredAt: Timestamp,
      /** Absent while the lifecycle is still in the stage. */
      endedAt: Nullable(Timestamp),
      durationMs: Type.Integer({ minimum: 0, description: 'to the next stage, the end, or now while in it' }),
      current: Type.Boolean({ description: 'the lifecycle is in this stage now (serving counts)' }),
    }),
    { description: "the stages entered, in order, with the workflow's entry times" },
  ),
  training: Type.Object({
    epochs: Type.Array(
      Type.Object({ runId: Type.String(), epoch: Type.Integer(), step: Type.Integer(), loss: Type.Number() }),
      { description: "each fine-tune epoch's mean training loss" },
    ),
    heldOut: Type.Array(Type.Object({ label: Type.String(), ...HeldOut.properties }), {
      description: 'held-out metrics after the fine-tune and after each RLHF round',
    }),
  }),
  rounds: Type.Array(
    Type.Object({
      round: Type.Integer(),
      status: Type.String(),
      alpha: Nullable(Type.Number({ description: "Krippendorff's alpha of the round's answers" })),
      answers: Nullable(Type.Integer()),
      consensus: Nullable(Type.Integer()),
      slashes: Type.Array(Type.Object({ reviewer: Type.String(), penalty: Units })),
      applied: Nullable(Type.Boolean({ description: 'false when the update was discarded (held-out drop)' })),
    }),
  ),
  budget: Type.Object({ asked: Units, reserved: Nullable(Units), paid: Units, left: Units, returned: Units }),
  gate: Type.Object({
    metrics: Nullable(HeldOut),
    floors: Type.Object({ minAccuracy: Type.Number(), minMacroF1: Type.Number(), maxRegression: Type.Number() }),
    passed: Nullable(Type.Boolean()),
    reason: Nullable(Type.String()),
  }),
  sampleCall: Nullable(
    Type.Object({
      id: Type.String(),
      version: Type.Integer(),
      fee: Units,
      at: Timestamp,
      contributors: Type.Array(Type.Object({ contributor: Type.String(), weight: Type.Number() })),
    }),
  ),
  workflow: Type.Object({
    id: Type.String(),
    uiUrl: Nullable(Type.String({ description: 'the workflow in the Temporal UI (COMMONS_TEMPORAL_UI_URL)' })),
  }),
});
export type TimelineResponse = Static<typeof TimelineResponse>;
