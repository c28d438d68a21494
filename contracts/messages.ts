import { defineQuery, defineUpdate, defineSignal } from '@temporalio/workflow';
import type { Outcome, TallyResult } from '../domain/governance/tally.js';
import type { LifecycleStatusView, ReviewAnswerInput, VoteInput } from '../domain/lifecycle/types.js';
import type { ModelEntityView, VersionChange } from '../domain/serving/model-entity.js';

/** Votes are Updates: the API waits for the workflow's verdict (accepted, or rejected with a reason). */
export const voteUpdate = defineUpdate<{ accepted: true; tally: TallyResult }, [VoteInput]>('vote');
/** The proposer withdraws before governance closes; the stake is refunded. */
export const withdrawUpdate = defineUpdate<{ withdrawn: true }, [{ requester: string }]>('withdraw');
export const statusQuery = defineQuery<LifecycleStatusView>('status');
export const tallyQuery = defineQuery<{ tally?: TallyResult; outcome?: Outcome; open: boolean }>('tally');

/** Review answers go to the round workflow, which validates them against its open tasks. */
export const reviewAnswerUpdate = defineUpdate<{ accepted: true; answers: number }, [ReviewAnswerInput]>(
  'reviewAnswer',
);
export const roundStatusQuery = defineQuery<{
  round: number;
  open: boolean;
  tasks: { id: string; answers: number; required: number }[];
}>('roundStatus');

/** Ops may close a Datanet window early (the API also exposes it to the proposer). */
export const closeWindowSignal = defineSignal('closeWindow');

export const collectionProgressQuery = defineQuery<{
  phase: 'window' | 'scoring' | 'dedupe' | 'done';
  /** First seq of the Datanet; in scoring and dedupe, records with seq <= cursor are done (of maxSeq). */
  firstSeq: number;
  cursor: number;
  maxSeq: number;
  windowClosesAt?: number;
  received: number;
  scored: number;
  accepted: number;
  targetCount: number;
}>('collectionProgress');

/** A lifecycle hands its promoted version to the model's entity workflow (update-with-start). */
export const promoteVersionUpdate = defineUpdate<VersionChange, [{ version: number; proposalId: string }]>(
  'promoteVersion',
);
/** The API's rollback route: make an earlier version production again. */
export const rollbackUpdate = defineUpdate<VersionChange, [{ version: number; requester: string }]>('rollback');
/** Retire the model: nothing is served any more and the entity workflow completes. */
export const retireUpdate = defineUpdate<{ retired: true }, [{ requester: string; reason: string }]>('retire');
export const modelStatusQuery = defineQuery<ModelEntityView>('modelStatus');
